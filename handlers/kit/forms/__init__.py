"""The form engine: a guided flow is data (fields, and steps of its own) plus the few hooks
that are truly its own.

The engine asks each field's question, reads the answer with the field's input kind,
refuses with the reason and asks again, skips, goes back ("kembali"/"back"), returns to the
summary after an edit, resumes after a restart (the state is the Conversation row) and is
left with /batal. Questions are drawn within the channel's `Capabilities`.

Add a field to a flow: one `Field(name, label, question, input)` in its `fields`. A product
field is declared with its cards' lines in `handlers/features/fields.py`, whose steps the
product form asks::

    _spec(F.brand, N_("Brand"), N_("What is the brand name?"), TextInput(max_len=60),
          card=lambda t, p, _photos: p.brand, curator=lambda t, p: t("Brand: {b}", b=p.brand))

plus `brand` in db/products.py's ProductField and STORED and a column for it (the form
writes it).

Add a flow: its record kept in the conversation until its own action (`data_key`)::

    class GiftForm(Form[dict[str, Any]]):
        flow = "gift"
        data_key = "gift"
        fields = (
            Field("to", N_("To"), N_("Who is it for?"), TextInput(max_len=60)),
            Field("on", N_("Day"), N_("Which day?"), DateInput(not_past=N_("That has passed."))),
        )
        def summary_actions(self, ctx, record):
            return choices(("send", N_("🎁 Send")))(ctx, record)
        async def on_action(self, ctx, record, action): ...  # store it, end the flow

    GIFT = GiftForm()
    FEATURE = Feature(commands={"hadiah": GIFT.start}, forms=(GIFT,))

and add FEATURE to the tuple in handlers/routes.py. A flow whose answers live in rows
instead implements `record`, `answered` and `save` and names its record: `Form[Draft]`,
`Field[Draft]` (product), `Form[Profile]` (registration); a field's `applies`, `show`,
`check` and question functions then take that record, checked. A step that is
no field (a confirmation, "which photo should go", a typed value) is a `Step` in
`self.steps`; `self.go(ctx, step)` moves to any step and asks it; `self.open(ctx, step,
**data)` opens the flow afresh there (a command or a button from outside the flow).

Modules: `engine` (Form), `answers` (Field, Input, Got/Refuse/Stay, Skip, Step, `choices` for fixed
options), `inputs` (TextInput, ChoiceInput, ChecklistInput, QuantityInput, ContactInput,
SearchInput, DateTimeInput, CustomInput), `dates` (DateInput), `photos` (PhotosInput: checked
as they arrive, albums answered once), `messages` (MessageInput: text, a photo or a document
to pass on), `filters` (FilterInput: facets narrowing a set, counted). What a channel can
show is handlers/kit/capabilities.py; handlers/kit/render.py draws choices as buttons, a list or
numbered lines, and `render.fit` makes every reply fit its channel.
"""
