"""The layering of docs/architecture.md, checked on the source: no module imports from a layer above its own.

Every ``import``/``from ... import`` in every module under ``src/dsei`` counts, including those inside
functions and ``TYPE_CHECKING`` blocks, and ``importlib.import_module("dsei....")`` with a literal name.
The command-line modules (``dsei/cli.py`` and each package's ``cli.py``) are the top layer: they may import
anything. Imports inside one layer (e.g. chemistry -> mechanics) are allowed; see the docs for which exist.

And no import circle: the graph of module -> imported module (the same imports, with ``from dsei.pkg import
name`` resolved through the lazy package's ``_EXPORTS`` to the module that defines ``name``) has no strongly
connected component of more than one module. A circle that a function-level import hides still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dsei

SRC = Path(dsei.__file__).resolve().parent

#: lowest layer first; a module belongs to the layer of its longest matching prefix (see docs/architecture.md)
LAYERS: list[tuple[str, ...]] = [
    ("dsei._version", "dsei._lazy", "dsei._warnings", "dsei.errors", "dsei.extras", "dsei.results", "dsei.cache", "dsei.report"),  # report: HTML/CSV rendering, imports no dsei; extras: the optional-package checks
    ("dsei.structures", "dsei.models"),
    ("dsei.relax", "dsei.optimize"),
    ("dsei.mechanics", "dsei.transport", "dsei.chemistry", "dsei.cells", "dsei.microscopy"),
    ("dsei.campaign", "dsei.discovery"),
    ("dsei.api", "dsei"),  # dsei/__init__.py is the lazy public face, like dsei.api
    ("dsei.cli", "dsei._cli_common"),  # _cli_common: the options and consoles every cli.py shares
]
CLI_LAYER = len(LAYERS) - 1


def layer_of(module: str) -> int:
    """Layer index of a dotted module name; ``X.cli`` modules are the CLI layer."""
    if module == "dsei.cli" or module.endswith(".cli"):
        return CLI_LAYER
    best, best_len = None, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return best


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = SRC.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported dsei module, line) for every import in ``source`` (any depth in the syntax tree)."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:  # ``from dsei.x import y``: y may be a submodule
                sub = f"{base}.{a.name}"
                out.append((sub if _exists(sub) else base, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append((node.args[0].value, node.lineno))
    return sorted({(m, line) for m, line in out if m == "dsei" or m.startswith("dsei.")}, key=lambda t: t[1])


def lazy_exports(package: str) -> dict[str, str]:
    """The ``_EXPORTS`` table (public name -> defining module) of a lazy package ``__init__`` (see dsei/_lazy.py)."""
    init = SRC.parent.joinpath(*package.split("."), "__init__.py")
    if not init.is_file():
        return {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def import_graph_edges(source: str, module: str, is_package: bool = False) -> set[str]:
    """Modules ``module`` imports (as :func:`imported_modules`), with ``from <lazy package> import name`` resolved
    to the module that defines ``name``: importing it runs that module, not only the package's ``__init__``."""
    package = module if is_package else module.rpartition(".")[0]
    out = {m for m, _ in imported_modules(source, module, is_package)}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        exports = lazy_exports(base) if base == "dsei" or base.startswith("dsei.") else {}
        out |= {exports[a.name] for a in node.names if a.name in exports}
    return out - {module}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm), each sorted; sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    return [
        f"{module}:{line} imports {target} (layer {layer_of(target)} above {own})"
        for target, line in imported_modules(source, module, is_package)
        if layer_of(target) > own
    ]


def _modules():
    return sorted(SRC.rglob("*.py"))


def test_every_module_is_in_a_layer():
    for path in _modules():
        layer_of(module_name(path))


def test_no_import_goes_up_a_layer():
    problems = []
    for path in _modules():
        problems += upward_imports(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not problems, "imports that go up a layer (see docs/architecture.md):\n" + "\n".join(problems)


def test_no_import_cycle():
    """No two modules import each other, directly or round a longer circle, at top level or inside functions
    (a function-level import only hides a circle; the modules still cannot be understood one without the other)."""
    graph = {}
    for path in _modules():
        mod = module_name(path)
        graph[mod] = import_graph_edges(path.read_text(encoding="utf-8"), mod, path.name == "__init__.py")
    cycles = import_cycles(graph)
    described = [
        " <-> ".join(c) + ": " + "; ".join(f"{m} imports {', '.join(sorted(graph[m] & set(c)))}" for m in c)
        for c in cycles
    ]
    assert not cycles, "import cycles inside src/dsei:\n" + "\n".join(described)


@pytest.mark.parametrize(
    ("graph", "cycles"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b", "c"}, "b": {"a"}, "c": {"d"}, "d": {"c"}, "e": {"e"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_cycle_finder(graph, cycles):
    """The checker itself: direct and longer circles, two separate ones; a chain is not a circle."""
    assert import_cycles(graph) == cycles


def test_cycle_edges_see_function_level_and_lazy_imports():
    """The edges the cycle check uses: a function-level import counts, and ``from dsei.chemistry import
    EnergySet`` (a lazy package) is an edge to dsei.chemistry.energies, where EnergySet is defined."""
    src = "def f():\n    from dsei.chemistry.corrections import load_fit\nfrom dsei.chemistry import EnergySet\n"
    edges = import_graph_edges(src, "dsei.chemistry.stability")
    assert {"dsei.chemistry.corrections", "dsei.chemistry.energies", "dsei.chemistry"} <= edges


def test_fere_leaf_imports_nothing_from_chemistry():
    """The circle corrections <-> energies is broken by the leaf dsei.chemistry.fere: energies imports it,
    corrections imports energies, and fere imports no dsei.chemistry module."""
    path = SRC / "chemistry" / "fere.py"
    edges = import_graph_edges(path.read_text(encoding="utf-8"), "dsei.chemistry.fere")
    assert not {e for e in edges if e.startswith("dsei.chemistry")}, edges
    energies = import_graph_edges((SRC / "chemistry" / "energies.py").read_text(encoding="utf-8"), "dsei.chemistry.energies")
    assert "dsei.chemistry.fere" in energies and "dsei.chemistry.corrections" not in energies


def test_science_packages_do_not_import_each_other():
    """mechanics, transport, chemistry, cells and microscopy stand side by side: what combines them (the
    gradient design, the screen) lives in the layer above."""
    science = LAYERS[3]
    problems = []
    for path in _modules():
        mod = module_name(path)
        own = next((p for p in science if mod.startswith(p + ".") or mod == p), None)
        if own is None or mod.endswith(".cli"):
            continue
        for target, line in imported_modules(path.read_text(encoding="utf-8"), mod, path.name == "__init__.py"):
            other = next((p for p in science if target.startswith(p + ".") or target == p), None)
            if other is not None and other != own:
                problems.append(f"{mod}:{line} imports {target}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "module", "bad"),
    [
        ("def f():\n    from dsei.api import prepare\n", "dsei.transport.bvse", True),  # function-level
        ("import dsei.campaign.design\n", "dsei.chemistry.conversion", True),
        ("from ..campaign import design\n", "dsei.chemistry.conversion", True),  # relative
        ("import importlib\nimportlib.import_module('dsei.cli')\n", "dsei.relax", True),
        ("from dsei import api\n", "dsei.structures.io", True),
        ("from dsei.structures.validate import prepare\n", "dsei.transport.bvse", False),
        ("from dsei.mechanics.elastic import elastic\n", "dsei.chemistry.energies", False),  # same layer
        ("from dsei.campaign.design import design\n", "dsei.chemistry.cli", False),  # CLI modules are on top
    ],
)
def test_checker_finds_upward_imports(source, module, bad):
    """The checker itself: it must see function-level, relative, ``from dsei import x`` and importlib imports."""
    assert bool(upward_imports(source, module)) is bad


def test_science_packages_do_not_import_the_public_api():
    """``dsei.api`` is the thin public layer: ``prepare`` lives in dsei.structures and is re-exported."""
    import dsei.api
    import dsei.structures

    assert dsei.api.prepare is dsei.structures.prepare is dsei.prepare


def test_library_errors_name_arguments_and_the_cli_names_options(run_cli):
    """Library code raises ``InputError("anode", ...)``; ``dsei`` prints the option the user typed."""
    from dsei.chemistry import stability
    from dsei.cli import _as_option
    from dsei.errors import InputError

    with pytest.raises(InputError) as e:
        stability("LiF", anode="Qq")
    assert e.value.source == "anode" and "--" not in str(e.value)
    code, _, err = run_cli("stability", "LiF", "--anode", "Qq")
    assert code == 2 and err.strip() == "error: --anode: must be one of Li, Na, K, Mg, Ca, Zn, not 'Qq'"
    assert _as_option("ion", ["barrier", "LiF", "--ion", "Xx"]) == "--ion"
    assert _as_option("ion", ["stability", "LiF"]) == "ion"  # stability has no --ion option
    assert _as_option("LiF.cif", ["barrier", "LiF.cif"]) == "LiF.cif"  # files are left alone
