"""``hjepa-doctor``: the H-JEPA Health verdicts in the terminal.

Usage::

    hjepa-doctor LOGDIR [--run RUN] [--verbose | --json] [--embed-dim D]
                 [--color auto|always|never]
    hjepa-doctor LOGDIR --watch [--interval S] [--run RUN] [--embed-dim D]
    hjepa-doctor catalog [--json]

By default each run is summarised: its status and the reason for it, the lights that
are not healthy (with value and explanation), the flowchart branches that fire and the
patterns detected with their actions, and how many lights are healthy or unknown.
``--verbose`` prints everything (every light by level, the checks behind each branch
and pattern, the hierarchy contributions, the expected ranges); ``--json`` prints the
complete verdicts (the ``health`` route's JSON). ``--embed-dim D`` assumes the
embedding dimension D for runs whose manifest gives none (plain scalar logs, other
trainers), so dimension-relative lights can be judged; the output says which D was
assumed, and a manifest's own D always wins.

The doctor reads runs through TensorBoard's own data provider, in process
(``EventMultiplexer`` keeping every sample -> ``MultiplexerDataProvider``), with the
same adapter (``data.load_runs``) and the same engine (``diagnosis.diagnose``) as the
plugin's tab, so the terminal and the tab say the same thing. (The doctor reads every
point; the tab, curves of up to 2,000 points per tag whole and longer ones as a uniform
sample of 2,000, see ``plugin.py``: on runs longer than that a point-based window, such
as the last 10% of points, spans more steps in the tab.)

Exit status: 0 when no run is ``collapse`` or ``critical``; 1 when one is; 2 on a usage
or read error (a missing logdir, no H-JEPA run found, an unknown ``--run``, a bad
``--embed-dim``), with one line on stderr (for no run found: the scalar tags the logdir
holds, up to 20 and their count, and the guide to logging the catalogue's tags).

``--watch`` follows a live logdir: it reloads the event files every ``--interval``
seconds (incrementally, one multiplexer for the whole session) and prints only what
changed: new runs, status changes, newly firing flowchart branches and patterns, lights
newly in warning or worse (the same change rules as the trainer's online checks,
``diagnosis.changes``). Ctrl-C ends it; the exit status is that of the last state.

This module is the command (arguments, reading, watching, exit status); the text it
prints is made by ``report`` (its printers are re-exported here).
"""

import argparse
import logging
import os
import sys
import time
from typing import Dict, List, Optional, TextIO

from . import catalog, metadata
from .catalog import schema
from .report import (
    Printer,
    change_line,
    print_catalog,
    print_health,
    print_runs,
    print_summary,
    status_counts,
    write_json,
)
from .unknown import unknown_health
from .version import __version__

__all__ = [
    "EXIT_ALERT",
    "EXIT_ERROR",
    "EXIT_OK",
    "DoctorError",
    "main",
    "read_logdir",
    # the report, re-exported from ``report``
    "Printer",
    "print_catalog",
    "print_health",
    "print_summary",
]

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_ERROR = 2


class DoctorError(Exception):
    """A usage or read error: printed as one line on stderr, exit status 2."""


# --------------------------------------------------------------------------- reading
def read_logdir(logdir: str, run: Optional[str] = None) -> Dict[str, "object"]:
    """``{run: RunData}`` of the H-JEPA runs under ``logdir`` (or only ``run``).

    Raises:
      DoctorError: the logdir does not exist, holds no H-JEPA run, or has no run ``run``.
    """
    return _runs_of(_new_multiplexer(), logdir, run)


def _new_multiplexer():
    # Imported here: `hjepa-doctor catalog` must not pay for TensorBoard's backend.
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    logging.getLogger("tensorboard").setLevel(logging.ERROR)
    return plugin_event_multiplexer.EventMultiplexer(
        size_guidance={"tensors": 0, "scalars": 0},  # 0 = keep every sample
        tensor_size_guidance={"hjepa": 0, "scalars": 0},
    )


def _runs_of(multiplexer, logdir: str, run: Optional[str]) -> Dict[str, "object"]:
    """(Re)load ``multiplexer`` from ``logdir`` (new runs, new events) and read its runs."""
    if not os.path.isdir(logdir):
        raise DoctorError("logdir %r does not exist or is not a directory" % (logdir,))
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider

    from . import data

    try:
        multiplexer.AddRunsFromDirectory(logdir)
        multiplexer.Reload()
    except Exception as e:  # a corrupt tree: say what, never a traceback
        raise DoctorError("cannot read logdir %r: %s: %s" % (logdir, type(e).__name__, e)) from e
    provider = data_provider.MultiplexerDataProvider(multiplexer, logdir)
    ctx = tb_context.RequestContext()
    runs = data.load_runs(provider, ctx, "")
    if not runs:
        hint = data.no_runs_hint(data.scalar_tags_seen(provider, ctx, ""))
        raise DoctorError("no H-JEPA runs found under %r: %s" % (logdir, hint["text"]))
    if run is not None:
        if run not in runs:
            raise DoctorError(
                "unknown run %r; runs under %r: %s"
                % (run, logdir, ", ".join(repr(r) for r in sorted(runs)))
            )
        runs = {run: runs[run]}
    return runs


# ----------------------------------------------------------------------------- main
def _use_colour(mode: str, stream: TextIO) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _catalog_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hjepa-doctor catalog", description="List every metric of the H-JEPA catalogue."
    )
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    args = parser.parse_args(argv)
    if args.json:
        sys.stdout.write(catalog.to_json(indent=2) + "\n")
    else:
        print_catalog(sys.stdout)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hjepa-doctor",
        description="Diagnose H-JEPA training runs from their TensorBoard logs "
        "(the verdicts of the H-JEPA Health tab). "
        "`hjepa-doctor catalog [--json]` lists the metrics instead.",
        epilog="Exit status: 0 no run in collapse/critical, 1 some run is, 2 usage or read error.",
    )
    parser.add_argument("logdir", help="TensorBoard log directory (runs are its subdirectories)")
    parser.add_argument("--run", help="diagnose only this run (name as TensorBoard shows it)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="print everything: every light by level, the checks behind each "
        "branch and pattern, contributions, expected ranges (default: a "
        "summary of what is not healthy and what to do)",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help='print {"runs": {run: health}} (the health route\'s JSON, complete)',
    )
    parser.add_argument(
        "--embed-dim",
        dest="embed_dim",
        metavar="D",
        help="embedding dimension to assume for runs whose manifest gives none "
        "(plain or other trainers' logs; 1-%d); a manifest's D wins" % metadata.MAX_EMBED_DIM,
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="follow a live logdir: reprint only changes (new runs, status "
        "changes, newly firing branches/patterns, new alerts) until Ctrl-C; "
        "exit status as the last state",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between reloads with --watch (default 10)",
    )
    parser.add_argument("--max-polls", type=int, default=0, help=argparse.SUPPRESS)  # tests
    parser.add_argument(
        "--color",
        "--colour",
        dest="color",
        default="auto",
        choices=("auto", "always", "never"),
        help="colour status words (auto: when stdout is a terminal and NO_COLOR is unset)",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``hjepa-doctor`` console script; returns the exit status."""
    return _main(list(sys.argv[1:] if argv is None else argv))


def _silence_stdout() -> None:
    """After a broken pipe (``hjepa-doctor LOGDIR | head``): no second error at exit."""
    try:  # as the Python docs advise for SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _main(argv: List[str]) -> int:
    try:
        if argv and argv[0] == "catalog":
            try:
                return _catalog_main(argv[1:])
            except BrokenPipeError:
                _silence_stdout()
                return EXIT_OK
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help / --version exit 0, usage errors exit 2
        return int(e.code) if isinstance(e.code, int) else EXIT_ERROR
    if args.embed_dim is not None:
        try:
            args.embed_dim = metadata.parse_embed_dim(args.embed_dim)
        except ValueError as e:
            sys.stderr.write("hjepa-doctor: error: --embed-dim %s\n" % e)
            return EXIT_ERROR
    if args.watch:
        if args.json or args.interval <= 0:
            sys.stderr.write(
                "hjepa-doctor: error: %s\n"
                % (
                    "--watch prints lines; --json is not supported with it"
                    if args.json
                    else "--interval must be > 0"
                )
            )
            return EXIT_ERROR
        try:
            return _watch(args)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_OK
    try:
        runs = read_logdir(args.logdir, args.run)
    except DoctorError as e:
        sys.stderr.write("hjepa-doctor: error: %s\n" % e)
        return EXIT_ERROR
    from .diagnosis import diagnose, timeline

    healths = {
        name: _diagnose_one(diagnose, name, run_data, args.embed_dim)
        for name, run_data in runs.items()
    }
    for name, health in healths.items():  # the verdict through the run (not for --watch)
        if "timeline" not in health:
            health["timeline"] = timeline.build(runs[name], embed_dim=args.embed_dim)
    try:
        _report(args, healths)
    except BrokenPipeError:
        _silence_stdout()
    alert = any(h["status"] in schema.ALERTS for h in healths.values())
    return EXIT_ALERT if alert else EXIT_OK


def _diagnose_one(diagnose, name: str, run_data, embed_dim: Optional[int] = None) -> dict:
    """The run's health (assuming ``embed_dim`` if its manifest gives no D); a failing
    diagnosis is reported as ``unknown`` with the reason."""
    try:
        return diagnose(run_data, embed_dim=embed_dim)
    except Exception as e:  # pylint: disable=broad-except  # one bad run must not hide the others
        reason = "the diagnosis failed: %s: %s" % (type(e).__name__, e)
        sys.stderr.write("hjepa-doctor: run %r: %s\n" % (name, reason))
        return unknown_health(name, reason, run_data=run_data)


def _watch(args) -> int:
    """``--watch``: reload every ``args.interval`` s and print what changed, until Ctrl-C."""
    from .diagnosis import changes, diagnose

    if not os.path.isdir(args.logdir):
        sys.stderr.write(
            "hjepa-doctor: error: logdir %r does not exist or is not a directory\n" % (args.logdir,)
        )
        return EXIT_ERROR
    multiplexer = _new_multiplexer()
    seen: Dict[str, "changes.Snapshot"] = {}
    statuses: Dict[str, str] = {}
    last_error = None
    polls = 0
    print(
        "hjepa-doctor: watching %r every %gs (Ctrl-C to stop)" % (args.logdir, args.interval),
        flush=True,
    )
    try:
        while True:
            try:
                runs = _runs_of(multiplexer, args.logdir, None)
                last_error = None
            except DoctorError as e:  # e.g. no run yet: say it once, keep watching
                runs = {}
                if str(e) != last_error:
                    last_error = str(e)
                    sys.stderr.write("hjepa-doctor: %s; still watching\n" % e)
                    sys.stderr.flush()
            for name in sorted(runs):
                if args.run is not None and name != args.run:
                    continue
                health = _diagnose_one(diagnose, name, runs[name], args.embed_dim)
                change = changes.diff(seen.get(name), health)
                if name not in seen or change.any:
                    line = change_line(
                        name, change, health, name not in seen, clock=time.strftime("%H:%M:%S")
                    )
                    print(line, flush=True)
                seen[name] = changes.snapshot(health)
                statuses[name] = health["status"]
            polls += 1
            if args.max_polls and polls >= args.max_polls:
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    counts = status_counts(statuses.values())
    print(
        "hjepa-doctor: stopped watching; %d run(s)%s"
        % (len(statuses), ": " + counts if counts else ""),
        flush=True,
    )
    return EXIT_ALERT if any(s in schema.ALERTS for s in statuses.values()) else EXIT_OK


def _report(args, healths: Dict[str, dict]) -> None:
    if args.json:
        write_json(sys.stdout, healths)
    else:
        printer = Printer(sys.stdout, _use_colour(args.color, sys.stdout))
        print_runs(printer, healths, verbose=args.verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
