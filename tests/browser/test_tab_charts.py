"""The charts at length: a 20,000-point curve is drawn at screen resolution (lowest and
highest point of every pixel column) and keeps its spike and its NaN marker, while the
CSV export and the keyboard reading keep every point. Plus a smoke run of the tab
benchmark (``python -m benchmarks.tab``) at a tiny size: it runs end to end and prints
its table (no timing is asserted).
"""

import os
import re
import subprocess
import sys

import pytest

from benchmarks.tab.__main__ import CATEGORY, CHART, make_logdir
from tests.tb_process import running_tensorboard

from .conftest import ENTRY, ROOT

pytestmark = pytest.mark.e2e

STEPS = 20000
MARGIN_TOP = 10  # chart_frame.MARGIN.top
MARGIN_BOTTOM = 26


@pytest.fixture(scope="module")
def long_tb(tmp_path_factory):
    logdir = make_logdir(1, STEPS, 50, str(tmp_path_factory.mktemp("hjepa-long") / "logs"))
    with running_tensorboard(
        logdir, load_fast="true", args=["--samples_per_plugin=hjepa=0"]
    ) as proc:
        yield proc


def vertices(d):
    """(x, y) of every M/L command of an SVG path."""
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d)]


def test_long_curve_is_drawn_at_screen_resolution_and_keeps_spike_and_nan(long_tb, page):
    data = long_tb.get_json("/data/plugin/hjepa/scalars?run=long_0&tag=" + CHART)["data"]
    assert len(data) == STEPS
    values = [r[2] for r in data]
    finite = [v for v in values if isinstance(v, float)]
    spike = max(finite)
    assert spike > 2 * sorted(finite)[len(finite) // 2], "the generated curve has no spike"
    assert values.count("NaN") == 1

    page.goto(long_tb.url + ENTRY + "#run=long_0&view=charts&category=" + CATEGORY)
    card = page.locator('.hj-chart-card[data-tag="%s"]' % CHART)
    card.locator("path.hj-line-raw").wait_for()
    svg_width = float(card.locator("svg.hj-chart-svg").get_attribute("width"))
    height = float(card.locator("svg.hj-chart-svg").get_attribute("height"))
    raw = vertices(card.locator("path.hj-line-raw").get_attribute("d"))
    # At most first/low/high/last of each pixel column, far fewer than the points.
    columns = {x for x, _ in raw}
    assert len(raw) <= 4 * len(columns) and len(columns) <= svg_width
    assert len(raw) < STEPS / 4
    # The spike survives: the axis reaches up to it, and a vertex of the line is there.
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    assert min(y for _, y in raw) < MARGIN_TOP + 0.1 * plot_h
    # The NaN is marked on the top edge, and said in the legend.
    assert card.locator(".hj-nonfinite").count() == 1
    assert "1 NaN/Inf" in card.locator(".hj-legend-item").inner_text()

    # Keyboard reading walks every point, not the drawn ones.
    chart = card.locator(".hj-chart")
    chart.focus()
    page.keyboard.press("End")
    assert "step %s" % format(STEPS - 1, ",") in card.locator(".hj-tooltip").inner_text()
    page.keyboard.press("ArrowLeft")
    assert "step %s" % format(STEPS - 2, ",") in card.locator(".hj-tooltip").inner_text()

    # The CSV holds every point at full resolution.
    with page.expect_download() as info:
        card.locator('[data-action="csv"]').click()
    with open(info.value.path(), encoding="utf-8") as f:
        lines = f.read().strip().splitlines()
    assert lines[0] == "run,tag,step,wall_time,value"
    assert len(lines) == 1 + STEPS
    assert sum(1 for line in lines if line.endswith(",NaN")) == 1
    assert any(line.startswith("long_0,%s,%d," % (CHART, STEPS - 1)) for line in lines)


def test_tab_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.tab",
            "--runs",
            "2",
            "--steps",
            "300",
            "--small",
            "30",
            "--hovers",
            "3",
            "--redraws",
            "2",
            "--logdir",
            str(tmp_path / "logs"),
            "--json",
            str(tmp_path / "out.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for row in (
        "hover, dispatch to next frame",
        "redraw: smoothing change",
        "redraw: log-scale toggle",
        "redraw: run toggle",
        "SVG path text on the page",
    ):
        assert row in out, out
    assert "30 points" in out and "300 points" in out
    assert os.path.getsize(tmp_path / "out.json") > 0
