"""Hostile route parameters (issue 8): no 5xx, JSON always, no input reflected as HTML.

Every route of the plugin (``runs``, ``catalog``, ``health``, ``scalars``, the static
files and unknown paths) gets unknown, empty, very long (1 MB), unicode, invalid
UTF-8, path-like (``../../etc/passwd``), HTML/script and repeated parameters: a table
of named cases, then hypothesis-generated raw query strings (any bytes, percent-
encoded) over every route. Each answer must be below 500, carry TensorBoard's
``X-Content-Type-Options: nosniff``, and for the JSON routes have a JSON content type
and a body that parses. ``EXAMPLES`` counts the hypothesis inputs tried.
"""

import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import reliability_util as R
from tests.conftest import HOSTILE_RUN

JSON_ROUTES = ("/runs", "/catalog", "/health", "/scalars")
OTHER_PATHS = (
    "/index.js",
    "/style.css",
    "/nope",
    "/../../etc/passwd",
    "/index.js/..",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/health/extra",
    "/<script>",
    "/",
)
MEGABYTE = "x" * (1 << 20)
NASTY = [
    "",
    " ",
    "\x00",
    "no_such_run",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "file:///etc/passwd",
    "<script>alert(1)</script>",
    HOSTILE_RUN,
    "\"'><svg onload=alert(1)>",
    "héalthy",
    "健康",
    "\U0001f600",
    "\u202e\u200b",
    "healthy\nX-Injected: 1",
    "healthy\r\n\r\n<html>",
    "%00",
    "%",
    "%zz",
    "healthy%2F..",
    "train/loss/total",
    "train/loss/total" * 400,
    "a" * 4097,
    MEGABYTE,
]
EXAMPLES = {"count": 0}


def _check(response, path):
    status = response.status_code
    body = response.get_data()
    assert status < 500, (path, status, body[:300])
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    content_type = response.headers.get("Content-Type", "")
    if path in JSON_ROUTES:
        return R.assert_json_answer(status, response.headers, body)
    # Static and unknown paths: a known frontend file, or a 404 that is not HTML.
    if status == 200:
        assert path.endswith((".js", ".css")), (path, content_type)
    else:
        assert "text/html" not in content_type or b"<script" not in body.lower(), (path, body)
    return None


def _get(client, path, query: str):
    return client.get(R.PREFIX + path, query_string=query, headers={"Accept-Encoding": "identity"})


@pytest.mark.parametrize(
    "value", NASTY, ids=lambda v: repr(v[:24]) + ("...%d" % len(v) if len(v) > 24 else "")
)
@pytest.mark.parametrize("path", JSON_ROUTES)
def test_named_hostile_values_on_every_route(standard_app, path, value):
    client = standard_app[0]
    for query in (
        {"run": value},
        {"run": value, "tag": value},
        {"run": "healthy", "tag": value},
        {"tag": value},
    ):
        response = _get(client, path, urllib.parse.urlencode(query))
        answer = _check(response, path)
        if path in ("/health", "/scalars") and value != "healthy":
            if response.status_code != 200:
                assert set(answer) == {"error"} and isinstance(answer["error"], str)
    if path in ("/health", "/scalars"):
        response = _get(client, path, urllib.parse.urlencode({"run": value, "tag": value}))
        if len(value) > 4096:  # too long: refused before any lookup
            assert response.status_code == 400
            assert value[:100] not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_repeated_and_odd_parameter_shapes(standard_app, path):
    client = standard_app[0]
    for query in (
        "run=healthy&run=healthy",
        "run=healthy&run=collapsing",
        "run=healthy&tag=train/loss/total&tag=train/loss/total",
        "run",
        "run=",
        "=healthy",
        "&&&",
        "run=healthy&run",
        "run[]=healthy",
        "run=healthy;tag=train/loss/total",
        "run=%ff%fe",
        "run=%c0%ae%c0%ae%2f",
        "run=" + "%41" * 5000,
        "x=" + "y" * (1 << 20),
    ):
        response = _get(client, path, query)
        answer = _check(response, path)
        if path in ("/health", "/scalars") and "&run=" in query:
            assert response.status_code == 400 and "once" in answer["error"]


@pytest.mark.parametrize("path", OTHER_PATHS)
def test_static_and_unknown_paths_never_leak_files(standard_app, path):
    client = standard_app[0]
    response = _get(client, path, "run=" + urllib.parse.quote(HOSTILE_RUN))
    _check(response, path)
    assert b"root:" not in response.get_data()


def test_the_hostile_run_is_served_as_json_data(standard_app):
    """A run named like HTML comes back as a JSON string, with a JSON content type."""
    client = standard_app[0]
    runs = _check(_get(client, "/runs", ""), "/runs")
    assert HOSTILE_RUN in {r["run"] for r in runs["runs"]}
    health = _check(
        _get(client, "/health", urllib.parse.urlencode({"run": HOSTILE_RUN})), "/health"
    )
    assert health["run"] == HOSTILE_RUN and health["status"] in R.STATUSES
    body = _get(
        client, "/scalars", urllib.parse.urlencode({"run": HOSTILE_RUN, "tag": "train/loss/total"})
    )
    assert _check(body, "/scalars")["run"] == HOSTILE_RUN


_NAMES = st.sampled_from(["run", "tag", "RUN", "run ", "", "x", "experiment"])
_VALUES = st.one_of(
    st.text(max_size=64),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        NASTY[:-1]
        + ["healthy", "collapsing", "train/loss/total", "train/collapse/level0_mean_std_per_dim"]
    ),
    st.text(alphabet="./\\%<>\"'&;=?#", max_size=40),
)


def _raw_query(pairs, raw_bytes):
    """A query string of ``pairs`` percent-encoded as UTF-8, or, with ``raw_bytes``, of
    latin-1 bytes (invalid UTF-8 on the wire)."""
    encoding = "latin-1" if raw_bytes else "utf-8"
    return "&".join(
        "%s=%s"
        % (
            urllib.parse.quote(k.encode(encoding, "replace"), safe=""),
            urllib.parse.quote(v.encode(encoding, "replace"), safe=""),
        )
        for k, v in pairs
    )


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(JSON_ROUTES + OTHER_PATHS),
    pairs=st.lists(st.tuples(_NAMES, _VALUES), max_size=4),
    raw_bytes=st.booleans(),
)
def test_fuzzed_queries_on_every_route(standard_app, path, pairs, raw_bytes):
    EXAMPLES["count"] += 1
    client = standard_app[0]
    _check(_get(client, path, _raw_query(pairs, raw_bytes)), path)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=_VALUES, tag=_VALUES)
def test_fuzzed_run_and_tag_are_answered_404_or_data(standard_app, run, tag):
    """A single run/tag pair: 200 for a real run (and tag), else a 400/404 JSON error."""
    EXAMPLES["count"] += 1
    client = standard_app[0]
    for path in ("/health", "/scalars"):
        response = _get(client, path, urllib.parse.urlencode({"run": run, "tag": tag}))
        answer = _check(response, path)
        if response.status_code != 200:
            assert response.status_code in (400, 404) and "error" in answer


class _GoneProvider:
    """A data provider whose listings fail (a data server that went away)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read_last_scalars(self, *args, **kwargs):
        raise OSError("data server gone")

    def list_scalars(self, *args, **kwargs):
        raise OSError("data server gone")


def test_a_provider_that_fails_gives_json_answers_not_500(standard_logdir):
    """``health`` and ``scalars`` used to answer 500 when the listing itself failed."""
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test

    from tensorboard_plugin_hjepa import plugin as plugin_lib
    from tests.conftest import provider_for

    provider = _GoneProvider(provider_for(standard_logdir))
    context = base_plugin.TBContext(
        data_provider=provider, logdir=standard_logdir, plugin_name_to_instance={}
    )
    client = werkzeug_test.Client(
        application.TensorBoardWSGI(
            [plugin_lib.HJepaPlugin(context, listing_ttl_s=0)], data_provider=provider
        )
    )
    runs = _check(_get(client, "/runs", ""), "/runs")
    assert runs["runs"] == [] and "data server gone" in runs["error"]
    response = _get(client, "/health", "run=healthy")
    health = _check(response, "/health")
    assert response.status_code == 200 and health["status"] == "unknown"
    assert "data server gone" in health["reason"]
    response = _get(client, "/scalars", "run=healthy&tag=train/loss/total")
    body = _check(response, "/scalars")
    assert response.status_code == 200 and "data server gone" in body["error"]
