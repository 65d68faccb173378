"""An input kind for narrowing a set by several facets at once (who receives an announcement:
sectors, regencies, languages ...): a menu with a button per facet, each a checklist or a
name search, and what the filters pick, counted again after every change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Event, Reply, Text
from handlers.kit.forms.answers import R
from handlers.kit.forms.engine import Field, Form, Got, Input, Outcome, Refuse, Stay
from handlers.kit.payload import ValueData
from handlers.kit.render import Option, choice_reply, normalize, pick

Filters = dict[str, list[str]]  # facet name -> the codes chosen in it (none: any)
MENU, DONE, ALL, REMOVE = "menu", "done", "all", "x"  # facet names must differ from these


@dataclass(frozen=True)
class Tick(ValueData, tag=""):
    """Tick or untick one choice of an open checklist."""

    facet: str
    code: str


@dataclass(frozen=True)
class Untick(ValueData, tag=f"{REMOVE}:"):
    """Take a searched choice (a regency) off the filters."""

    facet: str
    code: str


@dataclass(frozen=True)
class Facet:
    """One way to narrow: a checklist of `choices`, or names `search`ed and added one at a
    time (`get` names a stored code on its ✖ button). N_-marked: `label` (its menu button);
    for a search, `ask`, `not_found` ({query}), `several` ({name}: the best of several
    matches was taken) and `added` ({name}, {n}: how many the filters now pick)."""

    name: str
    label: str
    choices: Callable[[Context], list[Option]] | None = None
    search: Callable[[str], list[Option]] | None = None
    get: Callable[[str], Option | None] = lambda code: None
    ask: str = ""
    not_found: str = ""
    several: str = ""
    added: str = ""


@dataclass
class FilterInput(Input[R]):
    """The facets' menu: under the field's question, `describe` of the filters and `counted`
    ({n}) from `count`; a checklist ticks in place, a search adds what is typed, `everyone`
    clears them all, `done` accepts them. The value is the Filters ({}: everyone)."""

    facets: Sequence[Facet] = ()
    count: Callable[[Context, Filters], Awaitable[int]] | None = None
    describe: Callable[[Context, Filters], str] = lambda ctx, filters: ""
    counted: str = ""  # N_-marked, {n}
    start: Callable[[Context, R], Filters] = field(default=lambda ctx, record: {})
    everyone: str = ""  # N_-marked
    done: str = ""  # N_-marked
    back: str = N_("Done")  # from a facet to the menu
    refusal: str = N_("Please use the buttons below.")

    def _facet(self, name: object) -> Facet | None:
        return next((f for f in self.facets if f.name == name), None)

    def _state(self, ctx: Context, field: Field[Any], record: R) -> tuple[Filters, Facet | None]:
        """The filters chosen so far (kept in the conversation until Done) and the open facet."""
        stored = ctx.data.get(f"filters:{field.name}")
        filters = stored if isinstance(stored, dict) else self.start(ctx, record)
        open_ = self._facet(ctx.data.get(f"facet:{field.name}"))
        return {k: list(v) for k, v in filters.items() if v}, open_

    def _keep(
        self, ctx: Context, field: Field[Any], filters: Filters | None, open_: str | None
    ) -> None:
        ctx.update_data(**{f"filters:{field.name}": filters, f"facet:{field.name}": open_})

    def options(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Option]:
        return self._options(ctx, *self._state(ctx, field, record))

    def _options(self, ctx: Context, filters: Filters, facet: Facet | None) -> list[Option]:
        t = ctx.t
        if facet is not None:
            chosen = filters.get(facet.name, [])
            ticks = [
                Option(
                    Tick(facet.name, o.value).pack(),
                    ("✅ " if o.value in chosen else "▫️ ") + o.label,
                    (o.label, *o.words),
                )
                for o in (facet.choices(ctx) if facet.choices else [])
            ]
            return [*ticks, Option(MENU, t(self.back))]
        items = [Option(f.name, t(f.label)) for f in self.facets]
        items.append(Option(ALL, t(self.everyone)))
        for f in self.facets:
            for code in filters.get(f.name, []) if f.search else []:
                shown = f.get(code)
                label = "✖ " + (shown.label if shown else code)
                items.append(Option(Untick(f.name, code).pack(), label))
        return [*items, Option(DONE, t(self.done))]

    async def _counted(self, ctx: Context, filters: Filters) -> int:
        return await self.count(ctx, filters) if self.count else 0

    async def _draw(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, *, edit: bool = False
    ) -> Reply:
        filters, facet = self._state(ctx, field, record)
        if facet is not None and facet.search is not None:
            text = ctx.t(facet.ask)
        else:
            n = await self._counted(ctx, filters)
            described = self.describe(ctx, filters)
            text = f"{field.question(ctx, record)}\n\n{described}\n{ctx.t(self.counted, n=n)}"
        return choice_reply(
            ctx.capabilities,
            ctx.t,
            text,
            self._options(ctx, filters, facet),
            flow=form.flow,
            step=field.name,
            columns=1 if facet is not None else 2,
            edit=edit,
        )

    async def ask(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Reply]:
        return [await self._draw(ctx, form, field, record)]

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Event
    ) -> Outcome:
        filters, facet = self._state(ctx, field, record)
        pressed = event.payload if isinstance(event, ButtonPress) else None
        if isinstance(event, Text):
            if facet is not None and facet.search is not None:
                return await self._add(ctx, form, field, filters, facet, event.text)
            options = self._options(ctx, filters, facet)
            pressed = pick(event.text, options)
            if pressed is None and form.offer(ctx, field.name, event, options):
                return Stay()
        if pressed is None:
            return Refuse(ctx.t(self.refusal))
        if pressed == DONE:
            self._keep(ctx, field, None, None)
            return Got(filters)
        edit = False  # a checklist opened or ticked replaces the message pressed
        opened = self._facet(pressed)
        if pressed == ALL:
            filters, open_ = {}, None
        elif pressed == MENU:
            open_ = None
        elif opened is not None:
            open_, edit = opened.name, opened.choices is not None
        elif (untick := Untick.read(pressed)) is not None:
            name, code = untick.facet, untick.code
            filters[name] = [c for c in filters.get(name, []) if c != code]
            open_ = None
        elif (tick := Tick.read(pressed)) is None:
            return Refuse(ctx.t("That button is no longer valid."))
        else:
            name, code = tick.facet, tick.code
            ticked = self._facet(name)
            if ticked is None or ticked.choices is None:
                return Refuse(ctx.t("That button is no longer valid."))
            if code not in {o.value for o in ticked.choices(ctx)}:
                return Refuse(ctx.t("That button is no longer valid."))
            chosen = filters.get(name, [])
            filters[name] = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
            open_, edit = name, True
        self._keep(ctx, field, filters, open_)
        edit = edit and isinstance(event, ButtonPress)
        ctx.replies.append(await self._draw(ctx, form, field, record, edit=edit))
        return Stay()

    async def _add(
        self,
        ctx: Context,
        form: Form[Any],
        field: Field[Any],
        filters: Filters,
        facet: Facet,
        text: str,
    ) -> Outcome:
        """A name typed into a search facet: the match added (the best one, said so when
        several fit), and how many the filters pick now."""
        assert facet.search is not None
        matches = facet.search(text[:200])
        if not matches:
            return Refuse(ctx.t(facet.not_found, query=text.strip()[:50]))
        exact = [o for o in matches if normalize(o.label) == normalize(text)]
        chosen = exact[0] if exact else matches[0]
        if len(matches) > 1 and not exact:
            ctx.reply(ctx.t(facet.several, name=chosen.label))
        codes = filters.get(facet.name, [])
        filters[facet.name] = codes if chosen.value in codes else [*codes, chosen.value]
        self._keep(ctx, field, filters, facet.name)
        n = await self._counted(ctx, filters)
        ctx.replies.append(
            choice_reply(
                ctx.capabilities,
                ctx.t,
                ctx.t(facet.added, name=chosen.label, n=n),
                [Option(MENU, ctx.t(self.back))],
                flow=form.flow,
                step=field.name,
            )
        )
        return Stay()
