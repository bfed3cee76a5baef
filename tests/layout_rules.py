"""The house rules, read from the code's own imports (AST, nothing is run).

- the core (``cnnviz.core``) never imports Qt, pyqtgraph, the app, the CLI or the tools;
- a panel (``cnnviz.qt.panels.*``) never imports another panel, nor the window (``cnnviz.qt.app``);
- widgets (``cnnviz.qt.widgets``) and the state (``cnnviz.qt.state``) import no panel and no window;
- ``cnnviz.qt`` reaches torch only through the core;
- no import cycle between modules (an import inside a function counts: it is still a tie);
- no module over 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 500
QT_LIBS = ("PySide6", "pyqtgraph", "superqt")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, is_package: bool) -> set[str]:
    """Every module ``path`` imports, absolute; ``from a import b`` counts a.b when that is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def top_level_imports(path: Path) -> set[str]:
    """The modules a package's ``__init__`` imports at its top level (``from pkg import a, b``)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def graph(root: Path) -> tuple[dict[str, set[str]], dict[str, Path]]:
    files = {module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    edges = {}
    for name, path in files.items():
        raw = imports_of(path, name, path.name == "__init__.py")
        # keep third-party names (for the Qt/torch rules) and the project's modules that exist
        edges[name] = {m for m in raw if m in files or not m.startswith(root.name)}
        if path.name == "__init__.py":  # a package importing its own submodules at its top (they register)
            own = {m for m in top_level_imports(path) if m.startswith(name + ".")}
            edges[name] = {m for m in edges[name] if m not in own} | {f"{OWN}{m}" for m in own}
    return edges, files


OWN = "own:"  # marks a package's top-level import of its own submodule: not a tie back


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan). A package importing its own
    submodules (``models/__init__`` registering the models) is not a tie back and is left out."""
    internal = {a: {b for b in bs if b in edges} for a, bs in edges.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in internal[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in internal:
        if v not in index:
            visit(v)
    return out


def violations(root: Path) -> list[str]:
    """Every broken rule under the package folder ``root``, one line each."""
    edges, files = graph(root)
    pkg = root.name
    problems = []

    def under(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    for name, deps in sorted(edges.items()):
        for dep in sorted(deps):
            if under(name, f"{pkg}.core"):
                if dep.split(".")[0] in QT_LIBS or any(under(dep, f"{pkg}.{x}") for x in ("qt", "cli", "tools")):
                    problems.append(f"{name} (core) imports {dep}")
            if under(name, f"{pkg}.qt") and dep.split(".")[0] == "torch":
                problems.append(f"{name} (qt) imports torch itself")
            if under(name, f"{pkg}.qt.panels") and name != f"{pkg}.qt.panels":
                if under(dep, f"{pkg}.qt.panels") and dep != f"{pkg}.qt.panels" and dep != name:
                    problems.append(f"{name} (a panel) imports another panel, {dep}")
                if under(dep, f"{pkg}.qt.app"):
                    problems.append(f"{name} (a panel) imports the window, {dep}")
            if any(under(name, f"{pkg}.qt.{x}") for x in ("widgets", "state")):
                if any(under(dep, f"{pkg}.qt.{x}") for x in ("panels", "app")):
                    problems.append(f"{name} imports {dep}, which sits above it")
    for group in _cycles(edges):
        problems.append("import cycle: " + " -> ".join(group))
    for name, path in files.items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            problems.append(f"{name} has {lines} lines (at most {MAX_LINES})")
    return problems
