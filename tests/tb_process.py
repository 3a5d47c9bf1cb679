"""Start a real ``tensorboard`` process for end-to-end tests and benchmarks.

API::

    from tests.tb_process import running_tensorboard

    with running_tensorboard(logdir, load_fast="false") as tb:
        tb.url                                   # "http://localhost:PORT"
        status, headers, body = tb.get("/data/plugins_listing")
        listing = tb.get_json("/data/plugins_listing")
        runs = tb.get_json("/data/plugin/hjepa/runs")
    # the process (and TensorBoard's Rust data server, its child) is gone here

``running_tensorboard`` is a context manager (kill in ``finally``); ``TensorBoardProcess``
can also be used with ``start()`` / ``stop()``. A pytest fixture is one line::

    @pytest.fixture
    def tb(tmp_path):
        with running_tensorboard(logs.write_logdir(str(tmp_path))) as proc:
            yield proc

The port is TensorBoard's own choice (``--port 0``), read from the info file that
``tensorboard.manager`` writes to ``$TMPDIR/.tensorboard-info/pid-<PID>.info``; each
process gets a private TMPDIR so parallel processes never read each other's files.
Ready means ``/data/plugins_listing`` answers 200.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Dict, Optional, Sequence, Tuple

DEFAULT_TIMEOUT = 60.0


def tensorboard_command() -> list:
    """The ``tensorboard`` CLI of the running interpreter's environment."""
    script = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "tensorboard.main"]


class TensorBoardProcess:
    """One ``tensorboard`` server process.

    Args:
      logdir: the ``--logdir``.
      load_fast: "true" (Rust data server), "false" (Python multiplexer) or "auto".
      args: extra command-line flags (e.g. ``["--samples_per_plugin=hjepa=5"]``).
      command: the program to run instead of the ``tensorboard`` CLI (a list); the
        flags are appended to it. Used by the benchmark to start TensorBoard without
        this plugin.
      timeout: seconds to wait for readiness.
      env: extra environment variables.
      path_prefix: TensorBoard's ``--path_prefix`` (e.g. "/tb"); ``url`` includes it,
        so ``get("/data/...")`` works either way.
    """

    def __init__(
        self,
        logdir: str,
        *,
        load_fast: str = "false",
        args: Sequence[str] = (),
        command: Optional[Sequence[str]] = None,
        timeout: float = DEFAULT_TIMEOUT,
        env: Optional[Dict[str, str]] = None,
        path_prefix: str = "",
    ):
        self.logdir = logdir
        self.path_prefix = path_prefix.rstrip("/")
        self.load_fast = load_fast
        self.args = list(args)
        self.command = list(command) if command else tensorboard_command()
        self.timeout = timeout
        self.extra_env = dict(env or {})
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.start_to_ready_s: Optional[float] = None
        self.cpu_to_ready_s: Optional[float] = None  # CPU seconds used until ready
        self._tmpdir: Optional[str] = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL, with the path prefix if any (no trailing slash)."""
        return "http://localhost:%d%s" % (self.port, self.path_prefix)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> "TensorBoardProcess":
        """Start the process and wait until it serves; raises RuntimeError on failure."""
        self._tmpdir = tempfile.mkdtemp(prefix="hjepa-tb-")
        env = dict(os.environ, TMPDIR=self._tmpdir, TEMP=self._tmpdir, TMP=self._tmpdir)
        env.update(self.extra_env)
        argv = self.command + [
            "--logdir",
            self.logdir,
            "--port",
            "0",
            "--host",
            "localhost",
            "--load_fast",
            self.load_fast,
            "--reload_interval",
            "1",
        ]
        if self.path_prefix:
            argv += ["--path_prefix", self.path_prefix]
        argv += self.args
        self._log = open(os.path.join(self._tmpdir, "tensorboard.log"), "w+b")
        started = time.monotonic()
        # A new session: stop() can signal the process group (TensorBoard + data server).
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        return self

    def _info_file(self) -> str:
        return os.path.join(self._tmpdir, ".tensorboard-info", "pid-%d.info" % self.proc.pid)

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "tensorboard exited with %s:\n%s" % (self.proc.returncode, self.output())
                )
            if self.port is None:
                try:
                    with open(self._info_file()) as f:
                        self.port = int(json.load(f)["port"])
                except (OSError, ValueError, KeyError):
                    time.sleep(0.05)
                    continue
            try:
                status, _, _ = self.get("/data/plugins_listing", timeout=5)
                if status == 200:
                    self.start_to_ready_s = time.monotonic() - started
                    self.cpu_to_ready_s = self.cpu_seconds()
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            "tensorboard not ready after %.0f s:\n%s" % (self.timeout, self.output())
        )

    def output(self) -> str:
        """What the process printed so far (stdout and stderr)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def get(self, path: str, timeout: float = 60) -> Tuple[int, Dict[str, str], bytes]:
        """GET ``path`` (starting with "/"): (status, headers, body); errors are not raised."""
        request = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get_json(self, path: str, timeout: float = 60):
        """GET and parse JSON; raises AssertionError with the body on a non-200 answer."""
        status, _, body = self.get(path, timeout=timeout)
        if status != 200:
            raise AssertionError("GET %s -> %d: %s" % (path, status, body[:500]))
        return json.loads(body)

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (the Rust data server)."""
        return sum(_rss(pid) for pid in _tree(self.proc.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the process and its children."""
        return sum(_cpu(pid) for pid in _tree(self.proc.pid))

    def stop(self) -> None:
        """Kill the process group and clean up; safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc is not None:
            # The Rust data server may outlive its parent briefly; end the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


def _tree(pid: int):
    """pid and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir("/proc/%d/task" % current):
                with open("/proc/%d/task/%s/children" % (current, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _rss(pid: int) -> int:
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cpu(pid: int) -> float:
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@contextlib.contextmanager
def running_tensorboard(logdir: str, **kwargs):
    """Context manager: a started ``TensorBoardProcess`` (see its args), always stopped."""
    proc = TensorBoardProcess(logdir, **kwargs)
    try:
        yield proc.start()
    finally:
        proc.stop()
