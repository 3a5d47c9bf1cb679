"""The wheel a user installs: contents, entry points, and no torch for the plugin."""

import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PACKAGE = os.path.join(ROOT, "tensorboard_plugin_hjepa")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            ROOT,
        ],
        check=True,
    )
    (path,) = out.glob("tensorboard_plugin_hjepa-*.whl")
    return path


def test_wheel_ships_frontend_configs_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        requires = next(z.read(n).decode() for n in names if n.endswith("METADATA"))
    assert "tensorboard_plugin_hjepa/static/index.js" in names
    assert "tensorboard_plugin_hjepa/http_api.md" in names
    assert any(n.startswith("hjepa_trainer/configs/") and n.endswith(".yaml") for n in names)
    assert not any(n.startswith("trainer/") for n in names), "the bare name 'trainer' is taken"
    assert "hjepa = tensorboard_plugin_hjepa.plugin:HJepaLoader" in entry_points
    assert "hjepa-doctor = tensorboard_plugin_hjepa.doctor:main" in entry_points
    assert "hjepa-train = hjepa_trainer.cli:main" in entry_points
    base_requirements = [
        line
        for line in requires.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert base_requirements and not any("torch" in r for r in base_requirements)
    assert any("torch" in r and 'extra == "train"' in r for r in requires.splitlines())


def test_plugin_modules_never_import_torch():
    """Every module of the plugin package, those loaded lazily too (the diagnosis, the
    doctor, the timeline), imports without torch."""
    modules = sorted(
        "tensorboard_plugin_hjepa" + ("." + name if name else "")
        for name in (
            os.path.relpath(os.path.join(d, f), PACKAGE)[: -len(".py")]
            .replace(os.sep, ".")
            .replace("__init__", "")
            .rstrip(".")
            for d, _, files in os.walk(PACKAGE)
            for f in files
            if f.endswith(".py")
        )
    )
    assert len(modules) > 30 and "tensorboard_plugin_hjepa.diagnosis.timeline" in modules
    code = (
        "import importlib, sys\n"
        "for name in %r:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad\n" % modules
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_reader_never_imports_the_writer():
    """The plugin, its routes, the adapter, the engine and the doctor read runs (and
    their manifests) without the event-file writer of ``summary.py``."""
    modules = [
        "tensorboard_plugin_hjepa.plugin",
        "tensorboard_plugin_hjepa.health_service",
        "tensorboard_plugin_hjepa.data",
        "tensorboard_plugin_hjepa.run_data",
        "tensorboard_plugin_hjepa.diagnosis",
        "tensorboard_plugin_hjepa.doctor",
        "tensorboard.backend.event_processing.data_provider",
    ]
    code = (
        "import importlib, sys\n"
        "for name in %r:\n"
        "    importlib.import_module(name)\n"
        "from tensorboard_plugin_hjepa import metadata\n"
        "assert metadata.RunManifest(num_levels=1, hierarchy_weights=[1]).embed_dim is None\n"
        "bad = [m for m in ('tensorboard_plugin_hjepa.summary',\n"
        "                   'tensorboard.summary.writer.event_file_writer') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter\n"
        "assert RunManifest is metadata.RunManifest\n" % modules
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fresh_virtualenv_without_torch_serves_the_plugin(wheel, tmp_path):
    """A user's `pip install` in a new virtualenv: the plugin imports and TensorBoard
    lists it, with no torch anywhere in that environment."""
    from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter
    from tests.tb_process import running_tensorboard

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
    check = (
        "import importlib.util, tensorboard_plugin_hjepa, tensorboard_plugin_hjepa.plugin;"
        "assert importlib.util.find_spec('torch') is None, 'torch installed'"
    )
    subprocess.run([python, "-c", check], check=True)

    logdir = tmp_path / "logs"
    manifest = RunManifest(num_levels=2, hierarchy_weights=[1.0, 0.5], embed_dim=64)
    with SummaryWriter(str(logdir / "run"), manifest=manifest) as writer:
        for step in range(20):
            writer.scalar("loss.total", 1.0 / (step + 1), step)
    with running_tensorboard(
        str(logdir), load_fast="true", command=[str(venv / "bin" / "tensorboard")]
    ) as tb:
        listing = tb.get_json("/data/plugins_listing")
        assert listing["hjepa"]["enabled"] is True
        assert listing["hjepa"]["tab_name"] == "H-JEPA Health"
        runs = tb.get_json("/data/plugin/hjepa/runs")["runs"]
        assert [r["run"] for r in runs] == ["run"]
