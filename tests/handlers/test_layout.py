"""The shape of the code: three wings in handlers/, and no import cycle anywhere.

import-linter (pyproject.toml) checks the layering routes > features > kit > rules and that
features do not import each other; these tests check what it cannot: that importing the kit
really loads no feature, and that no module imports itself round a circle (TYPE_CHECKING
imports included, so a type-only back-reference counts too).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import grimp

import handlers.kit

ROOT = Path(__file__).resolve().parents[2]


def _kit_modules() -> list[str]:
    found = ["handlers.kit"]
    for info in pkgutil.walk_packages(handlers.kit.__path__, "handlers.kit."):
        found.append(info.name)
    return found


def test_the_wings_are_visible_at_a_glance() -> None:
    top = {p.name for p in (ROOT / "handlers").iterdir() if not p.name.startswith("__")}
    assert {"kit", "rules", "features", "routes.py"} <= top
    loose = sorted(n for n in top if n.endswith(".py") and n not in {"routes.py", "i18n.py"})
    assert not loose, f"modules lying outside the wings: {loose}"
    features = ROOT / "handlers" / "features"
    assert (features / "fairs" / "__init__.py").exists()
    assert (features / "reminders" / "__init__.py").exists()


def test_importing_the_kit_loads_no_feature() -> None:
    modules = _kit_modules()
    assert len(modules) > 20  # the walk found the kit's modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert "handlers.kit.context" in loaded
    leaked = [m for m in loaded if m.startswith(("handlers.features", "handlers.routes", "bot"))]
    assert not leaked, f"importing handlers.kit loaded {leaked}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, at = work.pop()
            if at == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if at < len(targets):
                work.append((node, at + 1))
                target = targets[at]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = grimp.build_graph("bot", "handlers", "db", exclude_type_checking_imports=False)
    assert "bot.metrics" in graph.modules and "bot.runtime" in graph.modules
    assert _cycles(graph) == []
