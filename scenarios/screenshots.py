"""Screenshots of the H-JEPA tab on real scenario runs (for the README and scenarios/README.md).

    python -m scenarios.screenshots LOGDIR [--out docs/images] [--only runs|integration|timeline]

LOGDIR holds scenario runs (``python -m scenarios --fast --logdir LOGDIR``). A real
``tensorboard`` process serves it and Debian's headless Chromium (/usr/bin/chromium,
driven by Playwright) opens the tab on each run: the lights view and the diagnosis view
(``runs``), and, for the integration with TensorBoard (``integration``), the tab inside
TensorBoard's page in its light and its dark mode (tab_light.png, tab_dark.png) and the
tab opened by a deep link on the collapse charts of both runs (tab_deep_link.png);
and the health timeline of each run, light and dark (``timeline``:
tab_timeline_<run>_<theme>.png).
Each PNG is a viewport shot (not the full page) so it stays small.
"""

import argparse
import contextlib
import os
import sys
import time

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, ENTRY


def _open_run(pg, run, view):
    rows = [r for r in pg.locator(".hj-run-row").all() if r.get_attribute("data-run") == run]
    if not rows:
        raise SystemExit("run %r not in the tab's overview" % run)
    rows[0].locator(".hj-run-name").click()
    pg.wait_for_selector(".hj-layout .hj-view")
    pg.click('[data-view="%s"]' % view)
    pg.wait_for_selector('.hj-view[data-view="%s"]' % view)
    pg.wait_for_timeout(400)


def take(logdir, out, runs=("healthy", "collapse"), views=("lights", "diagnosis")):
    os.makedirs(out, exist_ok=True)
    paths = []
    with _tab(logdir, runs) as (tb, browser):
        for run in runs:
            for view in views:
                context = browser.new_context(viewport={"width": 1200, "height": 820})
                pg = context.new_page()
                pg.set_default_timeout(30000)
                pg.goto(tb.url + ENTRY)
                pg.wait_for_selector(".hj-main > :not(.hj-loading)")
                _open_run(pg, run, view)
                path = os.path.join(out, "tab_%s_%s.png" % (run, view))
                pg.screenshot(path=path, full_page=False)
                paths.append(path)
                context.close()
    return paths


@contextlib.contextmanager
def _tab(logdir, runs):
    """(tensorboard, browser): a real tensorboard on ``logdir`` once it lists ``runs``,
    and Debian's headless Chromium; both stopped on the way out."""
    from playwright.sync_api import sync_playwright

    from tests.tb_process import running_tensorboard

    with running_tensorboard(logdir) as tb, sync_playwright() as p:
        deadline = time.monotonic() + 60
        while len(tb.get_json("/data/plugin/hjepa/runs")["runs"]) < len(runs):
            if time.monotonic() > deadline:
                raise SystemExit("tensorboard did not list the runs")
            time.sleep(0.5)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield tb, browser
        finally:
            browser.close()


def deep_link(runs, view, category=None):
    """The tab's own address at a place (see frontend/lib/hash.js)."""
    parts = (
        ["run=%s" % r for r in runs]
        + ["view=%s" % view]
        + (["category=%s" % category] if category else [])
    )
    return ENTRY + "#" + "&".join(parts)


def take_integration(logdir, out, runs=("collapse", "healthy")):
    """The tab in TensorBoard's light and dark page, and opened by a deep link."""
    os.makedirs(out, exist_ok=True)
    paths = []
    with _tab(logdir, runs) as (tb, browser):
        for scheme in ("light", "dark"):
            # TensorBoard follows the browser's colour scheme; the tab follows TensorBoard.
            context = browser.new_context(
                viewport={"width": 1200, "height": 820}, color_scheme=scheme
            )
            pg = context.new_page()
            pg.set_default_timeout(40000)
            pg.goto(tb.url + "/#hjepa")
            pg.frame_locator("iframe").locator(".hj-run-row").first.wait_for()
            frame = next(f for f in pg.frames if "plugin_entry.html" in f.url)
            frame.evaluate("(h) => { location.hash = h; }", "#run=%s&view=lights" % runs[0])
            frame.wait_for_selector('.hj-view[data-view="lights"] .hj-light')
            frame.wait_for_function(
                "(t) => document.documentElement.dataset.theme === t", arg=scheme
            )
            pg.wait_for_timeout(600)
            path = os.path.join(out, "tab_%s.png" % scheme)
            pg.screenshot(path=path, full_page=False)
            paths.append(path)
            context.close()
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(40000)
        pg.goto(tb.url + deep_link(runs, "charts", "collapse"))
        pg.wait_for_selector(".hj-chart-card path.hj-line")
        pg.wait_for_timeout(600)
        path = os.path.join(out, "tab_deep_link.png")
        pg.screenshot(path=path, full_page=False)
        paths.append(path)
        context.close()
    return paths


def take_timeline(logdir, out, runs=("healthy", "collapse")):
    """The health timeline (the strip in the run header, the charts' marks) of each run,
    in the light and the dark theme: tab_timeline_<run>_<theme>.png."""
    os.makedirs(out, exist_ok=True)
    paths = []
    with _tab(logdir, runs) as (tb, browser):
        for run in runs:
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 1200, "height": 900}, color_scheme=scheme
                )
                pg = context.new_page()
                pg.set_default_timeout(40000)
                pg.goto(tb.url + deep_link([run], "charts", "collapse"))
                pg.wait_for_selector(".hj-run-head .hj-timeline-segment")
                pg.wait_for_selector(".hj-chart-card path.hj-line")
                pg.wait_for_timeout(600)
                path = os.path.join(out, "tab_timeline_%s_%s.png" % (run, scheme))
                pg.screenshot(path=path, full_page=False)
                paths.append(path)
                context.close()
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m scenarios.screenshots")
    parser.add_argument("logdir")
    parser.add_argument("--out", default=os.path.join("docs", "images"))
    parser.add_argument(
        "--only",
        choices=("runs", "integration", "timeline"),
        default=None,
        help="only the per-run views, the TensorBoard integration shots, or the health "
        "timeline shots",
    )
    args = parser.parse_args(argv)
    paths = []
    if args.only in (None, "runs"):
        paths += take(args.logdir, args.out)
    if args.only in (None, "integration"):
        paths += take_integration(args.logdir, args.out)
    if args.only in (None, "timeline"):
        paths += take_timeline(args.logdir, args.out)
    for path in paths:
        print("%s %d KB" % (path, os.path.getsize(path) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
