"""Do the verdicts change with the samples TensorBoard keeps per "hjepa" tag?

    .venv/bin/python -m benchmarks.plugin_latency.verdicts [LOGDIR ...] [--kinds]
        [--old 10000] [--new N] [--load_fast true|false] [--runs 10 --steps 100000]

Serves each logdir (default: the benchmark's generated logdir, 10 runs x 100,000 steps;
``--kinds`` adds a generated logdir of one 100,000-step run of every kind ``tests.logs``
writes: healthy, collapsing, diverging, stuck, missing metrics, plain and upstream logs,
so that broken long runs are compared too) with a real ``tensorboard`` twice: with
``--samples_per_plugin=hjepa=OLD`` (the former default, 10,000) and with the plugin's
default (no flag: ``plugin.DEFAULT_HJEPA_SAMPLES``, or ``--new N``). Once each has
loaded everything, every run's ``health`` is compared: the overall status, every light's
status (lights and the hierarchy contributions' checks, by key and level), the firing
flowchart branches and the detected patterns. Prints one line per run and every
difference; exit status 0 when nothing differs, 1 when something does, 2 when the
logdirs could not be served or loaded alike.

Re-run it whenever the diagnosis rules change: the cap is only right while the rules
judge long curves the same at both settings. It reads through the plugin's routes, as
the tab does, so it checks exactly what users see (``--load_fast false``: TensorBoard's
Python loading path).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

from benchmarks.plugin_latency.__main__ import VERSION, _logdir
from tensorboard_plugin_hjepa.plugin import DEFAULT_HJEPA_SAMPLES
from tests import logs
from tests.tb_process import TensorBoardProcess

PREFIX = "/data/plugin/hjepa"
FORMER_DEFAULT = 10_000


def kinds_logdir(steps: int) -> str:
    """One run of every ``tests.logs.STANDARD_RUNS`` entry, ``steps`` steps each (cached
    under ``$TMPDIR/hjepa-verdicts-v<VERSION>-<steps>``)."""
    path = os.path.join(tempfile.gettempdir(), "hjepa-verdicts-v%d-%d" % (VERSION, steps))
    done = os.path.join(path, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(path, ignore_errors=True)
        started = time.monotonic()
        logs.write_logdir(path, steps=steps)
        open(done, "w").close()
        print("generated %s in %.0f s" % (path, time.monotonic() - started), flush=True)
    return path


def _listing(tb):
    runs = tb.get_json(PREFIX + "/runs", timeout=600)["runs"]
    return {r["run"]: r["last_step"] for r in runs}


def _wait_loaded(tb, settle_s: float, timeout_s: float):
    """``{run: last_step}`` once TensorBoard has loaded the logdir: the runs listing has
    not changed for ``settle_s`` seconds and the server used under 20% of one CPU meanwhile
    (it reloads the unchanged logdir every second, which costs almost nothing)."""
    started = time.monotonic()
    last, since, cpu_since = None, time.monotonic(), tb.cpu_seconds()
    while True:
        now_listing = _listing(tb)
        now, cpu = time.monotonic(), tb.cpu_seconds()
        if now_listing != last:
            last, since, cpu_since = now_listing, now, cpu
        elif now_listing and now - since >= settle_s and cpu - cpu_since < 0.2 * (now - since):
            return now_listing
        if now - started > timeout_s:
            raise RuntimeError("not loaded after %.0f s: %r" % (timeout_s, now_listing))
        time.sleep(1.0)


def verdict(health: dict) -> dict:
    """What is compared of one run's health: status, every light's status, the firing
    branches and the detected patterns."""
    lights = {}
    for light in (health.get("lights") or []) + list(
        (health.get("contributions") or {}).get("checks") or []
    ):
        lights[(light["key"], light.get("level"))] = light["status"]
    return {
        "status": health.get("status"),
        "lights": lights,
        "branches": sorted(b["id"] for b in health.get("flowchart") or [] if b.get("fired")),
        "patterns": sorted(p["id"] for p in health.get("patterns") or [] if p.get("detected")),
    }


def serve_and_judge(logdir: str, samples, load_fast: str, settle_s: float, timeout_s: float):
    """``({run: last_step}, {run: verdict}, {run: points of its longest curve}, seconds)``
    of a logdir served with ``--samples_per_plugin=hjepa=samples`` (None: no flag)."""
    args = [] if samples is None else ["--samples_per_plugin=hjepa=%d" % samples]
    tb = TensorBoardProcess(logdir, load_fast=load_fast, args=args, timeout=120)
    started = time.monotonic()
    try:
        tb.start()
        steps = _wait_loaded(tb, settle_s, timeout_s)
        verdicts, points = {}, {}
        for run in sorted(steps):
            health = tb.get_json(
                PREFIX + "/health?" + urllib.parse.urlencode({"run": run}), timeout=600
            )
            verdicts[run] = verdict(health)
            points[run] = max([t["points"] for t in health.get("tags") or []] + [0])
        return steps, verdicts, points, time.monotonic() - started
    finally:
        tb.stop()


def differences(old: dict, new: dict):
    """Lines naming every difference between two verdicts of one run."""
    out = []
    if old["status"] != new["status"]:
        out.append("status %s -> %s" % (old["status"], new["status"]))
    for key in sorted(set(old["lights"]) | set(new["lights"]), key=lambda k: (k[0], k[1] or -1)):
        a, b = old["lights"].get(key), new["lights"].get(key)
        if a != b:
            out.append(
                "light %s%s %s -> %s"
                % (key[0], "" if key[1] is None else " level %d" % key[1], a, b)
            )
    for part in ("branches", "patterns"):
        if old[part] != new[part]:
            out.append(
                "%s %s -> %s" % (part, ",".join(old[part]) or "none", ",".join(new[part]) or "none")
            )
    return out


def compare(
    logdir: str,
    old_samples: int,
    new_samples,
    load_fast: str,
    settle_s: float,
    timeout_s: float,
    out=sys.stdout,
) -> int:
    """Serve ``logdir`` at both settings and print the comparison; the exit status."""
    new_label = (
        "%d" % new_samples
        if new_samples is not None
        else "%d (the plugin's default)" % DEFAULT_HJEPA_SAMPLES
    )
    out.write(
        "%s, --load_fast=%s: hjepa=%d vs hjepa=%s\n" % (logdir, load_fast, old_samples, new_label)
    )
    out.flush()
    old = serve_and_judge(logdir, old_samples, load_fast, settle_s, timeout_s)
    new = serve_and_judge(logdir, new_samples, load_fast, settle_s, timeout_s)
    if old[0] != new[0]:
        out.write(
            "  the two servers did not load the same runs and steps: %r vs %r\n" % (old[0], new[0])
        )
        return 2
    changed = 0
    for run in sorted(old[1]):
        lines = differences(old[1][run], new[1][run])
        a = old[1][run]
        out.write(
            "  %-24s %-8s %3d lights  branches [%s]  patterns [%s]  longest curve %d vs "
            "%d points: %s\n"
            % (
                run,
                a["status"],
                len(a["lights"]),
                ",".join(a["branches"]),
                ",".join(a["patterns"]),
                old[2][run],
                new[2][run],
                "same" if not lines else "DIFFERENT",
            )
        )
        for line in lines:
            out.write("      %s\n" % line)
        changed += bool(lines)
    out.write(
        "  %d of %d runs differ (served and judged in %.0f s and %.0f s)\n"
        % (changed, len(old[1]), old[3], new[3])
    )
    return 1 if changed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plugin_latency.verdicts", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "logdirs", nargs="*", help="logdirs to compare (default: the benchmark's generated logdir)"
    )
    parser.add_argument(
        "--old",
        type=int,
        default=FORMER_DEFAULT,
        help="samples per hjepa tag of the reference (default %d, the former "
        "default)" % FORMER_DEFAULT,
    )
    parser.add_argument(
        "--new",
        type=int,
        default=None,
        help="samples per hjepa tag to compare (default: no flag, the "
        "plugin's default %d)" % DEFAULT_HJEPA_SAMPLES,
    )
    parser.add_argument(
        "--kinds",
        action="store_true",
        help="also compare long generated runs of every kind (healthy, "
        "collapsing, diverging, stuck, ...; generated once, ~6 min)",
    )
    parser.add_argument("--load_fast", default="true", choices=["true", "false"])
    parser.add_argument("--runs", type=int, default=10, help="benchmark logdir: runs")
    parser.add_argument("--steps", type=int, default=100_000, help="benchmark logdir: steps")
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds the runs listing must stay unchanged (default 10)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for a logdir to load (default 1800)",
    )
    args = parser.parse_args(argv)
    logdirs = list(args.logdirs) or [_logdir(args.runs, args.steps)]
    if args.kinds:
        logdirs.append(kinds_logdir(args.steps))
    status = 0
    for logdir in logdirs:
        if not os.path.isdir(logdir):
            sys.stderr.write("no such logdir: %s\n" % logdir)
            return 2
        try:
            status = max(
                status,
                compare(logdir, args.old, args.new, args.load_fast, args.settle, args.timeout),
            )
        except RuntimeError as e:
            sys.stderr.write("%s: %s\n" % (logdir, e))
            return 2
    print(
        "verdicts %s"
        % (
            "the same at both settings"
            if status == 0
            else "DIFFER"
            if status == 1
            else "not compared"
        )
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
