"""Damaged and changing event files (issue 8): never a 500, never a wrong ``healthy``.

Faults, each on a real event file: truncated inside a record, one data byte flipped (bad
data CRC), a length field claiming ~2**62 bytes (bad length CRC), an event file of zero
bytes, one holding only the file-version record, a file growing while it is read (a
record half-written, then completed), and a run directory deleted while a real
TensorBoard serves it. The damaged runs are *collapsing* runs whose damage falls after
the collapse: whatever part of them is read must still say ``collapse``, never
``healthy``. Checked in process (WSGI app), through ``hjepa-doctor``, and through real
``tensorboard`` processes on both loading paths (``--load_fast=true``: Rust data server;
``false``: Python multiplexer).
"""

import json
import os
import shutil
import time

import pytest

from tensorboard_plugin_hjepa import doctor
from tests import logs
from tests import reliability_util as R
from tests.conftest import app_for
from tests.tb_process import running_tensorboard

STEPS = 1000
DAMAGED = ("truncated", "bad_crc", "bad_length", "bad_crc_early")
EMPTY = ("zero_length", "header_only")


def _write_fault_logdir(logdir):
    """The logdir of every file-level fault; returns {run: what was done}."""
    done = {}
    logs.write_run(logdir, "ok", "healthy", steps=STEPS)
    # Collapse happens between 20% and 45% of the run: cut / corrupt after 70%.
    path = R.event_file(logs.write_run(logdir, "truncated", "collapsing", steps=STEPS))
    done["truncated"] = R.truncate_mid_record(path, 0.7)
    path = R.event_file(logs.write_run(logdir, "bad_crc", "collapsing", steps=STEPS))
    done["bad_crc"] = R.flip_data_byte(path, 0.7)
    path = R.event_file(logs.write_run(logdir, "bad_length", "collapsing", steps=STEPS))
    done["bad_length"] = R.corrupt_length(path, 0.7)
    # A bad record before the collapse: what is read cannot show a collapse, so the run
    # must not be called healthy either (it may be unknown, warning or collapse).
    path = R.event_file(logs.write_run(logdir, "bad_crc_early", "collapsing", steps=STEPS))
    done["bad_crc_early"] = R.flip_data_byte(path, 0.1)
    R.write_zero_length(os.path.join(logdir, "zero_length"))
    R.write_header_only(os.path.join(logdir, "header_only"))
    # A healthy run with an extra zero-length and header-only file beside its events.
    run_dir = logs.write_run(logdir, "ok_with_junk", "healthy", steps=STEPS)
    R.write_zero_length(run_dir)
    R.write_header_only(run_dir)
    return done


@pytest.fixture(scope="module")
def fault_logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("faults"))
    _write_fault_logdir(logdir)
    return logdir


def _check_all_routes(get):
    """Every route over every run name: JSON, no 5xx; returns {run: health}."""
    runs = R.assert_json_answer(*get("/runs"))
    assert "error" not in runs, runs
    names = [entry["run"] for entry in runs["runs"]]
    healths = {}
    for name in names + list(EMPTY) + ["no_such_run"]:
        status, headers, body = get("/health", run=name)
        answer = R.assert_json_answer(status, headers, body)
        if status == 200:
            assert answer["status"] in R.STATUSES
            healths[name] = answer
        else:
            assert status == 404 and "error" in answer
        status, headers, body = get("/scalars", run=name, tag="train/loss/total")
        answer = R.assert_json_answer(status, headers, body)
        if status == 200:
            steps = [row[0] for row in answer["data"]]
            assert steps == sorted(set(steps))
    return runs, healths


def _assert_verdicts(runs, healths):
    by_name = {entry["run"]: entry for entry in runs["runs"]}
    for name in EMPTY:  # no catalogue tag: not an H-JEPA run
        assert name not in by_name and name not in healths
    assert healths["ok"]["status"] == "healthy"
    assert healths["ok_with_junk"]["status"] == "healthy"
    for name in ("truncated", "bad_crc", "bad_length"):
        assert healths[name]["status"] == "collapse", (name, healths[name]["status_reason"])
    # The Python loader stops at a bad record; the Rust one skips it and reads on.
    assert 0 < healths["truncated"]["last_step"] < STEPS - 1
    assert healths["bad_crc_early"]["status"] != "healthy"
    for name in DAMAGED + ("ok",):
        assert by_name[name]["status"] == healths[name]["status"]


def test_damaged_event_files_in_process(fault_logdir):
    client, _, _ = app_for(fault_logdir, listing_ttl_s=0)
    runs, healths = _check_all_routes(lambda path, **p: R.client_get(client, path, **p))
    _assert_verdicts(runs, healths)


def test_damaged_event_files_through_the_doctor(fault_logdir, capsys):
    code = doctor.main([fault_logdir, "--json"])
    out, err = capsys.readouterr()
    assert code == doctor.EXIT_ALERT  # collapsing runs are there
    assert "Traceback" not in err
    healths = json.loads(out)["runs"]
    assert set(healths) == {"ok", "ok_with_junk"} | set(DAMAGED)
    assert healths["ok"]["status"] == "healthy"
    for name in ("truncated", "bad_crc", "bad_length"):
        assert healths[name]["status"] == "collapse", name
    assert healths["bad_crc_early"]["status"] != "healthy"
    # Readable form too, and a logdir of nothing but empty files is a clear error.
    assert doctor.main([fault_logdir, "--color", "never"]) == doctor.EXIT_ALERT
    capsys.readouterr()
    only_empty = os.path.join(fault_logdir, "header_only")
    assert doctor.main([only_empty]) == doctor.EXIT_ERROR
    _, err = capsys.readouterr()
    assert err.startswith("hjepa-doctor: error: no H-JEPA runs found") and err.count("\n") == 1


def test_a_file_growing_while_read_in_process(tmp_path):
    """A record half-written (as a crash or a slow writer leaves it), then completed."""
    logdir = str(tmp_path)
    source = R.event_file(logs.write_run(str(tmp_path / "src"), "r", "healthy", steps=STEPS))
    with open(source, "rb") as f:
        raw = f.read()
    offsets = R.record_offsets(source)
    run_dir = os.path.join(logdir, "growing")
    os.makedirs(run_dir)
    target = os.path.join(run_dir, os.path.basename(source))
    client, _, multiplexer = app_for(logdir, listing_ttl_s=0)
    seen = []
    cuts = [offsets[len(offsets) // 4] + 9, offsets[len(offsets) // 2] + 30, len(raw)]
    for cut in cuts:
        with open(target, "ab") as f:  # append the next piece, ending mid-record
            f.write(raw[os.path.getsize(target) if os.path.exists(target) else 0 : cut])
        multiplexer.AddRunsFromDirectory(logdir)  # as TensorBoard's reloader does
        multiplexer.Reload()
        runs = R.assert_json_answer(*R.client_get(client, "/runs"))
        health = R.assert_json_answer(*R.client_get(client, "/health", run="growing"))
        assert health["status"] in R.STATUSES
        seen.append([r["last_step"] for r in runs["runs"] if r["run"] == "growing"][0])
    assert seen[0] < seen[1] < seen[2] == STEPS - 1
    assert health["status"] == "healthy"


@pytest.mark.e2e
@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_damaged_growing_and_deleted_runs_through_real_tensorboard(tmp_path, load_fast):
    logdir = str(tmp_path / "logs")
    os.makedirs(logdir)
    _write_fault_logdir(logdir)
    doomed = logs.write_run(logdir, "doomed", "healthy", steps=STEPS)
    source = R.event_file(logs.write_run(str(tmp_path / "src"), "r", "collapsing", steps=STEPS))
    with open(source, "rb") as f:
        raw = f.read()
    half = R.record_offsets(source)[len(R.record_offsets(source)) // 2] + 20
    growing = os.path.join(logdir, "growing")
    os.makedirs(growing)
    target = os.path.join(growing, os.path.basename(source))
    with open(target, "wb") as f:
        f.write(raw[:half])  # ends inside a record
    with running_tensorboard(logdir, load_fast=load_fast) as tb:

        def get(path, **params):
            return tb.get(R.PREFIX + path + _query(params))

        expected = {"ok", "ok_with_junk", "doomed", "growing"} | set(DAMAGED)
        _wait(
            lambda: (
                expected <= {r["run"] for r in R.assert_json_answer(*get("/runs"))["runs"]}
                and all(r["last_step"] for r in R.assert_json_answer(*get("/runs"))["runs"])
            )
        )
        runs, healths = _check_all_routes(get)
        _assert_verdicts(runs, healths)
        first = healths["growing"]["last_step"]
        with open(target, "ab") as f:  # the writer finishes the file
            f.write(raw[half:])
        _wait(
            lambda: R.assert_json_answer(*get("/health", run="growing"))["last_step"] == STEPS - 1
        )
        assert first < STEPS - 1
        assert R.assert_json_answer(*get("/health", run="growing"))["status"] == "collapse"
        # Delete a run while it is served: every answer stays JSON, never a 5xx.
        shutil.rmtree(doomed)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            _check_all_routes(get)
            status, headers, body = get("/health", run="doomed")
            R.assert_json_answer(status, headers, body)
            time.sleep(0.3)
        output = tb.output()
    assert "Traceback" not in output, output[-3000:]
    assert "hjepa:" not in output, output[-3000:]  # the plugin logged no failure


def _query(params):
    from urllib.parse import urlencode

    return ("?" + urlencode(params)) if params else ""


def _wait(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met after %ds" % timeout)
        time.sleep(0.2)


def test_a_tag_missing_during_tensorboards_reload_is_read_again():
    """TensorBoard's Python path can list a tag, then miss it while it reloads the run."""
    from tensorboard_plugin_hjepa.data import ReloadTolerantProvider

    class Flaky:
        def __init__(self, failures):
            self.failures = failures
            self.calls = 0

        def read_last_scalars(self, *args, **kwargs):
            self.calls += 1
            if self.calls <= self.failures:
                raise KeyError("train/gradient_flow/predictor_max")
            return {"run": {}}

    flaky = Flaky(failures=2)
    assert ReloadTolerantProvider(flaky).read_last_scalars() == {"run": {}}
    assert flaky.calls == 3
    with pytest.raises(KeyError):  # a tag that stays missing is not hidden forever
        ReloadTolerantProvider(Flaky(failures=99)).read_last_scalars()
