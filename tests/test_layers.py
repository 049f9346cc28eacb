"""The house keeps its shape: every module in one layer of DESIGN.md's tree, imports only along
the flow (sources -> parsers -> model -> analysis -> render/actions; commands on top, cli over
them), no import cycles, and no I/O in model, parsers or analysis. An AST walk over the source
tree: imports inside functions and under ``if TYPE_CHECKING:`` count too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "minfree"

#: folder (or file) -> layer; mirrors DESIGN.md "Architecture".
LAYER_OF = {
    "model": "model", "proc": "parsers", "logs": "parsers", "tracing": "parsers",
    "sources": "sources", "analysis": "analysis", "render": "render", "actions": "actions",
    "store": "store", "fleet": "fleet", "commands": "commands",
    "cli.py": "cli", "__main__.py": "cli", "errors.py": "base", "__init__.py": "base",
}
#: layer -> the layers it may import (and always "base").
MAY_IMPORT = {
    "base": set(),
    "model": {"model"},
    "parsers": {"parsers", "model"},
    "sources": {"sources", "parsers", "model"},
    "analysis": {"analysis", "parsers", "model"},
    "render": {"render", "analysis", "parsers", "model"},
    "store": {"store", "analysis", "parsers", "model"},
    "actions": {"actions", "sources", "analysis", "parsers", "model"},
    "fleet": {"fleet", "sources", "analysis", "parsers", "model", "render", "store", "actions"},
    "commands": {"commands", "fleet", "actions", "store", "render", "analysis", "sources", "parsers", "model"},
    "cli": {"cli", "commands"},
}
PURE = {"model", "parsers", "analysis"}
#: Standard-library modules that read or write the outside world.
IO_MODULES = {"subprocess", "socket", "tarfile", "gzip", "lzma", "bz2", "zstandard", "mmap", "sqlite3",
              "http", "urllib", "shutil", "tempfile", "select", "fcntl", "glob", "pickle"}
IO_CALLS = {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "listdir", "scandir",
            "fork", "system", "popen", "madvise"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        name = "minfree." + rel[:-3].replace("/", ".")
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def layer(module: str) -> str | None:
    rel = MODULES[module].relative_to(PACKAGE).as_posix()
    return LAYER_OF.get(rel.split("/", 1)[0]) if "/" in rel else LAYER_OF.get(rel)


def _imports(module: str) -> set[str]:
    """The minfree modules ``module`` imports (``from pkg import name`` resolves to pkg.name if a module)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rsplit(".", 1)[0] if "." in name else ""
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_sits_in_one_layer(module):
    assert layer(module) is not None, f"{MODULES[module]} is in no layer of DESIGN.md's tree"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_flow(module):
    mine = layer(module)
    wrong = sorted(f"{target} ({layer(target)})" for target in GRAPH[module]
                   if layer(target) != "base" and layer(target) not in MAY_IMPORT.get(mine, set()))
    assert not wrong, f"{module} ({mine}) imports against the flow: {', '.join(wrong)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) in PURE))
def test_pure_layers_do_no_io(module):
    uses = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                uses.add("open()")
            if isinstance(func, ast.Attribute) and func.attr in IO_CALLS:
                uses.add(f".{func.attr}()")
        if isinstance(node, ast.Import):
            uses.update(a.name for a in node.names if a.name.split(".")[0] in IO_MODULES | {"os"})
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] in IO_MODULES | {"os"}:
            uses.add(node.module or "")
    assert not uses, f"{module} ({layer(module)}) does I/O: {', '.join(sorted(uses))}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the import graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, "import cycles: " + " | ".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_a_violation():
    """The rules can fail: a parser importing a source is against the flow."""
    assert "sources" not in MAY_IMPORT[layer("minfree.proc.zoneinfo")]
    assert layer("minfree.sources.root") == "sources" and layer("minfree.cli") == "cli"
    assert "minfree.sources.specs" in GRAPH["minfree.sources.readers"]
