"""End-to-end tests of the "H-JEPA Health" tab: a real ``tensorboard`` process on
generated logs, Debian's headless Chromium, and screenshots of every view in
test-artifacts/screenshots/.

What the tab shows is checked against what the backend computed (the ``health``
route of the same process) and against what the generated runs are known to be
(``tests.logs``): the tab must render verdicts, never invent them.
"""

import tempfile
import time
from urllib.parse import quote

import pytest

from tests import logs
from tests.conftest import HOSTILE_RUN
from tests.tb_process import running_tensorboard

from .conftest import ENTRY, LEVEL1_RUN, open_tab

pytestmark = pytest.mark.e2e


def health(tb, run):
    return tb.get_json("/data/plugin/hjepa/health?run=" + quote(run, safe=""))


def open_run(pg, run, view=None):
    """Open `run` from the overview by keyboard (focus its name, press Enter)."""
    button = pg.locator(".hj-run-row", has=pg.locator(".hj-run-text", has_text=run)).locator(
        ".hj-run-name"
    )
    rows = [r for r in pg.locator(".hj-run-row").all() if r.get_attribute("data-run") == run]
    assert rows, "run %r not in the overview" % run
    button = rows[0].locator(".hj-run-name")
    button.focus()
    pg.keyboard.press("Enter")
    pg.wait_for_selector(".hj-layout .hj-view")
    if view:
        pg.click('[data-view="%s"]' % view)
        pg.wait_for_selector('.hj-view[data-view="%s"]' % view)
    return pg


def level_attr(light):
    """A light's level as the tab writes it in data-level ("" for a run-wide light)."""
    return "" if light["level"] is None else str(light["level"])


def lights(pg):
    """(key, level, status, run) of every traffic light on the page."""
    return pg.eval_on_selector_all(
        ".hj-light[data-key]",
        "els => els.map(e => [e.dataset.key, e.dataset.level, e.dataset.status, e.dataset.run])",
    )


def test_tab_appears_in_tensorboard_menu(tb, page, shot):
    page.goto(tb.url + "/#hjepa")
    # TensorBoard lists plugin tabs in its header (or its "more" menu).
    # (textContent: TensorBoard upper-cases tab names with CSS.)
    page.wait_for_function(
        "() => document.body.textContent.includes('H-JEPA Health')", timeout=40000
    )
    frame = page.frame_locator("iframe")
    frame.locator(".hj-run-row").first.wait_for(timeout=40000)
    names = frame.locator(".hj-run-row").evaluate_all("rows => rows.map(r => r.dataset.run)")
    assert "collapsing" in names and "healthy" in names
    shot(page, "00_tensorboard_ui_tab")
    # TensorBoard's reload button reaches the tab (plugin host message
    # "experimental.DataReloaded"): the tab fetches its runs again.
    with page.expect_request(lambda r: "/data/plugin/hjepa/runs" in r.url, timeout=10000):
        page.click("button.reload-button")


def test_overview_lists_runs_with_backend_status(tb, page, shot):
    open_tab(page, tb)
    expected = {r["run"]: r["status"] for r in tb.get_json("/data/plugin/hjepa/runs")["runs"]}
    shown = dict(
        page.eval_on_selector_all(
            ".hj-run-row", "rows => rows.map(r => [r.dataset.run, r.dataset.status])"
        )
    )
    assert shown == expected
    # Generated runs with a known outcome.
    for name, kind, source in logs.STANDARD_RUNS:
        assert shown[name] == logs.expected_status(kind, source), name
    assert "not_hjepa" not in shown  # a run without catalogue tags is not listed
    # Why a run has its status is written beside it (a stuck loss, no light in alert).
    reason = page.locator('.hj-run-row[data-run="stuck"] .hj-status-reason').inner_text()
    assert "loss_stuck" in reason
    # Status is written out, not only coloured.
    row = page.locator('.hj-run-row[data-run="collapsing"]')
    assert "collapse" in row.locator(".hj-status").first.inner_text().lower()
    shot(page, "01_overview")


def test_collapsing_run_shows_collapse_lights_and_branch(tb, page, shot):
    verdict = health(tb, "collapsing")
    open_tab(page, tb)
    open_run(page, "collapsing", "lights")
    shown = lights(page)
    want = sorted(
        (l["key"], level_attr(l), l["status"])
        for l in verdict["lights"]
        if l["category"] == "collapse"
    )
    assert sorted((k, lv, s) for k, lv, s, _ in shown) == want
    collapsed = {(k, lv) for k, lv, s, _ in shown if s == "collapse"}
    assert ("collapse.mean_std_per_dim", "0") in collapsed
    # Every light states its value, its threshold and, where it applies, the rule.
    first = page.locator('.hj-light[data-key="collapse.mean_std_per_dim"][data-level="0"]')
    text = first.inner_text()
    assert "COLLAPSE" in text.upper() and "√D" in text and "<" in text
    assert first.locator("svg.hj-sparkline path").count() == 1
    shot(page, "02_lights_collapsing")

    page.click('[data-view="diagnosis"]')
    page.wait_for_selector(".hj-flow")
    fired = page.eval_on_selector_all(
        ".hj-flow-branch[data-fired=true]", "els => els.map(e => e.dataset.branch)"
    )
    assert "collapse" in fired
    assert sorted(fired) == sorted(b["id"] for b in verdict["flowchart"] if b["fired"])
    branch = page.locator('.hj-flow-branch[data-branch="collapse"]')
    assert branch.locator("details").get_attribute("open") is not None
    assert branch.locator('.hj-check[data-fired="true"]').count() >= 1
    assert branch.locator(".hj-actions li").count() >= 1
    detected = page.eval_on_selector_all(
        ".hj-pattern[data-detected=true]", "els => els.map(e => e.dataset.pattern)"
    )
    assert sorted(detected) == sorted(p["id"] for p in verdict["patterns"] if p["detected"])
    assert page.locator("[data-in-range]").count() == len(verdict["ranges"]["checks"])
    shot(page, "03_diagnosis_collapsing")


def test_collapse_on_one_level_is_shown_on_that_level(tb, page, shot):
    verdict = health(tb, LEVEL1_RUN)
    backend = {
        (l["key"], l["level"])
        for l in verdict["lights"]
        if l["category"] == "collapse" and l["status"] == "collapse"
    }
    assert backend and {level for _, level in backend} == {1}
    open_tab(page, tb)
    open_run(page, LEVEL1_RUN, "lights")
    shown = {(k, int(lv)) for k, lv, s, _ in lights(page) if s == "collapse"}
    assert shown == backend
    row0 = page.eval_on_selector_all(
        '.hj-light[data-level="0"]', "els => els.map(e => e.dataset.status)"
    )
    assert row0 and "collapse" not in row0
    shot(page, "04_lights_level1_collapse")


def test_healthy_run_shows_no_collapse(tb, page, shot):
    open_tab(page, tb)
    open_run(page, "healthy", "lights")
    shown = lights(page)
    assert shown, "no lights drawn"
    assert [s for _, _, s, _ in shown if s in ("collapse", "critical")] == []
    # Every light the tab draws is the backend's, and every judged one is healthy
    # (a light may be unknown by design, e.g. a trend that needs more points).
    verdict = health(tb, "healthy")
    want = sorted(
        (l["key"], level_attr(l), l["status"])
        for l in verdict["lights"]
        if l["category"] == "collapse"
    )
    assert sorted((k, lv, s) for k, lv, s, _ in shown) == want
    assert {s for _, _, s, _ in shown} - {"unknown"} == {"healthy"}
    shot(page, "05_lights_healthy")
    page.click('[data-view="diagnosis"]')
    page.wait_for_selector(".hj-flow")
    assert (
        page.locator('.hj-flow-branch[data-branch="collapse"]').get_attribute("data-fired")
        == "false"
    )


def test_hostile_run_name_is_text_and_runs_no_script(tb, page, shot):
    open_tab(page, tb)
    row = [
        r for r in page.locator(".hj-run-row").all() if r.get_attribute("data-run") == HOSTILE_RUN
    ]
    assert len(row) == 1
    assert row[0].locator(".hj-run-text").inner_text() == HOSTILE_RUN
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    open_run(page, HOSTILE_RUN, "charts")
    page.wait_for_selector(".hj-chart-card svg path.hj-line")
    assert page.locator(".hj-run-head .hj-run-text").inner_text() == HOSTILE_RUN
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    page.click('[data-view="lights"]')
    page.wait_for_selector(".hj-light-grid")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    page.wait_for_timeout(300)
    assert page.probe.dialogs == []
    shot(page, "06_hostile_run_name")


def test_hierarchy_stack_with_expected_shares(tb, page, shot):
    verdict = health(tb, "collapsing")
    contributions = verdict["contributions"]
    open_tab(page, tb)
    open_run(page, "collapsing", "hierarchy")
    card = page.locator(".hj-hier-card").first
    card.locator("svg .hj-stack-area").first.wait_for()
    assert card.locator("svg .hj-stack-area").count() == len(contributions["levels"])
    assert card.locator("svg .hj-ref-line").count() == len(contributions["levels"]) - 1
    assert (
        card.locator(".hj-card-title .hj-status").get_attribute("data-status")
        == contributions["status"]
    )
    # Keyboard hover: focus the chart, arrow keys move the cursor, the tooltip reads shares.
    card.locator(".hj-chart").focus()
    page.keyboard.press("End")
    assert "level 0" in card.locator(".hj-tooltip").inner_text()
    shot(page, "07_hierarchy_collapsing")


def test_charts_overlay_smoothing_log_and_csv(tb, page, shot):
    open_tab(page, tb)
    page.check('.hj-run-row[data-run="healthy"] input[type=checkbox]')
    page.check('.hj-run-row[data-run="diverging"] input[type=checkbox]')
    page.click('[data-action="open-selected"]')
    page.wait_for_selector(".hj-layout")
    page.click('[data-view="charts"]')
    page.click('.hj-tab[data-category="loss"]')
    card = page.locator('.hj-chart-card[data-tag="train/loss/total"]')
    card.locator("path.hj-line").first.wait_for()
    assert card.locator("path.hj-line").count() == 2  # both runs overlaid
    assert card.locator(".hj-legend-item").count() == 2
    # Hover shows values of both runs.
    card.scroll_into_view_if_needed()
    box = card.locator("svg.hj-chart-svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = card.locator(".hj-tooltip")
    assert tip.is_visible() and "step" in tip.inner_text()
    assert "healthy" in tip.inner_text() and "diverging" in tip.inner_text()
    # Smoothing: the raw curve is drawn faintly behind the smoothed one; 0 removes it.
    assert card.locator("path.hj-line-raw").count() == 2
    page.fill(".hj-smoothing input[type=range]", "0")
    page.wait_for_function(
        "() => !document.querySelector("
        "'.hj-chart-card[data-tag=\"train/loss/total\"] path.hj-line-raw')"
    )
    # Log scale toggle redraws the axis.
    card.locator("input[type=checkbox]").set_checked(True)
    card = page.locator('.hj-chart-card[data-tag="train/loss/total"]')
    card.locator("path.hj-line").first.wait_for()
    assert card.locator("input[type=checkbox]").is_checked()
    # CSV download: the chart's rows, from memory (Blob URL), every run.
    with page.expect_download() as info:
        card.locator('[data-action="csv"]').click()
    path = info.value.path()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.strip().splitlines()
    assert lines[0] == "run,tag,step,wall_time,value"
    assert any(l.startswith("healthy,train/loss/total,") for l in lines)
    assert any(l.startswith("diverging,train/loss/total,") for l in lines)
    assert "NaN" in text or "Infinity" in text  # the diverging run ends non-finite
    shot(page, "08_charts_compare_loss")
    # Only the collapsing run (sidebar), collapse curves: the catalogue's bands show
    # where the curves cross into warning and collapse.
    page.check('.hj-side-run[data-run="collapsing"] input')
    page.uncheck('.hj-side-run[data-run="healthy"] input')
    page.uncheck('.hj-side-run[data-run="diverging"] input')
    page.click('.hj-tab[data-category="collapse"]')
    card = page.locator('.hj-chart-card[data-tag="train/collapse/level0_mean_std_per_dim"]')
    card.locator("path.hj-line").first.wait_for()
    assert card.locator(".hj-legend-item").count() == 1
    statuses = card.locator("rect.hj-band").evaluate_all(
        "els => els.map(e => e.dataset.bandStatus)"
    )
    assert "collapse" in statuses and "warning" in statuses
    shot(page, "09_charts_collapse_bands")


def test_compare_runs_side_by_side_in_lights(tb, page, shot):
    open_tab(page, tb)
    page.check('.hj-run-row[data-run="healthy"] input[type=checkbox]')
    page.check('.hj-run-row[data-run="collapsing"] input[type=checkbox]')
    page.click('[data-action="open-selected"]')
    page.click('[data-view="lights"]')
    page.wait_for_selector(".hj-light-grid")
    cell_counts = page.eval_on_selector_all(
        ".hj-light-cell", "cells => cells.map(c => c.querySelectorAll('.hj-light').length)"
    )
    assert cell_counts and set(cell_counts) == {2}
    runs_in_cells = {r for _, _, _, r in lights(page)}
    assert runs_in_cells == {"healthy", "collapsing"}
    shot(page, "10_lights_compare")
    page.click('[data-view="hierarchy"]')
    page.wait_for_selector(".hj-hier-card svg .hj-stack-area")
    assert page.locator(".hj-hier-card").count() == 2
    shot(page, "10b_hierarchy_compare")


def test_stale_answer_of_a_run_left_behind_is_ignored(tb, page):
    # The answer for "collapsing" arrives 1.5 s late, after the user moved on to
    # "healthy" (delayed inside the page, so the test keeps driving it meanwhile).
    page.add_init_script("""
      const realFetch = window.fetch.bind(window);
      window.fetch = (url, opts) => String(url).includes('health?run=collapsing')
        ? new Promise((resolve) => setTimeout(() => resolve(realFetch(url, opts)), 1500))
        : realFetch(url, opts);
    """)
    open_tab(page, tb)
    page.click('.hj-run-row[data-run="collapsing"] .hj-run-name')
    page.wait_for_selector(".hj-loading")
    page.click(".hj-back")
    open_run(page, "healthy", "lights")
    page.wait_for_timeout(2500)
    assert page.locator(".hj-run-head").count() == 1
    assert page.locator(".hj-run-head").get_attribute("data-run") == "healthy"
    assert {r for _, _, _, r in lights(page)} == {"healthy"}


def test_keyboard_reaches_runs_views_and_charts_with_visible_focus(tb, page):
    open_tab(page, tb)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('hj-run-name')"):
            break
    else:
        pytest.fail("Tab never reached a run")
    ring = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring and ring != "none", "focus is not visible"
    page.keyboard.press("Enter")
    page.wait_for_selector(".hj-layout .hj-view")
    tab = page.locator('[data-view="diagnosis"]')
    tab.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.hj-view[data-view="diagnosis"] .hj-flow')
    page.locator('[data-view="charts"]').focus()
    page.keyboard.press("Enter")
    chart = page.locator(".hj-chart").first
    chart.wait_for()
    chart.focus()
    page.keyboard.press("ArrowRight")
    assert "step" in page.locator(".hj-tooltip").first.inner_text()


def test_error_state_when_a_route_fails(tb, page, shot):
    page.route(
        "**/data/plugin/hjepa/runs",
        lambda route: route.fulfill(
            status=500, content_type="application/json", body='{"error": "simulated failure"}'
        ),
    )
    page.goto(tb.url + ENTRY)
    page.wait_for_selector(".hj-error")
    assert "simulated failure" in page.locator(".hj-error").inner_text()
    page.unroute("**/data/plugin/hjepa/runs")
    page.click(".hj-error button")
    page.wait_for_selector(".hj-run-row")
    page.route(
        "**/data/plugin/hjepa/health*",
        lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"error": "unknown run"}'
        ),
    )
    open_run(page, "healthy")
    page.wait_for_selector(".hj-error")
    assert "unknown run" in page.locator(".hj-error").inner_text()
    shot(page, "11_error_state")


def test_empty_logdir_shows_how_to_log(page, shot):
    with tempfile.TemporaryDirectory() as empty:
        with running_tensorboard(empty) as proc:
            page.goto(proc.url + ENTRY)
            page.wait_for_selector(".hj-empty")
            text = page.locator(".hj-empty").inner_text()
            assert "hjepa-train" in text and "SummaryWriter" in text and "add_scalar" in text
            shot(page, "12_empty_state")


def test_a_logdir_of_unrelated_scalars_says_which_tags_it_saw(tmp_path, page):
    from tests import logs

    logs.write_unrelated_run(str(tmp_path))
    with running_tensorboard(str(tmp_path)) as proc:
        deadline = time.monotonic() + 60
        while "hint" not in proc.get_json("/data/plugin/hjepa/runs"):
            assert time.monotonic() < deadline, "the runs answer never carried its hint"
            time.sleep(0.3)
        hint = proc.get_json("/data/plugin/hjepa/runs")["hint"]
        page.goto(proc.url + ENTRY)
        shown = page.locator(".hj-empty .hj-empty-hint")
        shown.wait_for()
        text = shown.inner_text()
        assert hint["tags_seen"][0] in text and "own_training_loop.md" in text
        assert shown.get_attribute("data-tags-seen") == str(hint["tags_seen_count"])
