"""Benchmark: how fast the tab's charts answer, one command.

    .venv/bin/python -m benchmarks.tab [--steps 100000] [--small 1000] [--runs 4]
        [--hovers 300] [--redraws 15] [--logdir DIR] [--json FILE]

A logdir (cached under ``$TMPDIR/hjepa-tab-bench-v<VERSION>-<runs>x<steps>-<small>``)
holds ``runs`` runs of ``steps`` steps (``long_<i>``) and as many of ``small`` steps
(``short_<i>``), written with the project's own ``summary.SummaryWriter`` and run
manifest: the catalogue's every-step loss metrics (``loss.total`` and ``loss.level`` of
two levels), a decaying noisy loss with a few spikes and a NaN. One real ``tensorboard
--logdir X --port 0 --samples_per_plugin=hjepa=0`` serves both (every point kept), and
Debian's headless Chromium (Playwright) opens the tab by deep link on the charts of the
loss category in two pages, one on the long runs and one on the short ones: 3 charts of
4 curves each. The same events are timed on both pages in turn, sample by sample, so a
burst of load on a shared machine hits both sizes alike and the ratio holds.

Printed, per size, as median and 95th percentile in ms, and as the ratio long/short
measured in the same run:
- hover: a ``mousemove`` dispatched on the total-loss chart, until the next animation
  frame callback (with a forced layout there, so the tooltip's style and layout are
  counted). The same measure on an element with no listener gives the frame wait alone
  (in headless Chromium a frame comes every ~16.7 ms, so even no work reads ~8 ms);
- redraw after a smoothing change (the slider's ``input`` event; every chart redrawn),
  a log-scale toggle (one chart) and a run toggle (one run unticked or ticked in the
  sidebar: the view rebuilt from cached curves), each until the frame that shows it;
- the SVG path text the page holds (what the browser parses and rasterises).

The tab's own 30-second auto-reload is switched off in the benchmark's page (an init
script turns long setInterval timers into no-ops), so no reload lands between samples.

The goal: hover < 16 ms and redraw < 100 ms at 100,000 points.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, ENTRY
from tests.tb_process import TensorBoardProcess

VERSION = 1  # bump when the generated logdir changes
CATEGORY = "loss"
LEVELS = 2
CHART = "train/loss/total"  # the chart hovered and toggled: the catalogue's loss.total tag


def _curve(steps, seed, level=None):
    """A JEPA-like loss: fast drop, slow decay, noise, a few spikes, one NaN."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps, dtype=np.float64) / max(1, steps - 1)
    scale = 1.0 if level is None else 0.6**level
    y = scale * (0.15 + 0.8 * np.exp(-8 * t) + 0.05 * np.exp(-1.5 * t))
    y = y * (1 + 0.04 * rng.standard_normal(steps))
    for i in rng.choice(steps, size=max(1, steps // 20000), replace=False):
        y[i] *= 4.0  # a spike the thinning must keep
    y[steps * 3 // 4] = np.nan
    return y


def _write_run(path, steps, seed):
    manifest = RunManifest(
        num_levels=LEVELS, hierarchy_weights=[1.0, 0.5][:LEVELS], embed_dim=192, total_steps=steps
    )
    levels = [_curve(steps, seed * 10 + 1 + lv, level=lv) for lv in range(LEVELS)]
    total = sum(w * lv for w, lv in zip([1.0, 0.5], levels))
    wall0 = 1_700_000_000.0
    with SummaryWriter(path, manifest=manifest, flush_secs=600, max_queue=100000) as writer:
        for step in range(steps):
            wall = wall0 + 0.5 * step
            writer.scalar("loss.total", float(total[step]), step, wall_time=wall)
            for lv in range(LEVELS):
                writer.scalar("loss.level", float(levels[lv][step]), step, level=lv, wall_time=wall)


def make_logdir(runs, steps, small, where=None):
    """The benchmark's logdir (generated once, then reused)."""
    path = where or os.path.join(
        tempfile.gettempdir(), "hjepa-tab-bench-v%d-%dx%d-%d" % (VERSION, runs, steps, small)
    )
    done = os.path.join(path, ".complete")
    if os.path.exists(done):
        return path
    shutil.rmtree(path, ignore_errors=True)
    started = time.monotonic()
    for i in range(runs):
        _write_run(os.path.join(path, "long_%d" % i), steps, seed=i)
        _write_run(os.path.join(path, "short_%d" % i), small, seed=100 + i)
    open(done, "w").close()
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    print(
        "generated %s: %d x %d + %d x %d steps, %.0f MB, in %.0f s"
        % (path, runs, steps, runs, small, size / 1e6, time.monotonic() - started),
        flush=True,
    )
    return path


def _wait_loaded(tb, names, steps, timeout=900):
    """Until the runs route lists every run at its last step (TensorBoard loads in the
    background)."""
    deadline = time.monotonic() + timeout
    want = dict(zip(names, steps))
    while time.monotonic() < deadline:
        status, _, body = tb.get("/data/plugin/hjepa/runs", timeout=300)
        if status == 200:
            rows = {r["run"]: r.get("last_step") for r in json.loads(body)["runs"]}
            if all(rows.get(n) == s - 1 for n, s in want.items()):
                return
        time.sleep(1.0)
    raise RuntimeError("tensorboard did not load the runs within %.0f s" % timeout)


# Installed in each page: one function per kind of event, each timing ONE event with
# performance.now(), from dispatch to the next requestAnimationFrame callback after a
# forced layout. Python calls them in turn on the two pages (1,000 and 100,000 points),
# sample by sample, so a burst of load on the shared machine hits both sizes alike.
_BENCH_JS = """
(chartTag) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const settle = () => new Promise((r) => setTimeout(r, 20));
  const layout = () => document.body.getBoundingClientRect();
  const card = () => document.querySelector(`.hj-chart-card[data-tag="${chartTag}"]`);
  const legend = () => card().querySelectorAll('.hj-legend-item').length;
  const idle = document.createElement('div');
  document.body.appendChild(idle);
  let full = 0;
  const timeOne = async (act) => {
    await settle();
    const t0 = performance.now();
    act();
    await frame();
    layout();
    return performance.now() - t0;
  };
  window.__bench = {
    async hover(i) {
      const svg = card().querySelector('svg.hj-chart-svg');
      const rect = svg.getBoundingClientRect();
      if (i === 0) svg.dispatchEvent(
        new MouseEvent('mouseenter', {clientX: rect.left + 60, clientY: rect.top + 50}));
      // Positions spread over the plot in a fixed pseudo-random order.
      const x = rect.left + 58 + ((i * 7919) % Math.max(1, Math.floor(rect.width - 74)));
      const y = rect.top + rect.height / 2;
      return timeOne(() => svg.dispatchEvent(
        new MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true})));
    },
    idle(i) {
      return timeOne(() => idle.dispatchEvent(
        new MouseEvent('mousemove', {clientX: i, clientY: 5, bubbles: true})));
    },
    tooltip() {
      const tip = card().querySelector('.hj-tooltip');
      const text = tip && !tip.hidden ? Array.from(tip.children).filter((r) => !r.hidden)
        .map((r) => (r.children.length
          ? Array.from(r.children).map((c) => c.textContent).filter(Boolean).join(' ')
          : r.textContent))
        .join(' | ') : '';
      card().querySelector('svg.hj-chart-svg')
        .dispatchEvent(new MouseEvent('mouseleave', {clientX: 0, clientY: 0}));
      return text;
    },
    smoothing(i) {
      const slider = document.querySelector('.hj-smoothing input[type=range]');
      return timeOne(() => {
        slider.value = String(i % 2 ? 0.6 : 0.85);
        slider.dispatchEvent(new Event('input', {bubbles: true}));
      });
    },
    log() {
      return timeOne(() => card().querySelector('input[type=checkbox]').click());
    },
    async run(i, runToggle) {
      if (i === 0) full = legend();
      const want = i % 2 ? full : full - 1;
      await settle();
      const t0 = performance.now();
      document.querySelector(`.hj-side-run[data-run="${runToggle}"] input`).click();
      for (;;) {
        await frame();
        if (legend() === want && card().querySelector('path.hj-line')) break;
        if (performance.now() - t0 > 20000) throw new Error('run toggle not drawn');
      }
      layout();
      return performance.now() - t0;
    },
    page() {
      return {
        path_chars: Array.from(document.querySelectorAll('path'))
          .reduce((n, p) => n + (p.getAttribute('d') || '').length, 0),
        points: Array.from(document.querySelectorAll(
          '.hj-chart-card path.hj-line, .hj-chart-card path.hj-line-raw'))
          .reduce((n, p) => n + ((p.getAttribute('d') || '').match(/[ML]/g) || []).length, 0),
        charts: document.querySelectorAll('.hj-chart-card').length,
      };
    },
  };
}
"""


def _open(page, tb, names):
    hash_ = "#" + "&".join("run=%s" % n for n in names) + "&view=charts&category=" + CATEGORY
    started = time.monotonic()
    page.goto(tb.url + ENTRY + hash_)
    page.wait_for_function(
        "(n) => { const c = document.querySelectorAll('.hj-chart-card'); return c.length > 0 &&"
        " Array.from(c).every((x) => x.querySelectorAll('path.hj-line').length === n); }",
        arg=len(names),
        timeout=600000,
    )
    return time.monotonic() - started


def _stats(values):
    values = sorted(values)
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return {"median": statistics.median(values), "p95": p95, "n": len(values)}


def measure(tb, sizes, hovers, redraws):
    """Open one page per size ({label: run names}) and time the same events on each,
    alternating between the pages sample by sample. {label: results}."""
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages, out, errors = {}, {}, []
            for label, names in sizes.items():
                context = browser.new_context(viewport={"width": 1400, "height": 950})
                # No auto-reload during the measurement (see the module docstring).
                context.add_init_script(
                    "(() => { const real = window.setInterval;"
                    " window.setInterval = (fn, ms, ...a) =>"
                    " (ms >= 10000 ? 0 : real(fn, ms, ...a)); })()"
                )
                page = context.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.set_default_timeout(600000)
                out[label] = {"load_s": _open(page, tb, names)}
                page.evaluate(_BENCH_JS, CHART)
                pages[label] = (page, names)
            samples = {
                label: {k: [] for k in ("hover", "idle", "smoothing", "log", "run")}
                for label in sizes
            }

            def each(kind, n, *extra):
                for i in range(n):
                    for label, (page, names) in pages.items():
                        args = [i] + [names[-1] if e == "last_run" else e for e in extra]
                        samples[label][kind].append(
                            page.evaluate("(a) => window.__bench.%s(...a)" % kind, args)
                        )

            each("hover", hovers)
            each("idle", hovers)
            for label, (page, _) in pages.items():
                out[label]["tooltip"] = page.evaluate("() => window.__bench.tooltip()")
            each("smoothing", redraws)
            each("log", redraws)
            each("run", redraws, "last_run")
            for label, (page, _) in pages.items():
                out[label].update(page.evaluate("() => window.__bench.page()"))
                out[label].update({k: _stats(v) for k, v in samples[label].items()})
            if errors:
                raise RuntimeError("the tab raised: %r" % errors)
        finally:
            browser.close()
    return out


def _row(name, key, small, big, goal=None):
    s, b = small[key], big[key]
    ratio = b["median"] / s["median"] if s["median"] > 0 else float("nan")
    goal_text = (
        ""
        if goal is None
        else ("  goal < %d ms: %s" % (goal, "met" if b["median"] < goal else "NOT met"))
    )
    return "%-34s %7.1f / %-7.1f %9.1f / %-7.1f %6.2fx%s" % (
        name,
        s["median"],
        s["p95"],
        b["median"],
        b["p95"],
        ratio,
        goal_text,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument(
        "--steps", type=int, default=100000, help="points per curve of the long runs"
    )
    parser.add_argument(
        "--small", type=int, default=1000, help="points per curve of the short runs"
    )
    parser.add_argument("--hovers", type=int, default=300)
    parser.add_argument("--redraws", type=int, default=15)
    parser.add_argument(
        "--logdir", default=None, help="where the generated runs go (default: cached in $TMPDIR)"
    )
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print("Chromium not found at %s (apt-get install -y chromium)" % CHROMIUM, file=sys.stderr)
        return 2

    logdir = make_logdir(args.runs, args.steps, args.small, args.logdir)
    long_runs = ["long_%d" % i for i in range(args.runs)]
    short_runs = ["short_%d" % i for i in range(args.runs)]
    tb = TensorBoardProcess(
        logdir, load_fast="true", args=["--samples_per_plugin=hjepa=0"], timeout=300
    )
    tb.start()
    try:
        started = time.monotonic()
        _wait_loaded(
            tb, long_runs + short_runs, [args.steps] * args.runs + [args.small] * args.runs
        )
        print(
            "tensorboard %s loaded %d runs in %.0f s"
            % (tb.url, 2 * args.runs, time.monotonic() - started),
            flush=True,
        )
        results = measure(tb, {"small": short_runs, "big": long_runs}, args.hovers, args.redraws)
        small, big = results["small"], results["big"]
    finally:
        tb.stop()

    print()
    print(
        "H-JEPA tab, headless Chromium: %d charts of the %s category, %d runs each; chart %s"
        % (big["charts"], CATEGORY, args.runs, CHART)
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        "machine: %d CPUs, load average %.1f / %.1f / %.1f (1/5/15 min) when done"
        % ((os.cpu_count() or 0,) + tuple(load))
    )
    print(
        "%-34s %17s %19s %7s"
        % (
            "ms (median / p95)",
            "%s points" % format(args.small, ","),
            "%s points" % format(args.steps, ","),
            "ratio",
        )
    )
    print(_row("hover, dispatch to next frame", "hover", small, big, goal=16))
    print(_row("  frame wait alone (no listener)", "idle", small, big))
    print(_row("redraw: smoothing change", "smoothing", small, big, goal=100))
    print(_row("redraw: log-scale toggle", "log", small, big, goal=100))
    print(_row("redraw: run toggle (view rebuilt)", "run", small, big, goal=100))
    print(
        "%-34s %17s %19s"
        % (
            "SVG path text on the page",
            "%.0f KB" % (small["path_chars"] / 1e3),
            "%.0f KB" % (big["path_chars"] / 1e3),
        )
    )
    print(
        "%-34s %17s %19s"
        % ("points drawn (all lines)", format(small["points"], ","), format(big["points"], ","))
    )
    print(
        "%-34s %17s %19s"
        % ("open by deep link to drawn (s)", "%.1f" % small["load_s"], "%.1f" % big["load_s"])
    )
    print(
        "hover samples: %d per size, redraw samples: %d per kind; last tooltip at %s points: %s"
        % (big["hover"]["n"], big["smoothing"]["n"], format(args.steps, ","), big["tooltip"][:100])
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "small": small, "big": big}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
