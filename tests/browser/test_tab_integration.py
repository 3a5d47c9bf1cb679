"""The tab follows TensorBoard: its dark mode, links to a place of the tab (the iframe's
URL hash, back/forward), "what to do first" above the views, and the embedding
dimension D a user types for runs without a manifest.

A real ``tensorboard`` process on generated logs (the ``tb`` fixture of conftest.py)
and Debian's headless Chromium; what the tab shows is checked against the same
process's routes.
"""

import json
import re
import time
from urllib.parse import quote

import pytest

from .conftest import ENTRY
from .test_tab import health, level_attr, lights

pytestmark = pytest.mark.e2e

DARK_BG = "rgb(48, 48, 48)"  # TensorBoard's dark page colour, the tab's too


def luminance(css_rgb):
    r, g, b = (int(v) for v in re.findall(r"\d+", css_rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def tab_frame(page):
    """The tab's iframe inside TensorBoard's page."""
    frame = page.frame_locator("iframe")
    frame.locator(".hj-main > :not(.hj-loading)").first.wait_for(timeout=40000)
    return next(f for f in page.frames if "plugin_entry.html" in f.url)


def goto(page, tb, hash_=""):
    """Open the tab's page afresh at `hash_` (a new document, not a hash navigation)."""
    page.goto("about:blank")
    page.goto(tb.url + ENTRY + hash_)
    page.wait_for_selector(".hj-main > :not(.hj-loading)")


def place(page):
    return page.evaluate("location.hash")


# ---------------------------------------------------------------- theme


def test_dark_when_tensorboard_is_dark_and_follows_its_switch(tb, browser, shot):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(tb.url + "/#hjepa")
        # TensorBoard itself turns dark for a dark browser: `dark-mode` on its <body>.
        page.wait_for_function("() => document.body.classList.contains('dark-mode')", timeout=40000)
        frame = tab_frame(page)
        frame.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
        bg = frame.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg == DARK_BG
        text = frame.evaluate("getComputedStyle(document.querySelector('.hj-bar-title')).color")
        assert luminance(text) > 0.7, text
        shot(page, "20_tensorboard_dark")
        # TensorBoard switched to light (its settings): the tab follows, and back.
        page.evaluate("document.body.classList.remove('dark-mode')")
        frame.wait_for_function("() => document.documentElement.dataset.theme === 'light'")
        assert luminance(frame.evaluate("getComputedStyle(document.body).backgroundColor")) > 0.9
        page.evaluate("document.body.classList.add('dark-mode')")
        frame.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
        assert frame.evaluate("getComputedStyle(document.body).backgroundColor") == DARK_BG
    finally:
        context.close()


def test_tab_on_its_own_follows_the_browser_colour_scheme(tb, page, shot):
    page.emulate_media(color_scheme="dark")
    goto(page, tb, "#run=collapsing&view=lights")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == DARK_BG
    # Every light still says its status in words, and the light cards are dark too.
    card_bg = page.evaluate("getComputedStyle(document.querySelector('.hj-light')).backgroundColor")
    assert luminance(card_bg) < 0.3, card_bg
    shot(page, "21_lights_dark")
    page.emulate_media(color_scheme="light")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'light'")
    assert luminance(page.evaluate("getComputedStyle(document.body).backgroundColor")) > 0.9


# ---------------------------------------------------------------- URL hash


def test_deep_link_opens_runs_view_and_category(tb, page, shot):
    goto(page, tb, "#run=collapsing&run=healthy&view=charts&category=collapse")
    page.wait_for_selector(".hj-chart-card path.hj-line")
    assert page.eval_on_selector_all(".hj-run-head", "els => els.map(e => e.dataset.run)") == [
        "collapsing",
        "healthy",
    ]
    assert page.get_attribute(".hj-tab-active[data-view]", "data-view") == "charts"
    assert page.get_attribute(".hj-tab-active[data-category]", "data-category") == "collapse"
    want = {
        t["tag"]
        for run in ("collapsing", "healthy")
        for t in health(tb, run)["tags"]
        if t["category"] == "collapse"
    }
    assert (
        set(page.eval_on_selector_all(".hj-chart-card", "els => els.map(e => e.dataset.tag)"))
        == want
    )
    assert (
        page.locator(
            '.hj-chart-card[data-tag="train/collapse/level0_mean_std_per_dim"] .hj-legend-item'
        ).count()
        == 2
    )
    shot(page, "22_deep_link")


def test_navigation_is_in_the_hash_and_back_forward_walk_it(tb, page):
    goto(page, tb)
    assert place(page) == ""
    page.click('.hj-run-row[data-run="collapsing"] .hj-run-name')
    page.wait_for_selector(".hj-layout .hj-view")
    assert place(page) == "#run=collapsing&view=lights"
    page.click('[data-view="charts"]')
    page.click('.hj-tab[data-category="loss"]')
    page.wait_for_selector('.hj-chart-card[data-tag="train/loss/total"] path.hj-line')
    assert place(page) == "#run=collapsing&view=charts&category=loss"
    page.check('.hj-side-run[data-run="healthy"] input')
    page.wait_for_selector('.hj-run-head[data-run="healthy"]')
    assert place(page) == "#run=collapsing&run=healthy&view=charts&category=loss"

    back(page, "#run=collapsing&view=charts&category=loss")
    assert page.locator(".hj-run-head").count() == 1
    back(page, "#run=collapsing&view=charts")
    back(page, "#run=collapsing&view=lights")
    page.wait_for_selector('.hj-view[data-view="lights"]')
    back(page, "")
    page.wait_for_selector(".hj-run-row")
    page.evaluate("history.forward()")
    page.wait_for_selector('.hj-run-head[data-run="collapsing"]')
    assert page.get_attribute(".hj-tab-active[data-view]", "data-view") == "lights"


def back(page, expected_prefix):
    """The browser's back button; wait until the tab's hash is the expected place."""
    page.evaluate("history.back()")
    page.wait_for_function(
        "(p) => p ? location.hash.startsWith(p) : location.hash === ''", arg=expected_prefix
    )


def test_copied_link_reopens_the_same_place(tb, browser, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tb.url)
    goto(page, tb, "#run=diverging&view=charts&category=gradient")
    page.wait_for_selector(".hj-chart-card path.hj-line")
    page.click('[data-action="copy-link"]')
    page.wait_for_selector('[data-notice="link"]')
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.evaluate("location.href")
    assert link == tb.url + ENTRY + "#run=diverging&view=charts&category=gradient"
    other = page.context.new_page()
    other.goto(link)
    other.wait_for_selector(".hj-chart-card path.hj-line")
    assert other.get_attribute(".hj-run-head", "data-run") == "diverging"
    assert other.get_attribute(".hj-tab-active[data-category]", "data-category") == "gradient"
    other.close()


def test_inside_tensorboard_the_iframe_keeps_the_place_and_back_works(tb, page):
    page.goto(tb.url + "/#hjepa")
    frame = tab_frame(page)
    frame.click('.hj-run-row[data-run="collapsing"] .hj-run-name')
    frame.wait_for_selector(".hj-layout .hj-view")
    frame.click('[data-view="diagnosis"]')
    frame.wait_for_selector('.hj-view[data-view="diagnosis"] .hj-flow')
    assert frame.evaluate("location.hash") == "#run=collapsing&view=diagnosis"
    assert page.evaluate("location.hash") == "#hjepa"  # TensorBoard's own URL is left alone
    page.evaluate("history.back()")  # TensorBoard's page: the browser's back button
    frame.wait_for_selector('.hj-view[data-view="lights"]')
    page.evaluate("history.back()")
    frame.wait_for_selector(".hj-run-row")
    assert page.evaluate("location.hash") == "#hjepa"


def test_malformed_or_stale_links_open_what_they_can(tb, page, shot):
    goto(page, tb, "#run=%E0%A4%A&view=nope&run=collapsing&dim=abc&bogus=1")
    page.wait_for_selector('.hj-run-head[data-run="collapsing"]')
    assert page.get_attribute(".hj-tab-active[data-view]", "data-view") == "lights"
    note = page.locator('[data-notice="hash"]').inner_text()
    assert "left out" in note and "nope" in note and "abc" in note and "bogus" in note
    assert place(page) == "#run=collapsing&view=lights"  # the link rewritten to what was read
    shot(page, "23_malformed_link")
    goto(page, tb, "#run=no_such_run&view=charts")
    page.wait_for_selector(".hj-run-row")
    assert "no_such_run" in page.locator('[data-notice="unknown-runs"]').inner_text()
    goto(page, tb, "#%%%&&&==&run=")
    page.wait_for_selector(".hj-run-row")


# ---------------------------------------------------------------- what to do first


def fired_evidence(item, kind):
    lists = ("triggers", "checks") if kind == "branch" else ("symptoms", "any_symptoms", "evidence")
    return [c for name in lists for c in (item.get(name) or []) if c.get("fired") is True]


@pytest.mark.parametrize("run", ["collapsing", "diverging"])
def test_run_header_says_what_to_do_first(tb, page, shot, run):
    verdict = health(tb, run)
    want = [
        ("branch", b["id"], b["actions"][0], fired_evidence(b, "branch"))
        for b in verdict["flowchart"]
        if b.get("fired") and b.get("applicable") is not False
    ]
    want += [
        ("pattern", p["id"], p["fix"], fired_evidence(p, "pattern"))
        for p in verdict["patterns"]
        if p.get("detected")
    ]
    assert want, "the generated %s run fires no branch and no pattern" % run
    goto(page, tb, "#run=%s&view=charts" % run)
    page.wait_for_selector(".hj-chart-card path.hj-line")  # the view drawn, not its loading state
    head = page.locator('.hj-run-head[data-run="%s"]' % run)
    head.locator(".hj-todo").wait_for()
    shown = page.eval_on_selector_all(
        '.hj-run-head[data-run="%s"] .hj-todo-item' % run,
        "els => els.map(e => [e.dataset.kind, e.dataset.branch || e.dataset.pattern,"
        " e.querySelector('.hj-todo-action').textContent.replace(/^→ /, ''),"
        " Array.from(e.querySelectorAll('li[data-check]')).map(l => [l.dataset.check,"
        " l.querySelector('.hj-todo-detail').textContent])])",
    )
    assert [tuple(s[:3]) for s in shown] == [w[:3] for w in want]
    # It leads with the action of the strongest evidence, and says which evidence.
    first = verdict["first_action"]
    do_first = head.locator(".hj-todo-do-first")
    assert do_first.get_attribute("data-evidence") == first["evidence"]
    assert (
        do_first.locator(".hj-todo-do-first-action").inner_text().lstrip("→ ").strip()
        == (first["action"])
    )
    assert first["answers"] in do_first.locator(".hj-todo-answers").inner_text()
    for (_, _, _, evidence), (_, _, _, checks) in zip(shown, want):
        assert evidence == [[c["id"], c["detail"]] for c in checks][:4]
    # The first item's evidence is open; it sits above the view tabs.
    assert head.locator(".hj-todo-first details").get_attribute("open") is not None
    todo_y = head.locator(".hj-todo").bounding_box()["y"]
    assert todo_y < page.locator('.hj-tabs[aria-label="views"]').bounding_box()["y"]
    shot(page, "24_what_to_do_first_%s" % run)


def test_a_run_in_trouble_names_its_last_healthy_checkpoint(tb, page):
    verdict = health(tb, "collapsing")
    assert verdict["status"] != "healthy" and verdict["healthy_checkpoint_step"] is not None
    goto(page, tb, "#run=collapsing&view=lights")
    line = page.locator('.hj-run-head[data-run="collapsing"] .hj-healthy-checkpoint')
    line.wait_for()
    assert "last healthy checkpoint: step %s" % format(verdict["healthy_checkpoint_step"], ",") in (
        line.inner_text()
    )
    goto(page, tb, "#run=healthy&view=lights")
    page.wait_for_selector(".hj-light-grid")
    assert page.locator(".hj-healthy-checkpoint").count() == 0  # nothing to go back to


def stretches(points):
    """The timeline's points merged by status: [(status, first step, last step)]."""
    out = []
    for p in points:
        if out and out[-1][0] == p["status"]:
            out[-1] = (p["status"], out[-1][1], p["step"])
        else:
            out.append((p["status"], p["step"], p["step"]))
    return out


def test_the_run_header_shows_the_verdict_through_the_run(tb, page, shot):
    tl = health(tb, "collapsing")["timeline"]
    problem = tl["first_problem"]
    assert problem is not None and tl["healthy_until"] is not None
    goto(page, tb, "#run=collapsing&view=lights")
    strip = page.locator('.hj-run-head[data-run="collapsing"] .hj-timeline')
    strip.wait_for()
    assert strip.get_attribute("data-healthy-until") == str(tl["healthy_until"])
    segments = page.eval_on_selector_all(
        '.hj-run-head[data-run="collapsing"] .hj-timeline-segment',
        "els => els.map(e => [e.dataset.status, +e.dataset.start, +e.dataset.to,"
        " e.getBoundingClientRect().width, getComputedStyle(e).backgroundColor])",
    )
    assert [tuple(s[:3]) for s in segments] == stretches(tl["points"])
    colour = {status: bg for status, _, _, _, bg in segments}
    assert colour["healthy"] != colour[problem["status"]]  # the trouble stands out
    # Widths follow the steps each stretch covers.
    span = tl["points"][-1]["step"] - tl["points"][0]["step"]
    total = sum(s[3] for s in segments)
    for i, (_, start, to, width, _) in enumerate(segments):
        begin = segments[i - 1][2] if i else start
        assert abs(width / total - (to - begin) / span) < 0.03
    summary = strip.locator(".hj-timeline-summary").inner_text()
    assert tl["summary"] in summary and "healthy until step %d" % tl["healthy_until"] in summary
    views = page.locator('.hj-tabs[aria-label="views"]')
    assert strip.bounding_box()["y"] < views.bounding_box()["y"]  # above the views
    # Each collapse light says when it first left healthy.
    firsts = {(x["key"], x["level"]): x for x in tl["lights"]}
    first = firsts[("collapse.mean_similarity", 0)]
    note = page.locator(
        '.hj-light[data-key="collapse.mean_similarity"][data-level="0"] .hj-left-healthy-note'
    )
    assert note.get_attribute("data-step") == str(first["step"])
    assert "left healthy at step %s" % format(first["step"], ",") in note.inner_text()
    shot(page, "26_timeline_collapsing")
    # Each chart marks that step with a dashed line, and says it in its legend.
    goto(page, tb, "#run=collapsing&view=charts&category=collapse")
    page.wait_for_selector(".hj-chart-card path.hj-line")
    tag = next(
        x["tag"]
        for x in health(tb, "collapsing")["lights"]
        if x["key"] == "collapse.mean_similarity" and x["level"] == 0
    )
    card = page.locator('.hj-chart-card[data-tag="%s"]' % tag)
    assert card.locator("line.hj-left-healthy").get_attribute("data-step") == str(first["step"])
    assert "left healthy at step" in card.locator(".hj-left-healthy-note").inner_text()
    marked = page.eval_on_selector_all(
        ".hj-chart-card", "els => els.filter(e => e.querySelector('line.hj-left-healthy')).length"
    )
    assert marked == len(
        {(x["key"], x["level"]) for x in tl["lights"] if x["key"].startswith("collapse.")}
        & {(x["key"], x["level"]) for x in health(tb, "collapsing")["tags"]}
    )


def test_a_healthy_run_shows_a_healthy_strip_and_no_marks(tb, page):
    tl = health(tb, "healthy")["timeline"]
    assert tl["first_problem"] is None and tl["lights"] == []
    goto(page, tb, "#run=healthy&view=charts&category=collapse")
    page.wait_for_selector(".hj-chart-card path.hj-line")
    strip = page.locator('.hj-run-head[data-run="healthy"] .hj-timeline')
    assert "no warning or worse at any judged step" in strip.inner_text()
    statuses = page.eval_on_selector_all(
        ".hj-timeline-segment", "els => els.map(e => e.dataset.status)"
    )
    assert "healthy" in statuses and not {"warning", "collapse", "critical"} & set(statuses)
    assert page.locator("line.hj-left-healthy").count() == 0


def numbers(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


@pytest.mark.parametrize(
    "key, category, drawn_near",
    [
        ("prediction.cosine_sim_mean", "prediction", True),
        ("collapse.effective_rank", "collapse", False),
    ],
)
def test_chart_bands_are_the_runs_light_bands_with_their_numbers(
    tb, page, key, category, drawn_near
):
    # The cosine bound follows training progress, the rank's is a fraction of min(N, D)
    # with a floor in directions: the light carries both resolved for this run.
    light = next(x for x in health(tb, "healthy")["lights"] if x["key"] == key and x["level"] == 0)
    factor = light["value"] / light["judged_value"]
    goto(page, tb, "#run=healthy&view=charts&category=%s" % category)
    card = page.locator('.hj-chart-card[data-tag="%s"]' % light["tag"])
    card.locator("path.hj-line").first.wait_for()
    legend = card.locator(".hj-band-key")
    assert legend.count() == len(light["bands"])
    for i, band in enumerate(light["bands"]):
        item = legend.nth(i)
        assert item.get_attribute("data-status") == band["status"]
        text = item.inner_text()
        assert "—" not in text and band["op"] in text
        shown = numbers(text)
        assert shown[0] == pytest.approx(band["bound"], rel=2e-3)  # as judged
        if abs(factor - 1) > 1e-9:  # and in the curve's units
            assert shown[1] == pytest.approx(band["bound"] * factor, rel=2e-3)
    # Drawn where it lies near the curve (the healthy rank's bands are far below it).
    drawn = card.locator("rect.hj-band")
    statuses = {drawn.nth(i).get_attribute("data-band-status") for i in range(drawn.count())}
    assert statuses <= {b["status"] for b in light["bands"]}
    assert bool(statuses) == drawn_near


def test_quiet_run_has_no_todo(tb, page):
    verdict = health(tb, "healthy")
    assert not any(b.get("fired") for b in verdict["flowchart"])
    assert not any(p.get("detected") for p in verdict["patterns"])
    goto(page, tb, "#run=healthy&view=lights")
    page.wait_for_selector(".hj-light-grid")
    assert page.locator(".hj-todo").count() == 0


# ---------------------------------------------------------------- embedding dimension


def collapse_lights(verdict):
    return sorted(
        (l["key"], level_attr(l), l["status"])
        for l in verdict["lights"]
        if l["category"] == "collapse"
    )


def judged(verdict):
    """(key, level, judged value to 3 digits or None) of the dimension-relative lights."""
    return sorted(
        (l["key"], level_attr(l), None if l["judged_value"] is None else "%.3g" % l["judged_value"])
        for l in verdict["lights"]
        if l.get("normalise") not in (None, "none")
    )


def shown_judged(page):
    rows = page.eval_on_selector_all(
        ".hj-light[data-key]",
        "els => els.map(e => [e.dataset.key, e.dataset.level,"
        " e.querySelector('.hj-light-value').textContent])",
    )
    out = []
    for key, level, text in rows:
        m = re.search(r"judged ([0-9.e-]+)", text)
        out.append((key, level, m.group(1) if m else None))
    return out


def test_typed_embedding_dimension_judges_a_run_without_manifest(tb, page, shot):
    run = "plain_healthy"
    base = health(tb, run)
    assumed = tb.get_json("/data/plugin/hjepa/health?run=%s&embed_dim=192" % quote(run))
    assert base["embed_dim"] is None and base["embed_dim_source"] is None
    assert assumed["embed_dim"] == 192 and assumed["embed_dim_source"] == "user"
    # Without D the dimension-relative lights cannot be judged as value x sqrt(D) etc.
    assert judged(base) != judged(assumed) and all(v is None for _, _, v in judged(base))

    goto(page, tb, "#run=%s&view=lights" % run)
    head = page.locator('.hj-run-head[data-run="%s"]' % run)
    assert head.locator(".hj-dim-info").inner_text() == "D unknown"
    if base["dim_note"]:
        assert head.locator(".hj-dim-note").inner_text() == base["dim_note"]
    assert sorted((k, lv, s) for k, lv, s, _ in lights(page)) == collapse_lights(base)
    assert sorted(
        r for r in shown_judged(page) if r[:2] in {j[:2] for j in judged(base)}
    ) == judged(base)

    with page.expect_request(lambda r: "/runs?embed_dim=192" in r.url):
        with page.expect_request(lambda r: "health?run=%s&embed_dim=192" % run in r.url):
            page.fill(".hj-dim-input", "192")
            page.press(".hj-dim-input", "Enter")
    page.wait_for_selector('.hj-run-head .hj-dim-info[data-dim-source="user"]')
    assert head.locator(".hj-dim-info").inner_text() == "D=192 (assumed: typed in this tab)"
    assert head.locator(".hj-dim-note").inner_text() == assumed["dim_note"]
    assert sorted((k, lv, s) for k, lv, s, _ in lights(page)) == collapse_lights(assumed)
    assert sorted(
        r for r in shown_judged(page) if r[:2] in {j[:2] for j in judged(assumed)}
    ) == judged(assumed)
    assert place(page) == "#run=%s&view=lights&dim=192" % run
    shot(page, "25_dim_assumed")

    # A reload (or the link) keeps the assumption.
    page.reload()
    page.wait_for_selector('.hj-run-head .hj-dim-info[data-dim-source="user"]')
    assert page.input_value(".hj-dim-input") == "192"
    assert sorted((k, lv, s) for k, lv, s, _ in lights(page)) == collapse_lights(assumed)

    # The overview says which runs are judged at the typed D; a manifest D wins.
    page.click(".hj-back")
    page.wait_for_selector(".hj-run-row")
    assert (
        page.get_attribute('.hj-run-row[data-run="%s"] .hj-dim-cell' % run, "data-dim-source")
        == "user"
    )
    assert "assumed" in page.locator('.hj-run-row[data-run="%s"] .hj-dim-cell' % run).inner_text()
    assert (
        page.get_attribute('.hj-run-row[data-run="healthy"] .hj-dim-cell', "data-dim-source")
        == "manifest"
    )
    page.click('.hj-run-row[data-run="healthy"] .hj-run-name')
    page.wait_for_selector('.hj-run-head[data-run="healthy"] .hj-dim-info')
    assert (
        page.locator(".hj-dim-info").inner_text()
        == "D=%d (run manifest)" % health(tb, "healthy")["embed_dim"]
    )

    # Not a D: said beside the field, nothing requested, the assumption kept.
    asked = []
    page.on(
        "request",
        lambda r: "embed_dim=" in r.url and "embed_dim=192" not in r.url and asked.append(r.url),
    )
    page.fill(".hj-dim-input", "12.5")
    page.press(".hj-dim-input", "Enter")
    assert "positive whole number" in page.locator(".hj-dim-message").inner_text()
    page.wait_for_timeout(300)
    assert asked == [] and "dim=192" in place(page)

    # Cleared: judged without a D again.
    page.click('[data-action="dim-clear"]')
    page.wait_for_function("() => !location.hash.includes('dim=')")
    page.click('.hj-side-run[data-run="%s"] input' % run)
    page.uncheck('.hj-side-run[data-run="healthy"] input')
    page.wait_for_function("() => document.querySelectorAll('.hj-run-head').length === 1")
    page.wait_for_selector('.hj-run-head[data-run="%s"]' % run)
    assert page.locator(".hj-dim-info").inner_text() == "D unknown"


def test_a_d_the_routes_refuse_is_said_and_dropped(tb, page):
    status, _, body = tb.get("/data/plugin/hjepa/runs?embed_dim=100000")
    assert status == 400
    goto(page, tb, "#run=plain_healthy&view=lights&dim=100000")
    page.wait_for_function("() => !location.hash.includes('dim=')")
    message = page.locator(".hj-dim-message").inner_text()
    assert "refused" in message and json.loads(body)["error"].split(":")[0] in message
    page.wait_for_selector('.hj-run-head[data-run="plain_healthy"]')
    assert page.locator(".hj-dim-info").inner_text() == "D unknown"


# ---------------------------------------------------------------- reloads


def test_reload_of_an_idle_run_keeps_its_curves_and_the_reload_button_fetches_all(tb, page):
    page.goto(tb.url + "/#hjepa")
    frame = tab_frame(page)
    frame.evaluate("(h) => { location.hash = h; }", "#run=healthy&view=charts&category=loss")
    frame.wait_for_selector('.hj-chart-card[data-tag="train/loss/total"] path.hj-line')
    asked = []
    page.on(
        "request",
        lambda r: (
            "/data/plugin/hjepa/" in r.url and asked.append(r.url.split("/data/plugin/hjepa/")[1])
        ),
    )
    # TensorBoard's reload: the runs and the verdict again, no curve of a run that did not move.
    with page.expect_request(
        lambda r: "/data/plugin/hjepa/health?run=healthy" in r.url, timeout=10000
    ):
        page.click("button.reload-button")
    frame.wait_for_selector('.hj-chart-card[data-tag="train/loss/total"] path.hj-line')
    page.wait_for_timeout(500)
    assert any(a.startswith("runs") for a in asked)
    assert not any(a.startswith("scalars") for a in asked), asked
    # The tab's own Reload button fetches every curve again.
    with page.expect_request(
        lambda r: "/data/plugin/hjepa/scalars?run=healthy" in r.url, timeout=10000
    ):
        frame.click('button[aria-label="reload data"]')
    frame.wait_for_selector('.hj-chart-card[data-tag="train/loss/total"] path.hj-line')


def test_a_run_with_an_unreadable_manifest_says_so_in_its_header(tmp_path, page):
    from tests import logs
    from tests.tb_process import running_tensorboard
    from tests.test_plugin_routes import _write_bad_manifest

    logdir = str(tmp_path)
    _write_bad_manifest(logs.write_run(logdir, "run", "healthy", source="plain", steps=200), b"x")
    with running_tensorboard(logdir) as proc:
        deadline = time.monotonic() + 60
        while not proc.get_json("/data/plugin/hjepa/runs")["runs"]:
            assert time.monotonic() < deadline, "tensorboard did not list the run"
            time.sleep(0.3)
        (note,) = health(proc, "run")["notes"]
        page.goto(proc.url + ENTRY + "#run=run&view=lights")
        shown = page.locator('.hj-run-head[data-run="run"] .hj-run-note')
        shown.wait_for()
        assert shown.inner_text().strip() == note and "manifest" in note
