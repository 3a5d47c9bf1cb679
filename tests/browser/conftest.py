"""Fixtures of the browser tests: a real ``tensorboard`` process, Debian's Chromium
driven by Playwright, and screenshots saved as test artifacts.

- ``tb`` (module): ``tests.tb_process.running_tensorboard`` on a copy of
  ``standard_logdir`` (tests/conftest.py: the standard generated runs, a hostile run
  name, an unrelated run) plus ``LEVEL1_RUN``, a run whose collapse metrics collapse
  at level 1 only.
- ``browser`` (session): headless Chromium from /usr/bin/chromium (never downloaded).
- ``page``: a fresh page that records dialogs, page errors and console errors;
  the test fails if a dialog opened (a hostile name ran script).
- ``shot(page, name)``: full-page screenshot to test-artifacts/screenshots/NAME.png.
"""

import os
import shutil
import time

import pytest

from tensorboard_plugin_hjepa.summary import SummaryWriter
from tests import logs
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, ENTRY
from tests.tb_process import running_tensorboard

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOTS = os.path.join(ROOT, "test-artifacts", "screenshots")
LEVEL1_RUN = "level1_collapse"


def write_level1_collapse(logdir, steps=600):
    """A run that is healthy except for collapse metrics of level 1, which collapse.

    Written through the public summary API so the manifest (levels, weights, D) is set.
    """
    healthy = logs.curves("healthy", steps=steps, seed=21)
    collapsing = logs.curves("collapsing", steps=steps, seed=21)
    run_dir = os.path.join(logdir, LEVEL1_RUN)
    rows = {}
    for (key, level), series in healthy.items():
        if key.startswith("collapse.") and level == 1:
            series = collapsing[(key, level)]
        rows[(key, level)] = series
    with SummaryWriter(
        run_dir, manifest=logs.manifest_for(total_steps=steps), flush_secs=60, max_queue=100000
    ) as writer:
        by_step = {}
        for (key, level), (s, v) in rows.items():
            for step, value in zip(s.tolist(), v.tolist()):
                by_step.setdefault(step, []).append((key, level, value))
        for step in sorted(by_step):
            wall = logs.WALL_START + step * logs.SECONDS_PER_STEP
            for key, level, value in by_step[step]:
                if key == "learning_rate.param_group":
                    writer.scalar(key, value, step, group=0, wall_time=wall)
                else:
                    writer.scalar(key, value, step, level=level, wall_time=wall)
    return run_dir


@pytest.fixture(scope="module")
def tb(standard_logdir, tmp_path_factory):
    # A copy: the shared session logdir must stay as other test modules expect it.
    logdir = str(tmp_path_factory.mktemp("hjepa-browser-logs") / "logs")
    shutil.copytree(standard_logdir, logdir)
    write_level1_collapse(logdir)
    with running_tensorboard(logdir) as proc:
        _wait_for_every_run(proc, expected=len(logs.STANDARD_RUNS) + 2)  # + hostile, level1
        yield proc


def _wait_for_every_run(proc, *, expected, timeout=60.0):
    """TensorBoard loads runs in the background: wait until the tab would list them all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(proc.get_json("/data/plugin/hjepa/runs")["runs"]) >= expected:
            return
        time.sleep(0.5)
    raise RuntimeError("tensorboard did not list %d hjepa runs within %.0f s" % (expected, timeout))


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Chromium not found at %s: the browser tests need Debian's chromium "
            "(apt-get install -y chromium)" % CHROMIUM,
            pytrace=False,
        )
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class PageProbe:
    """What a page did that a test must know: dialogs, uncaught errors, console errors."""

    def __init__(self, page):
        self.dialogs = []
        self.errors = []
        self.console_errors = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.probe = PageProbe(pg)
    try:
        yield pg
        assert pg.probe.dialogs == [], "a dialog opened: script ran (%r)" % pg.probe.dialogs
        assert pg.probe.errors == [], "uncaught errors in the page: %r" % pg.probe.errors
    finally:
        context.close()


@pytest.fixture
def shot():
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def take(pg, name):
        pg.wait_for_timeout(150)  # let the last layout pass settle
        path = os.path.join(SCREENSHOTS, name + ".png")
        pg.screenshot(path=path, full_page=True)
        return path

    return take


def open_tab(pg, tb_proc):
    """Load the tab's page directly and wait until its first view is drawn."""
    pg.goto(tb_proc.url + ENTRY)
    pg.wait_for_selector(".hj-main > :not(.hj-loading)")
    return pg
