"""The "H-JEPA Health" TensorBoard plugin: JSON routes and the tab's static files.

TensorBoard finds it through the entry point ``tensorboard_plugins: hjepa =
tensorboard_plugin_hjepa.plugin:HJepaLoader`` (setup.py). The routes (under
``/data/plugin/hjepa/``) are specified in ``http_api.md``; their work is done by
``health_service.HealthService`` over TensorBoard's data provider, so the plugin reads
the same data under both loading paths (``--load_fast=true|false``).

Samples per tag: TensorBoard keeps only a random sample of each tag's points unless
told otherwise (10 per tag for an unknown plugin name on the Python path, 1000 on the
Rust path, 1000 for plain "scalars" on both). ``HJepaLoader.fix_flags`` sets the limit
for plugin ``hjepa`` to ``DEFAULT_HJEPA_SAMPLES`` (2,000) unless the user set a value
for ``hjepa`` themselves. 2,000 is what the diagnosis's windows need: the recent window
is the last 10% of a curve's points, at most 200, so 2,000 is the shortest curve whose
windows are full-size, and the running-median minimum takes every point of curves up to
2,000 points (longer ones are bucket-averaged first). Every-step metrics of runs up to
2,000 steps (the 1,500-step tiny demo included) and every-100-step metrics of runs up
to 200,000 steps are kept whole; longer curves come as 2,000 uniformly sampled points,
always including the latest. The former default, 10,000, made TensorBoard spend
several times the CPU, wall time and memory loading long runs (the Rust data server's
reservoir work grows faster than linearly with its size); 2,000 costs little
(``benchmarks/plugin_latency/README.md`` has the figures), and the verdicts on the
benchmark's logdir are the same at both (``python -m benchmarks.plugin_latency.verdicts``
compares them). ``scalars`` keeps TensorBoard's own default (1000 per tag), because
that setting governs every scalar of every run in the logdir, not only H-JEPA runs.
Answers say when a curve is sampled and which flag keeps all of it.

Keep this module's imports light and safe: a plugin module that fails to import stops
``tensorboard`` from starting at all. The catalogue, the adapter and the diagnosis
(about 70 ms of imports) are imported on first use, not at start-up, so installing the
plugin adds almost nothing to TensorBoard's start-up time (measured by
``benchmarks/plugin_latency``).
"""

import functools
import logging
import re
import threading
import time

from tensorboard import context as tb_context
from tensorboard import errors
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from . import metadata
from .metadata import PLUGIN_NAME

logger = logging.getLogger(__name__)

TAB_NAME = "H-JEPA Health"
STATIC_PACKAGE = "tensorboard_plugin_hjepa.static"

# Content types of the static files served; a file of any other type is not served.
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
}
# Samples per "hjepa" tag TensorBoard is asked to keep (see the module docstring): the
# diagnosis's recent window (10% of the points, at most 200) is full-size from here on.
DEFAULT_HJEPA_SAMPLES = 2000
# TensorBoard's own default for plugin "scalars" on both loading paths.
TENSORBOARD_SCALARS_SAMPLES = 1000

_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
MAX_PARAM_LENGTH = 4096

# How long is_active() reuses its answer (it runs on every /data/plugins_listing).
_ACTIVE_TTL_S = {True: 30.0, False: 5.0}


def _parse_samples_per_plugin(value):
    """``"a=1,b=2"`` -> ``{"a": 1, "b": 2}`` (as TensorBoard's own flag parser)."""
    out = {}
    for token in value.split(","):
        if token.strip():
            name, count = token.strip().split("=")
            out[name.strip()] = int(count)
    return out


def static_files():
    """``{relative path: file}`` of every servable file of the frontend package.

    Only files with a known content type and names made of safe characters, found by
    walking the installed package, are ever served: a request path is looked up in
    this mapping, never joined onto a directory, so there is no path traversal.
    """
    try:
        from importlib import resources  # pylint: disable=import-outside-toplevel

        root = resources.files(STATIC_PACKAGE)
    except Exception:  # pylint: disable=broad-except  (package missing: no static files)
        logger.warning("hjepa: frontend package %s not found", STATIC_PACKAGE, exc_info=True)
        return {}
    found = {}

    def walk(node, prefix, depth):
        for child in node.iterdir():
            name = child.name
            if not _SAFE_SEGMENT.match(name) or name.startswith(("__", ".")):
                continue
            path = prefix + name
            if child.is_dir():
                if depth < 4 and name not in ("node_modules", "test", "tests"):
                    walk(child, path + "/", depth + 1)
            elif child.is_file() and _suffix(name) in CONTENT_TYPES:
                found[path] = child

    walk(root, "", 0)
    return found


def _suffix(name):
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


class HJepaPlugin(base_plugin.TBPlugin):
    """The "H-JEPA Health" tab: run verdicts, curves and the catalogue as JSON."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context, *, listing_ttl_s=None):
        """Args:
        context: the ``TBContext``; only ``context.data_provider`` is read.
        listing_ttl_s: override ``health_service.DEFAULT_LISTING_TTL_S`` (tests use 0).
        """
        self._provider = context.data_provider
        load_fast = getattr(context.flags, "load_fast", None)
        self._service_kwargs = {"sample_limits": sample_limits(context.sampling_hints, load_fast)}
        if listing_ttl_s is not None:
            self._service_kwargs["listing_ttl_s"] = listing_ttl_s
        self._service = None
        self._service_lock = threading.Lock()
        self._active = (False, -1e9)  # (answer, when)
        self._active_lock = threading.Lock()

    @property
    def service(self):
        """The ``health_service.HealthService`` (created on first use: its imports are
        heavy)."""
        if self._service is None:
            with self._service_lock:
                if self._service is None:
                    # pylint: disable-next=import-outside-toplevel
                    from .health_service import HealthService

                    self._service = HealthService(self._provider, **self._service_kwargs)
        return self._service

    # -- TensorBoard's plugin interface ------------------------------------------------
    def get_plugin_apps(self):
        apps = {
            "/runs": self._serve_runs,
            "/catalog": self._serve_catalog,
            "/health": self._serve_health,
            "/scalars": self._serve_scalars,
        }
        for path, resource in static_files().items():
            apps["/" + path] = functools.partial(self._serve_static, path, resource)
        if "/index.js" not in apps:
            apps["/index.js"] = functools.partial(self._serve_static, "index.js", None)
        return apps

    def is_active(self):
        """Active when some run has a catalogue tag (summary API, plain or upstream).

        Runs written by the summary API make the tab active through
        ``data_plugin_names`` already; this covers plain-scalar runs without listing
        "scalars" there (which would turn the tab on for every logdir with scalars).
        """
        if self._provider is None:
            return False
        now = time.monotonic()
        with self._active_lock:
            answer, when = self._active
            if now - when < _ACTIVE_TTL_S[answer]:
                return answer
        try:
            answer = _has_catalogue_scalars(self._provider)
        except Exception:  # pylint: disable=broad-except
            logger.warning("hjepa: is_active failed", exc_info=True)
            answer = False
        with self._active_lock:
            self._active = (answer, now)
        return answer

    def data_plugin_names(self):
        return (PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name=TAB_NAME)

    # -- routes ------------------------------------------------------------------------
    @staticmethod
    def _json(request, payload, code=200):
        from .health_service import Gzipped  # pylint: disable=import-outside-toplevel

        if isinstance(payload, Gzipped):  # serialised once per verdict, not per request
            return http_util.Respond(
                request, bytes(payload), "application/json", code=code, content_encoding="gzip"
            )
        return http_util.Respond(request, payload, "application/json", code=code)

    def _handle(self, request, work):
        """Run ``work()`` and answer its result, or a JSON error; never an HTML error."""
        try:
            return self._json(request, work())
        except errors.PublicError as e:
            return self._json(request, {"error": str(e)}, code=e.http_code)
        except Exception as e:  # pylint: disable=broad-except  (a bug: say so in JSON)
            logger.exception("hjepa: %s failed", request.path)
            return self._json(
                request, {"error": "internal error: %s: %s" % (type(e).__name__, e)}, code=500
            )

    @staticmethod
    def _param(request, name):
        """The single, non-empty value of a query parameter.

        Raises:
          errors.InvalidArgumentError: missing, empty, repeated or too long.
        """
        values = request.args.getlist(name)
        if not values:
            raise errors.InvalidArgumentError("missing parameter %r" % (name,))
        if len(values) > 1:
            raise errors.InvalidArgumentError(
                "parameter %r given %d times; give it once" % (name, len(values))
            )
        value = values[0]
        if not value:
            raise errors.InvalidArgumentError("parameter %r is empty" % (name,))
        if len(value) > MAX_PARAM_LENGTH:
            raise errors.InvalidArgumentError(
                "parameter %r is longer than %d characters" % (name, MAX_PARAM_LENGTH)
            )
        return value

    @classmethod
    def _embed_dim(cls, request):
        """The optional ``embed_dim`` parameter: a D to assume for runs whose manifest
        gives none (None when absent).

        Raises:
          errors.InvalidArgumentError: given but empty, repeated, not an integer in
            [1, metadata.MAX_EMBED_DIM].
        """
        if "embed_dim" not in request.args:
            return None
        text = cls._param(request, "embed_dim")
        try:
            return metadata.parse_embed_dim(text)
        except ValueError as e:
            raise errors.InvalidArgumentError("parameter 'embed_dim' %s" % e) from None

    @staticmethod
    def _where(request):
        return (tb_context.from_environ(request.environ), _experiment_id(request.environ))

    @wrappers.Request.application
    def _serve_runs(self, request):
        def work():
            embed_dim = self._embed_dim(request)
            return self.service.runs_impl(*self._where(request), embed_dim=embed_dim)

        return self._handle(request, work)

    @wrappers.Request.application
    def _serve_catalog(self, request):
        return self._handle(request, _catalog_dict)

    @wrappers.Request.application
    def _serve_health(self, request):
        def work():
            run = self._param(request, "run")
            embed_dim = self._embed_dim(request)
            return self.service.health_gzip_impl(*self._where(request), run, embed_dim=embed_dim)

        return self._handle(request, work)

    @wrappers.Request.application
    def _serve_scalars(self, request):
        def work():
            run = self._param(request, "run")
            tag = self._param(request, "tag")
            return self.service.scalars_impl(*self._where(request), run, tag)

        return self._handle(request, work)

    def _serve_static(self, path, resource, environ, start_response):
        request = wrappers.Request(environ)
        if resource is None:
            response = self._json(
                request, {"error": "frontend file %r is not installed" % (path,)}, code=404
            )
        else:
            try:
                body = resource.read_bytes()
            except OSError as e:
                response = self._json(
                    request, {"error": "cannot read %r: %s" % (path, e)}, code=404
                )
            else:
                response = http_util.Respond(request, body, CONTENT_TYPES[_suffix(path)])
        return response(environ, start_response)


def sample_limits(sampling_hints, load_fast=None):
    """``{plugin name: samples kept per tag or None (all)}`` from ``--samples_per_plugin``.

    ``sampling_hints`` is None when the data provider was not built from flags (tests,
    the doctor): then nothing is known to be sampled. Without an ``hjepa`` entry
    (``HJepaLoader.fix_flags`` did not run, e.g. the plugin class was passed to
    ``program.TensorBoard`` directly) TensorBoard's own defaults apply: 10 on the
    Python loading path (``load_fast == "false"``), 1000 on the Rust path.
    """
    if sampling_hints is None:
        return {}
    tensorboard_default = 10 if load_fast == "false" else 1000
    hjepa = sampling_hints.get(PLUGIN_NAME, tensorboard_default)
    scalars = sampling_hints.get("scalars", TENSORBOARD_SCALARS_SAMPLES)
    return {PLUGIN_NAME: hjepa or None, "scalars": scalars or None}


def _has_catalogue_scalars(provider) -> bool:
    """Whether any run has a plain scalar tag that the catalogue knows.

    Light on purpose (it runs at TensorBoard's first ``plugins_listing``): the
    catalogue is imported only when there is a tag to resolve.
    """
    # read_last_scalars, not list_scalars: on the Python loading path the latter scans
    # every event of every tag.
    listing = (
        provider.read_last_scalars(
            tb_context.RequestContext(), experiment_id="", plugin_name="scalars"
        )
        or {}
    )
    tags = {tag for run_tags in listing.values() for tag in run_tags}
    if not tags:
        return False
    from . import catalog  # pylint: disable=import-outside-toplevel

    return any(catalog.resolve(tag) is not None for tag in tags)


def _experiment_id(environ):
    from tensorboard import plugin_util  # pylint: disable=import-outside-toplevel

    return plugin_util.experiment_id(environ)


@functools.lru_cache(maxsize=1)
def _catalog_dict():
    from . import catalog  # pylint: disable=import-outside-toplevel

    return catalog.to_dict()


class HJepaLoader(base_plugin.TBLoader):
    """Loads ``HJepaPlugin``; asks TensorBoard to keep ``DEFAULT_HJEPA_SAMPLES`` points
    per "hjepa" tag (what the diagnosis's windows need)."""

    def fix_flags(self, flags):
        """Add ``hjepa=DEFAULT_HJEPA_SAMPLES`` to ``--samples_per_plugin``.

        A value the user gave for ``hjepa`` (0: keep all) is kept. ``scalars`` is not
        changed (see the module docstring).
        """
        samples = getattr(flags, "samples_per_plugin", None) or {}
        if isinstance(samples, str):
            samples = _parse_samples_per_plugin(samples)
        samples = dict(samples)
        samples.setdefault(PLUGIN_NAME, DEFAULT_HJEPA_SAMPLES)
        flags.samples_per_plugin = samples

    def load(self, context):
        return HJepaPlugin(context)
