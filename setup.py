"""Packaging for tensorboard-plugin-hjepa.

One distribution, two import packages:
- ``tensorboard_plugin_hjepa``: the TensorBoard plugin, catalogue, summary API and
  doctor. Depends on tensorboard, werkzeug, numpy and protobuf only (never torch),
  because it runs inside the TensorBoard server.
- ``hjepa_trainer`` (source folder ``trainer/``): the reference trainer, installed
  with the ``[train]`` extra (torch, pyyaml).
"""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    about = {}
    with open(os.path.join(HERE, "tensorboard_plugin_hjepa", "version.py")) as f:
        exec(f.read(), about)
    return about["__version__"]


def _readme():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        return f.read()


setuptools.setup(
    name="tensorboard-plugin-hjepa",
    version=_version(),
    description="TensorBoard tab that tells whether a hierarchical JEPA training run is healthy",
    long_description=_readme(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=[
        "tensorboard_plugin_hjepa",
        "tensorboard_plugin_hjepa.catalog",
        "tensorboard_plugin_hjepa.diagnosis",
        # The tab's ES modules are shipped inside the wheel as this package's data:
        # no Node at install time, no network at run time.
        "tensorboard_plugin_hjepa.static",
        "hjepa_trainer",
    ],
    package_dir={
        "tensorboard_plugin_hjepa": "tensorboard_plugin_hjepa",
        "tensorboard_plugin_hjepa.static": "frontend",
        "hjepa_trainer": "trainer",
    },
    package_data={
        "tensorboard_plugin_hjepa": ["http_api.md"],
        # index.js and style.css at the top, the modules on their shelves.
        "tensorboard_plugin_hjepa.static": [
            "*.js",
            "*.css",
            "*.html",
            "*.svg",
            "lib/*.js",
            "page/*.js",
            "charts/*.js",
            "views/*.js",
        ],
        "hjepa_trainer": ["configs/*.yaml"],
    },
    install_requires=[
        "tensorboard>=2.12",
        "werkzeug>=2.0",
        "numpy>=1.21",
        "protobuf>=3.20",
    ],
    extras_require={
        "train": ["torch>=2.3", "pyyaml>=5.4", "pillow>=9.0", "tqdm>=4.60"],
        # hjepa_trainer.lightning_callback.HJepaHealth: the metrics in a Lightning module.
        "lightning": ["lightning>=2.1", "torch>=2.3", "pyyaml>=5.4", "tqdm>=4.60"],
        # Browser tests drive Debian's chromium through Playwright (no browser download);
        # scikit-learn ships the real images (its digits) of a scenario.
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "playwright>=1.40",
            "scikit-learn>=1.0",
            "ruff>=0.6",
            "lightning>=2.1",  # the Lightning callback's tests train real Lightning runs
        ],
    },
    entry_points={
        "tensorboard_plugins": [
            "hjepa = tensorboard_plugin_hjepa.plugin:HJepaLoader",
        ],
        "console_scripts": [
            "hjepa-doctor = tensorboard_plugin_hjepa.doctor:main",
            "hjepa-train = hjepa_trainer.cli:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: TensorFlow",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
