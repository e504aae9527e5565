"""The `fast` extra's switch and costs: NNCTL_KERNELS chooses the path (errors are one line, exit 2), a missing
numba says what to install, nothing imports numba when nnctl or its command line is imported, compiled
kernels are cached in the user's cache folder, and the compile time is measured."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from nnctl.kernels import backend

ROOT = Path(__file__).resolve().parents[1]
NNCTL = Path(sys.executable).with_name("nnctl")


def run(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("NNCTL_KERNELS", "NUMBA_CACHE_DIR")}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=ROOT)


def nnctl(*args, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "NNCTL_KERNELS"}
    environment.update(env)
    return subprocess.run([str(NNCTL), *args], capture_output=True, text=True, env=environment, cwd=ROOT)


def test_importing_the_command_line_and_the_parts_imports_no_numba():
    code = ("import sys, nnctl.cli, nnctl.nn.network, nnctl.nn.losses, nnctl.optim.optimizers, "
            "nnctl.layers.activations, nnctl.kernels.warmup, nnctl.training.trainer; "
            "print('numba' in sys.modules, 'llvmlite' in sys.modules)")
    assert run(code).stdout == "False False\n"
    assert run(code, NNCTL_KERNELS="numba").stdout == "False False\n"


def test_help_runs_without_numba_and_training_imports_it_only_when_chosen():
    help_text = run("import sys; sys.argv = ['nnctl', '--help']; from nnctl.cli import main\n"
                    "try:\n    main()\nexcept SystemExit:\n    pass\nprint('numba' in sys.modules)")
    assert help_text.stdout.endswith("False\n")
    code = ("import sys; import numpy as np; from nnctl.layers.activations import ReLU; layer = ReLU('r'); "
            "layer.build((3,), np.random.default_rng(0)); layer.forward(np.ones((2, 3), np.float32), True); "
            "print('numba' in sys.modules)")
    assert run(code, NNCTL_KERNELS="numba").stdout == "True\n"
    assert run(code, NNCTL_KERNELS="numpy").stdout == "False\n"


@pytest.mark.parametrize("value", ["fast", "yes", "1"])
def test_a_wrong_value_is_one_line_naming_the_variable(value):
    result = nnctl("summary", "configs/spiral.yaml", NNCTL_KERNELS=value)
    assert result.returncode == 2
    assert result.stderr == f"NNCTL_KERNELS: expected one of auto, numba, numpy, got {value!r}\n"
    assert result.stdout == ""


def test_the_choice_is_read_case_and_space_insensitively(monkeypatch):
    for value, expected in (("NumPy", "numpy"), (" numba ", "numba"), ("", "auto")):
        monkeypatch.setenv("NNCTL_KERNELS", value)
        assert backend.requested() == expected


def test_without_numba_asking_for_it_says_what_to_install_and_auto_falls_back(tmp_path):
    config = ROOT / "configs" / "spiral.yaml"
    code = ("import sys; sys.modules['numba'] = None; from nnctl.cli import main; "
            f"sys.argv = ['nnctl', 'train', {str(config)!r}, '--out', {str(tmp_path / 'runs')!r}, '--quiet', "
            "'--set', 'train.epochs=1']; main()")
    asked = run(code, NNCTL_KERNELS="numba")
    assert asked.returncode == 2
    assert asked.stderr == "NNCTL_KERNELS=numba needs numba, which is not installed: pip install 'nnctl[fast]'\n"
    assert not (tmp_path / "runs").exists()
    fallback = run("import sys; sys.modules['numba'] = None; from nnctl.kernels import backend; "
                   "print(backend.active(), backend.name())")
    assert fallback.stdout == "False numpy\n" and fallback.stderr == ""


def test_the_extra_the_message_names_exists_and_is_in_dev():
    """The advice `pip install 'nnctl[fast]'` installs numba: the extra names it, and dev has it too."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["fast"] == ["numba>=0.60"]
    assert "numba>=0.60" in extras["dev"]


def test_the_cache_goes_to_the_users_cache_folder_unless_numba_cache_dir_is_set(tmp_path):
    pytest.importorskip("numba", reason="numba is not installed (pip install 'nnctl[fast]')")
    # one family (ReLU, float32) is enough to see where the cache goes; every kernel would take 7 s each time
    code = ("import os, time, numpy; from nnctl.kernels import activations; start = time.perf_counter(); "
            "activations.warm(numpy.float32); print(os.environ['NUMBA_CACHE_DIR'], time.perf_counter() > start)")
    home = tmp_path / "home"
    done = run(code, HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert done.stdout == f"{tmp_path / 'xdg' / 'nnctl' / 'numba'} True\n", done.stderr
    assert any((tmp_path / "xdg" / "nnctl" / "numba").rglob("*.nbi"))        # numba's cache index files
    plain = run(code, HOME=str(home), XDG_CACHE_HOME="")
    assert plain.stdout == f"{home / '.cache' / 'nnctl' / 'numba'} True\n"
    given = run(code, HOME=str(home), NUMBA_CACHE_DIR=str(tmp_path / "given"))
    assert given.stdout == f"{tmp_path / 'given'} True\n"
    assert any((tmp_path / "given").rglob("*.nbc"))


def test_compile_time_is_measured_cold_and_warm_and_zero_when_off(tmp_path):
    pytest.importorskip("numba", reason="numba is not installed (pip install 'nnctl[fast]')")
    code = "from nnctl.kernels import warmup; print(warmup.compile_all()); print(warmup.describe())"
    cold = run(code, NUMBA_CACHE_DIR=str(tmp_path))
    warm = run(code, NUMBA_CACHE_DIR=str(tmp_path))
    cold_seconds, warm_seconds = float(cold.stdout.split()[0]), float(warm.stdout.split()[0])
    assert cold_seconds > warm_seconds > 0          # the second process loads what the first compiled
    assert warm.stdout.splitlines()[1].startswith("kernels: numba ")
    off = run(code, NNCTL_KERNELS="numpy")
    assert off.stdout == "0.0\nkernels: numpy (NNCTL_KERNELS=numpy)\n"
