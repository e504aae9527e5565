"""The layer order of nnctl's packages holds, read from the code (tools/import_graph.py):

- every module imports first, in an interpreter where no other nnctl module was imported before it;
- no import cycle between modules, none between packages, and no import climbs the order in LAYERS;
- imports inside functions: of nnctl modules only in nnctl.cli (commands load the library on use, so that
  `nnctl --help` stays fast), and of other packages only for the optional or slow ones; each says why in a
  comment on the line above.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import import_graph  # noqa: E402

OPTIONAL_OR_SLOW = {"optuna", "sqlalchemy", "onnx", "onnxruntime", "matplotlib", "PIL", "threadpoolctl",
                    "tensorboard", "mlflow", "numba"}

FIRST_IMPORT = """
import importlib, json, sys
failures = {}
for name in json.loads(sys.argv[1]):
    for key in [k for k in sys.modules if k == "nnctl" or k.startswith("nnctl.")]:
        del sys.modules[key]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failures))
"""


def test_every_module_imports_first():
    """One interpreter, emptied of nnctl modules before each import (the third-party packages stay loaded,
    which cannot hide an nnctl import-order problem)."""
    names = [name for name in import_graph.all_modules() if name != "nnctl.__main__"]
    assert len(names) > 100
    done = subprocess.run([sys.executable, "-c", FIRST_IMPORT, json.dumps(names)], capture_output=True, text=True,
                          check=True, cwd=TOOLS.parent)
    assert json.loads(done.stdout) == {}


def test_the_import_graph_has_no_cycle_and_never_climbs():
    imports = import_graph.all_imports()
    assert len(imports) > 500
    assert import_graph.strongly_connected(import_graph.graph_of(imports, unit=False)) == []
    assert import_graph.strongly_connected(import_graph.graph_of(imports, unit=True)) == []
    climbing = [f"{i.source}:{i.line} -> {i.target}" for i in imports
                if import_graph.rank_of(import_graph.unit_of(i.source)) < import_graph.rank_of(
                    import_graph.unit_of(i.target))]
    assert climbing == []


def test_every_package_has_a_place_in_the_order():
    units = {import_graph.unit_of(name) for name in import_graph.all_modules()}
    placed = {unit for layer in import_graph.LAYERS for unit in layer}
    assert units <= placed, sorted(units - placed)


def in_function_imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, top-level package, the line above) of every import statement inside a function."""
    lines = path.read_text().splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    package = node.names[0].name.split(".")[0]
                elif isinstance(node, ast.ImportFrom):
                    package = (node.module or "").split(".")[0]
                else:
                    continue
                found.append((node.lineno, package, lines[node.lineno - 2].strip()))
    return found


def test_imports_inside_functions_are_the_allowed_kinds_and_say_why():
    wrong = []
    for name, path in import_graph.all_modules().items():
        for line, package, above in in_function_imports(path):
            where = f"{path.relative_to(TOOLS.parent)}:{line} ({package})"
            if package == "nnctl" and not name.startswith("nnctl.cli"):
                wrong.append(f"{where}: an nnctl import inside a function outside nnctl.cli")
            elif package != "nnctl" and package not in OPTIONAL_OR_SLOW:
                wrong.append(f"{where}: not an optional or slow package; import it at the top")
            elif not (above.startswith("#") or above.startswith(("import ", "from "))):
                wrong.append(f"{where}: no comment above saying why it is imported here")
    assert wrong == []


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    import numpy\n", [(2, "numpy", "def f():")]),
    ("def f():\n    # why\n    from nnctl.errors import InputError\n", [(3, "nnctl", "# why")]),
    ("import os\n", []),
])
def test_in_function_imports_are_found(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert in_function_imports(path) == expected


def test_a_cycle_and_a_climbing_import_are_caught():
    """The checks above can fail: a made-up graph with a cycle and an upward edge is reported as such."""
    made_up = [import_graph.Import("nnctl.layers.dense", "nnctl.nn.network", 1, False),
               import_graph.Import("nnctl.nn.network", "nnctl.layers.dense", 1, False)]
    assert import_graph.strongly_connected(import_graph.graph_of(made_up, unit=False)) == [
        ["nnctl.layers.dense", "nnctl.nn.network"]]
    assert import_graph.rank_of("nnctl.layers") < import_graph.rank_of("nnctl.nn")


CHECKPOINT_READERS = {"open_checkpoint", "read_checkpoint", "load_checkpoint", "load_arrays", "build_network"}


def test_commands_get_networks_from_checkpoints_through_the_one_loader():
    """eval, predict, export, embed and plot turn a checkpoint into a network only by
    nnctl.runs.loader.load_model: no module of the command layers reads checkpoint arrays itself."""
    readers = []
    for name, path in import_graph.all_modules().items():
        if name.split(".")[1:2] in (["commands"], ["deploy"], ["cli"]) and name != "nnctl.commands.summary":
            for node in ast.walk(ast.parse(path.read_text())):
                called = node.func if isinstance(node, ast.Call) else None
                called_name = getattr(called, "attr", None) or getattr(called, "id", None)
                if called_name in CHECKPOINT_READERS:
                    readers.append(f"{name}:{node.lineno} {called_name}")
    assert readers == []
    loader = (TOOLS.parent / "nnctl" / "runs" / "loader.py").read_text()
    assert "def load_model(" in loader and "read_checkpoint(" in loader


def test_the_package_docstring_states_the_order_the_tests_check():
    """nnctl/__init__.py lists the layers top first, one line each: the same groups as LAYERS."""
    import nnctl

    stated = []
    for line in nnctl.__doc__.splitlines():
        if line.startswith("    ") and line.strip():
            names = line.strip().split("  ")[0]
            stated.append({f"nnctl.{name.strip()}" for name in names.split(",")})
    expected = [set(layer) - {"nnctl", "nnctl.__main__"} for layer in reversed(import_graph.LAYERS)]
    assert stated == expected


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    """The cycle the layering change removed, rebuilt in miniature: nnctl.nn.registry imports a data module,
    which runs nnctl/data/__init__.py, which imports the catalog, which imports nnctl.nn.registry."""
    files = {"nnctl/__init__.py": "", "nnctl/nn/__init__.py": "",
             "nnctl/nn/registry.py": "from nnctl.data import arrays\n",
             "nnctl/data/__init__.py": "from nnctl.data.catalog import DATASETS\n",
             "nnctl/data/arrays.py": "", "nnctl/data/catalog.py": "from nnctl.nn.registry import LAYERS\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    imports = import_graph.all_imports(tmp_path / "nnctl")
    assert import_graph.strongly_connected(import_graph.graph_of(imports, unit=False)) == [
        ["nnctl.data", "nnctl.data.catalog", "nnctl.nn.registry"]]
    assert import_graph.strongly_connected(import_graph.graph_of(imports, unit=True)) == [["nnctl.data", "nnctl.nn"]]
