"""End to end: a real ``tensorboard`` process, both loading paths, generated logs.

``--load_fast=true`` reads through TensorBoard's Rust data server, ``false`` through
the Python multiplexer; the plugin must answer the same in both. Samples per tag
(measured): without the plugin's ``fix_flags`` TensorBoard keeps 10 samples per
"hjepa" tag on the Python path and 1000 on the Rust path, and 1000 per plain "scalars"
tag on both; the plugin sets "hjepa" to ``DEFAULT_HJEPA_SAMPLES`` (2,000) and leaves
"scalars" alone (see ``plugin.py``), and says when a curve is sampled.
"""

import time

import pytest

from tensorboard_plugin_hjepa.plugin import DEFAULT_HJEPA_SAMPLES
from tests import logs
from tests.tb_process import running_tensorboard

pytestmark = pytest.mark.e2e

STEPS = 1500  # the tiny demo's length: kept whole by the plugin's default
LONG_STEPS = DEFAULT_HJEPA_SAMPLES + 500  # a run longer than the default keeps
RUNS = (
    ("healthy", "healthy", "hjepa"),
    ("collapsing", "collapsing", "hjepa"),
    ("plain", "healthy", "plain"),
    ("upstream", "healthy", "upstream"),
)
PREFIX = "/data/plugin/hjepa"
SCALARS_DEFAULT_SAMPLES = 1000  # TensorBoard's own default for plugin "scalars"


@pytest.fixture(scope="module")
def e2e_logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("hjepa-e2e"))
    logs.write_logdir(logdir, RUNS, steps=STEPS)
    logs.write_run(logdir, "long", "healthy", steps=LONG_STEPS, keys=["loss.total"])
    logs.write_unrelated_run(logdir)
    return logdir


def _wait_loaded(tb, timeout=60):
    """Poll ``runs`` until every run is listed with its last step (the Rust server
    loads in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {r["run"]: r for r in tb.get_json(PREFIX + "/runs")["runs"]}
        long_run = runs.pop("long", None)
        if (
            set(runs) == {name for name, _, _ in RUNS}
            and all(r["last_step"] == STEPS - 1 for r in runs.values())
            and (long_run is not None and long_run["last_step"] == LONG_STEPS - 1)
        ):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError("runs not loaded after %ds: %r" % (timeout, runs))
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["true", "false"], ids=["load_fast", "python"])
def tb(request, e2e_logdir):
    with running_tensorboard(e2e_logdir, load_fast=request.param) as proc:
        proc.loaded_runs = _wait_loaded(proc)
        yield proc


def test_plugins_listing_lists_the_tab(tb):
    entry = tb.get_json("/data/plugins_listing")["hjepa"]
    assert entry["enabled"] is True
    assert entry["tab_name"] == "H-JEPA Health"
    assert entry["loading_mechanism"]["module_path"] == PREFIX + "/index.js"


def test_runs_lists_every_source(tb):
    runs = tb.loaded_runs
    assert {name: r["source"] for name, r in runs.items()} == {
        name: source for name, _, source in RUNS
    }
    assert runs["healthy"]["levels"] == 3 and runs["healthy"]["embed_dim"] == 192
    assert runs["plain"]["embed_dim"] is None


def test_healthy_and_collapsing_runs_get_their_status(tb):
    runs = tb.get_json(PREFIX + "/runs")["runs"]
    status = {r["run"]: r["status"] for r in runs}
    assert status["healthy"] == "healthy"
    assert status["collapsing"] == "collapse"
    assert tb.get_json(PREFIX + "/health?run=collapsing")["status"] == "collapse"
    assert tb.get_json(PREFIX + "/health?run=healthy")["status"] == "healthy"


def test_full_resolution_curves_without_any_flag(tb):
    body = tb.get_json(PREFIX + "/scalars?run=healthy&tag=train/loss/total")
    steps = [row[0] for row in body["data"]]
    assert steps == list(range(STEPS)) and body["sampled"] is False
    every_100 = tb.get_json(
        PREFIX + "/scalars?run=healthy&tag=train/collapse/level1_effective_rank"
    )
    assert len(every_100["data"]) == STEPS // 100


def test_a_run_longer_than_the_default_keeps_that_many_points_and_says_so(tb):
    body = tb.get_json(PREFIX + "/scalars?run=long&tag=train/loss/total")
    steps = [row[0] for row in body["data"]]
    assert len(steps) == DEFAULT_HJEPA_SAMPLES and steps == sorted(steps)
    assert steps[-1] == LONG_STEPS - 1  # the reservoir always keeps the latest point
    assert body["sampled"] is True and "--samples_per_plugin=hjepa=0" in body["sampling_note"]


def test_plain_scalars_keep_tensorboards_default_sampling(tb):
    for run, tag in (("plain", "train/loss/total"), ("upstream", "train/loss_h0")):
        body = tb.get_json(PREFIX + "/scalars?run=%s&tag=%s" % (run, tag))
        steps = [row[0] for row in body["data"]]
        assert len(steps) == SCALARS_DEFAULT_SAMPLES and steps == sorted(steps)
        assert body["sampled"] is True
        assert "--samples_per_plugin=scalars=0" in body["sampling_note"]
        assert steps[-1] == STEPS - 1  # the reservoir always keeps the latest point


def test_every_route_answers(tb):
    assert "metrics" in tb.get_json(PREFIX + "/catalog")
    health = tb.get_json(PREFIX + "/health?run=upstream")
    assert health["source"] == "upstream"
    status, headers, body = tb.get(PREFIX + "/index.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"render" in body
    for path, code in (
        (PREFIX + "/health", 400),
        (PREFIX + "/health?run=nope", 404),
        (PREFIX + "/scalars?run=healthy", 400),
        (PREFIX + "/scalars?run=healthy&tag=nope", 404),
        (PREFIX + "/../../etc/passwd", 404),
    ):
        status, headers, body = tb.get(path)
        assert status == code, path
        if path.startswith(PREFIX + "/h") or path.startswith(PREFIX + "/s"):
            assert headers["Content-Type"].startswith("application/json")
            assert b'"error"' in body


def test_a_user_samples_flag_for_hjepa_wins_and_a_path_prefix_works(e2e_logdir):
    with running_tensorboard(
        e2e_logdir, load_fast="true", path_prefix="/tb", args=["--samples_per_plugin=hjepa=100"]
    ) as proc:
        _wait_loaded(proc)
        assert proc.url.endswith("/tb")
        body = proc.get_json(PREFIX + "/scalars?run=healthy&tag=train/loss/total")
        assert len(body["data"]) == 100 and body["sampled"] is True
        status, headers, _ = proc.get(PREFIX + "/index.js")
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")


_WITHOUT_FIX_FLAGS = """
import sys
from absl import app
from tensorboard import default, program
from tensorboard_plugin_hjepa.plugin import HJepaLoader

class WithoutFixFlags(HJepaLoader):
    def fix_flags(self, flags):
        pass

tb = program.TensorBoard(plugins=default.get_static_plugins() + [WithoutFixFlags()])
app.run(tb.main, flags_parser=tb.configure)
"""


@pytest.mark.parametrize("load_fast,kept", [("false", 10), ("true", 1000)])
def test_why_fix_flags_exists_tensorboards_own_sampling(e2e_logdir, load_fast, kept):
    """Without fix_flags TensorBoard keeps 10 (Python path) or 1000 (Rust) points per
    "hjepa" tag; if this changes, revisit DEFAULT_HJEPA_SAMPLES."""
    import sys

    with running_tensorboard(
        e2e_logdir, load_fast=load_fast, command=[sys.executable, "-c", _WITHOUT_FIX_FLAGS]
    ) as proc:
        deadline = time.monotonic() + 60
        while True:
            status, _, _ = proc.get(PREFIX + "/scalars?run=healthy&tag=train/loss/total")
            body = (
                proc.get_json(PREFIX + "/scalars?run=healthy&tag=train/loss/total")
                if status == 200
                else {"data": []}
            )
            if body["data"] and body["data"][-1][0] == STEPS - 1:
                break
            assert time.monotonic() < deadline, "run not loaded"
            time.sleep(0.2)
        assert len(body["data"]) == kept and body["sampled"] is True
