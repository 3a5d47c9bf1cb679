"""Benchmark: the plugin's route latency and its cost to TensorBoard, one command.

    .venv/bin/python -m benchmarks.plugin_latency [--runs 10] [--steps 100000]
        [--repeats 15] [--load_fast true] [--caps 1000,2000,3000,10000]

Measured against real ``tensorboard`` processes on a generated logdir (cached under
``$TMPDIR/hjepa-bench-v<VERSION>-<runs>x<steps>``): ``runs`` runs of ``steps`` steps,
3 levels, every catalogue scalar at its reference §12 frequency (every-step metrics at
every step). The first run is generated with ``tests.logs``; the others are copies of
its event file (the plugin's work per run does not depend on the values).

Printed:
- ``health?run=run_0`` cold (first request: read every curve + diagnose + the health
  timeline) and ``runs`` cold (the other runs read and diagnosed, no timeline), then
  ``health?run=run_1`` (its verdict cached by ``runs``: the timeline's cost), then warm
  medians, both with the
  listing memoised (back-to-back requests) and with a fresh listing (requests spaced
  beyond the listing TTL: one metadata listing + a cache hit);
- TensorBoard's start-to-ready time and CPU time (median of 5 alternating starts; ready
  = ``/data/plugins_listing`` answers), on the benchmark logdir (the data server loads
  while TensorBoard starts) and on an empty logdir (the plugin's code alone);
- wall and CPU seconds until all data is loaded, and resident memory (TensorBoard and
  its Rust data server) once loaded (medians of ``--load_repeats`` alternating loads),
  with the plugin installed (its default:
  ``plugin.DEFAULT_HJEPA_SAMPLES`` samples per "hjepa" tag) against without it
  (TensorBoard keeps 1000), with the goal (the plugin costs at most 1.3x each), plus
  with ``--samples_per_plugin=hjepa=1000`` (the plugin's code alone) and ``hjepa=0``
  (every sample kept: rejected as the default);
- with ``--caps``, the same load figures for each of those samples per "hjepa" tag
  (how the cost grows with the cap; the former default was 10,000).

Whether the verdicts depend on the cap is ``python -m benchmarks.plugin_latency.verdicts``.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from tensorboard_plugin_hjepa.plugin import DEFAULT_HJEPA_SAMPLES
from tests import logs
from tests.tb_process import TensorBoardProcess

VERSION = 2  # bump when the generated logdir changes (tests.logs, the catalogue)
MARKER_TAG = "bench/loaded"  # a plain scalar at the last step of every run
PREFIX = "/data/plugin/hjepa"


def _logdir(runs: int, steps: int) -> str:
    path = os.path.join(tempfile.gettempdir(), "hjepa-bench-v%d-%dx%d" % (VERSION, runs, steps))
    done = os.path.join(path, ".complete")
    if os.path.exists(done):
        return path
    shutil.rmtree(path, ignore_errors=True)
    started = time.monotonic()
    marker = {MARKER_TAG: (np.array([steps - 1]), np.array([1.0]))}
    first = logs.write_run(path, "run_0", "healthy", steps=steps, extra_scalars=marker)
    (event_file,) = os.listdir(first)
    for i in range(1, runs):
        os.makedirs(os.path.join(path, "run_%d" % i))
        shutil.copyfile(
            os.path.join(first, event_file), os.path.join(path, "run_%d" % i, event_file)
        )
    open(done, "w").close()
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    print(
        "generated %s: %d runs x %d steps, %.0f MB, in %.1f s"
        % (path, runs, steps, size / 1e6, time.monotonic() - started),
        flush=True,
    )
    return path


def _serve_command(with_plugin: bool):
    return [
        sys.executable,
        "-m",
        "benchmarks.plugin_latency.serve",
        "--hjepa=%s" % ("on" if with_plugin else "off"),
    ]


def _wait_loaded(tb: TensorBoardProcess, runs: int, timeout: float = 600) -> float:
    """Seconds from start until every run's last-step marker is served; sets
    ``tb.cpu_to_loaded_s``."""
    started = time.monotonic()
    pending = ["run_%d" % i for i in range(runs)]
    while pending:
        if time.monotonic() - started > timeout:
            raise RuntimeError("data not loaded after %.0f s" % timeout)
        run = pending[0]
        status, _, body = tb.get("/data/plugin/scalars/scalars?run=%s&tag=%s" % (run, MARKER_TAG))
        if status == 200 and body.strip() not in (b"[]", b""):
            pending.pop(0)
        else:
            time.sleep(0.25)
    tb.cpu_to_loaded_s = tb.cpu_seconds()
    return tb.start_to_ready_s + (time.monotonic() - started)


def _timed(tb: TensorBoardProcess, path: str) -> float:
    started = time.perf_counter()
    status, _, body = tb.get(path, timeout=600)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError("GET %s -> %d: %s" % (path, status, body[:300]))
    return elapsed


def _ms(seconds: float) -> str:
    return "%8.1f ms" % (seconds * 1e3)


def _settled_rss(tb: TensorBoardProcess) -> int:
    """RSS once it stops growing (the data server may still be compacting)."""
    last = tb.rss_bytes()
    for _ in range(20):
        time.sleep(0.5)
        now = tb.rss_bytes()
        if abs(now - last) < 2 * 2**20:
            return now
        last = now
    return last


def _start_times(logdir, load_fast, n=5):
    """Alternating starts with and without the plugin: ``{True|False: [(wall, cpu)]}``.

    Each process is stopped as soon as it is ready. Alternating spreads the machine's
    background load over both; the CPU seconds to ready are far less noisy than wall
    time on a shared machine.
    """
    out = {True: [], False: []}
    for _ in range(n):
        for with_plugin in (True, False):
            tb = TensorBoardProcess(
                logdir, load_fast=load_fast, command=_serve_command(with_plugin)
            )
            try:
                tb.start()
                out[with_plugin].append((tb.start_to_ready_s, tb.cpu_to_ready_s))
            finally:
                tb.stop()
    return out


def _measure_load(logdir, load_fast, runs, with_plugin, args=(), routes=None):
    tb = TensorBoardProcess(
        logdir, load_fast=load_fast, command=_serve_command(with_plugin), args=args, timeout=120
    )
    try:
        tb.start()
        loaded = _wait_loaded(tb, runs)
        rss = _settled_rss(tb)
        extra = routes(tb) if routes else None
        rss_after = tb.rss_bytes() if routes else None
        return (loaded, tb.cpu_to_loaded_s), rss, extra, rss_after
    finally:
        tb.stop()


def _latency(tb: TensorBoardProcess, runs: int, repeats: int) -> dict:
    health = PREFIX + "/health?run=run_0"
    out = {"health_cold": _timed(tb, health), "runs_cold": _timed(tb, PREFIX + "/runs")}
    # run_1's verdict was just judged by `runs`: its health answer pays for the timeline
    # (up to 50 prefixes judged) and one more read of its curves.
    out["timeline_cold"] = _timed(tb, PREFIX + "/health?run=run_1") if runs > 1 else None
    out["health_warm"] = statistics.median(_timed(tb, health) for _ in range(repeats))
    out["runs_warm"] = statistics.median(_timed(tb, PREFIX + "/runs") for _ in range(repeats))
    spaced_health, spaced_runs = [], []
    for _ in range(max(3, repeats // 3)):
        time.sleep(1.1)  # beyond the listing TTL: a fresh metadata listing each time
        spaced_health.append(_timed(tb, health))
        time.sleep(1.1)
        spaced_runs.append(_timed(tb, PREFIX + "/runs"))
    out["health_fresh"] = statistics.median(spaced_health)
    out["runs_fresh"] = statistics.median(spaced_runs)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plugin_latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--load_fast", default="true", choices=["true", "false"])
    parser.add_argument(
        "--skip_all", action="store_true", help="skip the hjepa=0 (keep every sample) measurement"
    )
    parser.add_argument(
        "--load_repeats",
        type=int,
        default=3,
        help="alternating loads with and without the plugin (medians)",
    )
    parser.add_argument(
        "--caps",
        default="",
        help="comma-separated samples per hjepa tag to measure the load of "
        "(e.g. 1000,2000,3000,10000)",
    )
    args = parser.parse_args(argv)
    caps = [int(c) for c in args.caps.split(",") if c.strip()]

    logdir = _logdir(args.runs, args.steps)
    print(
        "logdir %s, --load_fast=%s, %s, load average %.1f on %d CPUs"
        % (logdir, args.load_fast, time.strftime("%H:%M:%S"), os.getloadavg()[0], os.cpu_count()),
        flush=True,
    )

    empty = tempfile.mkdtemp(prefix="hjepa-bench-empty-")
    try:
        empty_starts = _start_times(empty, args.load_fast)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    starts = _start_times(logdir, args.load_fast)
    ready_on = statistics.median(w for w, _ in starts[True])
    ready_off = statistics.median(w for w, _ in starts[False])
    cpu_on = statistics.median(c for _, c in starts[True])
    cpu_off = statistics.median(c for _, c in starts[False])

    _, _, latency, rss_routes = _measure_load(
        logdir,
        args.load_fast,
        args.runs,
        True,
        routes=lambda tb: _latency(tb, args.runs, args.repeats),
    )
    # Loads with and without the plugin, alternating (medians: the machine may be shared).
    loads = {True: [], False: []}
    for _ in range(args.load_repeats):
        for with_plugin in (True, False):
            loaded, rss, _, _ = _measure_load(logdir, args.load_fast, args.runs, with_plugin)
            loads[with_plugin].append((loaded[0], loaded[1], rss))
    loaded_on, loaded_off = [
        tuple(statistics.median(x[i] for x in loads[w]) for i in (0, 1)) for w in (True, False)
    ]
    rss_on, rss_off = [statistics.median(x[2] for x in loads[w]) for w in (True, False)]
    loaded_cap, rss_cap, _, _ = _measure_load(
        logdir, args.load_fast, args.runs, True, args=["--samples_per_plugin=hjepa=1000"]
    )
    swept = [
        (cap,)
        + _measure_load(
            logdir, args.load_fast, args.runs, True, args=["--samples_per_plugin=hjepa=%d" % cap]
        )[:2]
        for cap in caps
    ]
    loaded_all, rss_all, _, _ = (None, None, None, None)
    if not args.skip_all:
        loaded_all, rss_all, _, _ = _measure_load(
            logdir, args.load_fast, args.runs, True, args=["--samples_per_plugin=hjepa=0"]
        )

    mb = 2**20
    print()
    print(
        "route latency, %d runs x %d steps (median of %d):" % (args.runs, args.steps, args.repeats)
    )
    print(
        "  health?run=run_0  cold %s   warm %s   warm, fresh listing %s"
        % (_ms(latency["health_cold"]), _ms(latency["health_warm"]), _ms(latency["health_fresh"]))
    )
    print(
        "  runs              cold %s   warm %s   warm, fresh listing %s"
        % (_ms(latency["runs_cold"]), _ms(latency["runs_warm"]), _ms(latency["runs_fresh"]))
    )
    print("  (runs cold = the %d runs not yet judged; health cold = one run)" % (args.runs - 1))
    if latency["timeline_cold"] is not None:
        verdict = latency["runs_cold"] / (args.runs - 1)
        print(
            "  health?run=run_1 after runs (its verdict cached: the timeline and a read) %s"
            "   = %.1fx one run's verdict in runs cold (%s)"
            % (_ms(latency["timeline_cold"]), latency["timeline_cold"] / verdict, _ms(verdict))
        )
    print()
    print(
        "TensorBoard with the plugin (default: %d samples per hjepa tag) vs without "
        "(--load_fast=%s):" % (DEFAULT_HJEPA_SAMPLES, args.load_fast)
    )
    print(
        "  start-to-ready      %6.2f s vs %6.2f s   ratio %.3f   (goal < 1.05; median of %d)"
        % (ready_on, ready_off, ready_on / ready_off, len(starts[True]))
    )
    print(
        "  CPU to ready        %6.2f s vs %6.2f s   ratio %.3f"
        % (cpu_on, cpu_off, cpu_on / cpu_off)
    )
    for label, index in (("start-to-ready", 0), ("CPU to ready", 1)):
        on = statistics.median(x[index] for x in empty_starts[True])
        off = statistics.median(x[index] for x in empty_starts[False])
        print(
            "  %-14s (empty logdir: the plugin's code alone) %5.2f s vs %5.2f s  ratio %.3f"
            % (label, on, off, on / off)
        )
    ratios = (loaded_on[0] / loaded_off[0], loaded_on[1] / loaded_off[1], rss_on / rss_off)
    print(
        "  (load: medians of %d alternating loads with and without the plugin)" % args.load_repeats
    )
    print(
        "  start-to-loaded     %6.2f s vs %6.2f s   ratio %.3f   (goal <= 1.3; wall, noisy "
        "when shared)" % (loaded_on[0], loaded_off[0], ratios[0])
    )
    print(
        "  CPU to loaded       %6.2f s vs %6.2f s   ratio %.3f   (goal <= 1.3; TensorBoard "
        "+ data server)" % (loaded_on[1], loaded_off[1], ratios[1])
    )
    print(
        "  RSS once loaded     %6.0f MB vs %6.0f MB  ratio %.3f   (goal <= 1.3)"
        % (rss_on / mb, rss_off / mb, ratios[2])
    )
    print("  load goal (each ratio <= 1.3): %s" % ("met" if max(ratios) <= 1.3 else "NOT MET"))
    print("  with --samples_per_plugin=hjepa=1000 (TensorBoard's sampling; the plugin's code):")
    print(
        "    CPU to loaded %6.2f s  ratio %.3f   RSS %6.0f MB  ratio %.3f"
        % (loaded_cap[1], loaded_cap[1] / loaded_off[1], rss_cap / mb, rss_cap / rss_off)
    )
    for cap, loaded, rss in swept:
        print("  with --samples_per_plugin=hjepa=%d:" % cap)
        print(
            "    wall to loaded %6.2f s  ratio %.3f   CPU to loaded %6.2f s  ratio %.3f   "
            "RSS %6.0f MB  ratio %.3f"
            % (
                loaded[0],
                loaded[0] / loaded_off[0],
                loaded[1],
                loaded[1] / loaded_off[1],
                rss / mb,
                rss / rss_off,
            )
        )
    if rss_all is not None:
        print("  with --samples_per_plugin=hjepa=0 (every sample kept):")
        print(
            "    CPU to loaded %6.2f s  ratio %.3f   RSS %6.0f MB  ratio %.3f"
            % (loaded_all[1], loaded_all[1] / loaded_off[1], rss_all / mb, rss_all / rss_off)
        )
    print("  RSS after the routes above (verdict caches): %.0f MB" % (rss_routes / mb))
    print()
    goal = latency["health_warm"] < 0.1
    print(
        "warm health < 100 ms: %s   (load average now %.1f)"
        % ("yes" if goal else "NO", os.getloadavg()[0])
    )
    print("(the generated logdir stays as a cache for the next run: rm -r %s)" % logdir)


if __name__ == "__main__":
    main()
