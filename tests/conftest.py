"""Shared pytest fixtures: generated logdirs, an in-process TensorBoard app, a real one.

- ``standard_logdir`` (session): ``tests.logs.STANDARD_RUNS`` (healthy, collapsing,
  diverging, stuck, missing-metric summary-API runs; a plain-scalar run; an upstream-
  style run), a run with a hostile name (``HOSTILE_RUN``) and a run of unrelated
  scalars, 600 steps each.
- ``make_app(logdir, **plugin_kwargs)``: TensorBoard's WSGI application with only this
  plugin, over ``EventMultiplexer -> MultiplexerDataProvider`` (all samples kept), and
  a ``werkzeug.test.Client`` on it: returns ``(client, plugin, multiplexer)``; call
  ``multiplexer.Reload()`` after writing more data.
- ``tensorboard_process``: see ``tests.tb_process.running_tensorboard``.
"""

import os

import pytest
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tensorboard_plugin_hjepa import plugin as plugin_lib
from tests import logs

HOSTILE_RUN = "<img src=x onerror=alert(1)>"
STANDARD_STEPS = 600


def multiplexer_for(logdir: str, sampling_hints=None):
    """An ``EventMultiplexer`` over ``logdir``, reloaded once, keeping every sample
    unless ``sampling_hints`` (``{plugin: samples per tag}``, as
    ``--samples_per_plugin``) says otherwise."""
    guidance = {"hjepa": 0, "scalars": 0}
    guidance.update(sampling_hints or {})
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance={"tensors": 0, "scalars": 0}, tensor_size_guidance=guidance
    )
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    return multiplexer


def provider_for(logdir: str):
    """A ``MultiplexerDataProvider`` that keeps every sample."""
    return data_provider.MultiplexerDataProvider(multiplexer_for(logdir), logdir)


def app_for(logdir: str, sampling_hints=None, **plugin_kwargs):
    """(werkzeug test Client, HJepaPlugin, EventMultiplexer) over ``logdir``, in process.

    ``sampling_hints``: as TensorBoard's ``--samples_per_plugin`` (None: keep all and
    tell the plugin nothing about sampling).
    """
    multiplexer = multiplexer_for(logdir, sampling_hints)
    provider = data_provider.MultiplexerDataProvider(multiplexer, logdir)
    context = base_plugin.TBContext(
        data_provider=provider,
        logdir=logdir,
        plugin_name_to_instance={},
        sampling_hints=sampling_hints,
    )
    plugin = plugin_lib.HJepaPlugin(context, **plugin_kwargs)
    app = application.TensorBoardWSGI([plugin], data_provider=provider)
    return werkzeug_test.Client(app), plugin, multiplexer


@pytest.fixture(scope="session")
def standard_logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("hjepa-logs"))
    logs.write_logdir(logdir, steps=STANDARD_STEPS)
    logs.write_run(logdir, HOSTILE_RUN, "healthy", steps=200, seed=11)
    logs.write_unrelated_run(logdir)
    return logdir


@pytest.fixture
def make_app():
    return app_for


@pytest.fixture(scope="session")
def standard_app(standard_logdir):
    """(client, plugin, multiplexer) over ``standard_logdir`` (shared: do not rely on
    cache counts)."""
    return app_for(standard_logdir, listing_ttl_s=0)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: starts real tensorboard processes")


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
