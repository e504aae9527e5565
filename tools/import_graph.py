"""The import graph of the nnctl package, read from the code (module-level and in-function imports alike).

    python tools/import_graph.py            # counts: cycles, upward edges, in-function imports
    python tools/import_graph.py --list     # every module-level cycle, upward edge and in-function import

"Upward" is judged against LAYERS below: a module may import only from its own layer or a lower one.
tests/test_layering.py fails on a cycle or an upward edge, so this order is the one the code keeps.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnctl"

# Lowest first. A unit is a top-level module (nnctl.errors) or a subpackage (nnctl.layers); each may import from
# units of its own rank or below. Units of one rank must not import each other in a cycle either.
LAYERS: list[tuple[str, ...]] = [
    ("nnctl", "nnctl.errors", "nnctl.limits", "nnctl.atomic", "nnctl.npzfile", "nnctl.threads", "nnctl.workers",
     "nnctl.cpus", "nnctl.console", "nnctl.kernels"),  # nnctl.kernels: compiled loops (the `fast` extra)
    ("nnctl.options",),                                  # the option-table checker, YAML, overrides
    ("nnctl.layers", "nnctl.optim", "nnctl.data"),       # parts, each on the ground alone
    ("nnctl.nn",),                                       # registry of names, network, losses, objective
    ("nnctl.config", "nnctl.analysis"),                  # a whole config resolved; node outputs, PCA, k-NN
    ("nnctl.viz", "nnctl.health"),                       # drawing and measuring: arrays and records in
    ("nnctl.build",),                                    # config -> data splits, network, objective
    ("nnctl.runs",),                                     # run folders, checkpoints as data, one loader
    ("nnctl.loggers",),                                  # TensorBoard and MLflow: a run's numbers sent out
    ("nnctl.training",),                                 # trainer, loop, callbacks, endings
    ("nnctl.check", "nnctl.deploy", "nnctl.sweep", "nnctl.repeats"),   # gradcheck, predict/export, sweeps, groups
    ("nnctl.commands",),                                 # what each command does, as functions
    ("nnctl.cli", "nnctl.__main__"),                     # options in, one call, lines out
]


def rank_of(unit: str) -> int:
    for rank, units in enumerate(LAYERS):
        if unit in units:
            return rank
    raise KeyError(f"{unit} has no place in LAYERS (tools/import_graph.py)")


@dataclass(frozen=True)
class Import:
    """One `import` statement's target inside nnctl: who imports, what, at which line, inside a function or not."""
    source: str          # importing module, dotted
    target: str          # imported module, dotted (a name imported from a package resolves to its submodule if one exists)
    line: int
    in_function: bool


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file of every module of `package` (nnctl by default)."""
    return {module_name(p, package.parent): p for p in sorted(package.rglob("*.py"))}


def _resolve(base: str, name: str | None, modules: dict[str, Path]) -> str | None:
    full = f"{base}.{name}" if name else base
    if full in modules:
        return full
    return base if base in modules else None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("nnctl"):
                        target = _resolve(alias.name, None, modules)
                        if target:
                            found.append(Import(module, target, child.lineno, inside))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[:len(package) - (child.level - 1)]
                    base = ".".join(package + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                if base.startswith("nnctl"):
                    for alias in child.names:
                        target = _resolve(base, alias.name, modules)
                        if target:
                            found.append(Import(module, target, child.lineno, inside))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue          # typing-only imports never run
            visit(child, inside)

    visit(tree, False)
    # Importing nnctl.a.b runs nnctl/a/__init__.py first: each parent package is imported too.
    # (A module's own parent packages are already being imported when it runs: no edge for those.)
    parents = [Import(i.source, parent, i.line, i.in_function) for i in found
               for k in range(2, len(i.target.split(".")))
               if not module.startswith((parent := ".".join(i.target.split(".")[:k])) + ".")]
    return [i for i in found + parents if i.target != module]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def all_imports(package: Path = PACKAGE) -> list[Import]:
    modules = all_modules(package)
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def unit_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return module
    if (PACKAGE / parts[1]).is_dir():
        return ".".join(parts[:2])
    return ".".join(parts[:2])


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components with more than one node (the cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def graph_of(imports: list[Import], unit: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        a, b = (unit_of(imp.source), unit_of(imp.target)) if unit else (imp.source, imp.target)
        graph.setdefault(a, set())
        graph.setdefault(b, set())
        if a != b:
            graph[a].add(b)
    return graph


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    imports = all_imports()
    module_cycles = strongly_connected(graph_of(imports, unit=False))
    unit_cycles = strongly_connected(graph_of(imports, unit=True))
    statements = {(i.source, i.line): i for i in imports if i.in_function}
    in_function = list(statements.values())
    upward = [i for i in imports if rank_of(unit_of(i.source)) < rank_of(unit_of(i.target))]
    print(f"modules: {len(all_modules())}, nnctl imports: {len(imports)}")
    print(f"module-level cycles (strongly connected groups): {len(module_cycles)}"
          f" covering {sum(map(len, module_cycles))} modules")
    print(f"package-level cycles: {len(unit_cycles)} covering {sum(map(len, unit_cycles))} packages")
    print(f"upward imports (against LAYERS): {len(upward)}")
    print(f"in-function import statements of nnctl modules: {len(in_function)}")
    if args.list:
        for c in unit_cycles:
            print("package cycle:", " ".join(c))
        for c in module_cycles:
            print("module cycle:", " ".join(c))
        for i in upward:
            print(f"upward: {i.source}:{i.line} -> {i.target}{' (in function)' if i.in_function else ''}")
        for i in in_function:
            print(f"in function: {i.source}:{i.line} -> {i.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
