"""`nnctl compare RUN...`: differing keys and results side by side in the terminal; with --out one
self-contained HTML page, checked in a real headless Chromium: it loads without console errors, shows every
run's distinguishing values, its screenshot is not blank, and clicking a column header sorts the rows."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
from PIL import Image, ImageStat

from nnctl.config.load import load_config
from nnctl.training.runner import train
from tests.chromium_pipe import CHROMIUM, Chromium

SPIRAL = """\
name: spiral
seed: 3
data: {{dataset: spiral, samples: 150, normalize: none}}
model: [{{type: dense, units: 16}}, {{type: relu}}, {{type: dense, units: 3}}]
optimizer: {{type: {optimizer}, lr: {lr}}}
train: {{epochs: {epochs}, batch_size: 30}}
"""


def nnctl(*args):
    return subprocess.run([sys.executable, "-m", "nnctl", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    made = []
    for optimizer, lr, epochs in (("sgd", 0.1, 3), ("momentum", 0.05, 4), ("adam", 0.01, 5)):
        config = tmp / f"{optimizer}.yaml"
        config.write_text(SPIRAL.format(optimizer=optimizer, lr=lr, epochs=epochs))
        made.append(train(load_config(config), tmp / "runs", progress=False).run_dir)
    return made


def test_terminal_table_has_a_column_per_run(runs):
    sgd, momentum, _ = runs
    done = nnctl("compare", sgd, momentum)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["run", str(sgd), str(momentum)]
    rows = {cells[0]: cells[1:] for cells in (re.split(r"  +", line.strip()) for line in lines[2:])}
    assert rows["optimizer.type"] == ["sgd", "momentum"]
    assert rows["lr"] == ["0.1", "0.05"] and rows["momentum"] == ["—", "0.9"]
    assert rows["epochs"] == ["3/3", "4/4"] and rows["status"] == ["completed", "completed"]
    report = json.loads((sgd / "report.json").read_text())
    assert rows["test loss"][0] == f"{report['test']['loss']:.4f}"
    assert rows["test acc"][0] == f"{100 * report['test']['acc']:.2f}%"


def test_one_run_is_refused_in_one_line(runs):
    done = nnctl("compare", runs[0])
    assert (done.returncode, done.stderr) == (2, "nnctl compare needs at least two runs (nnctl runs lists them)\n")


@pytest.mark.skipif(not CHROMIUM or not __import__("os").path.exists(CHROMIUM), reason="no chromium installed")
def test_the_page_in_headless_chromium_loads_shows_every_run_and_sorts_by_click(tmp_path, runs):
    page = tmp_path / "compare.html"
    done = nnctl("compare", *runs, "--out", page)
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert done.stdout == f"wrote {page} ({len(text.encode())} bytes, 3 runs, 4 pictures)\n"
    # self-contained: every picture inline, no address outside the page
    assert len(re.findall(r'<img alt="[a-z_]+" src="data:image/png;base64,', text)) == 4
    assert not re.search(r"(https?:|//)[^\s\"']*\.", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text))
    losses = {str(run): json.loads((run / "report.json").read_text())["test"]["loss"] for run in runs}
    with Chromium() as browser:
        browser.open(page.as_uri())
        assert browser.errors == []
        rows = browser.evaluate("Array.from(document.querySelectorAll('tbody tr')).map("
                                "r => Array.from(r.cells).map(c => c.textContent))")
        header = browser.evaluate("Array.from(document.querySelectorAll('th')).map(c => c.textContent)")
        assert [row[0] for row in rows] == ["optimizer.type=sgd, lr=0.1, epochs=3, +1 more",
                                            "optimizer.type=momentum, lr=0.05, momentum=0.9, epochs=4, +1 more",
                                            "optimizer.type=adam, lr=0.01, beta1=0.9, eps=1e-08, epochs=5, +1 more"]
        column = {name: i for i, name in enumerate(header)}
        assert [row[column["optimizer.type"]] for row in rows] == ["sgd", "momentum", "adam"]
        assert [row[column["lr"]] for row in rows] == ["0.1", "0.05", "0.01"]
        assert browser.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 600)")
        shot = Image.open(io.BytesIO(browser.screenshot())).convert("L")
        assert shot.size == (1400, 1000) and ImageStat.Stat(shot).stddev[0] > 20      # not a blank page
        box = browser.evaluate(f"(() => {{ const r = document.querySelectorAll('th')[{column['test loss']}]"
                               f".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        runs_in_order = "Array.from(document.querySelectorAll('tbody tr')).map(r => r.cells[1].textContent)"
        browser.click(*box)                                       # a real mouse click on the header
        assert browser.evaluate(runs_in_order) == sorted(losses, key=losses.get)
        browser.click(*box)                                       # again: the other way
        assert browser.evaluate(runs_in_order) == sorted(losses, key=losses.get, reverse=True)
        assert browser.errors == []


@pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="no chromium installed")
def test_the_browser_harness_does_see_console_errors(tmp_path):
    """The check above can fail: a page that throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    with Chromium() as browser:
        browser.open(page.as_uri())
        assert len(browser.errors) == 1 and "undefinedFunction" in browser.errors[0]
