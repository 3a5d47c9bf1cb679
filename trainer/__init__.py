"""Reference H-JEPA trainer (import name ``hjepa_trainer``; install the ``[train]`` extra).

Nothing heavy is imported here: ``hjepa_trainer.cli`` must be able to report a
missing torch with a clear message.
"""

from tensorboard_plugin_hjepa.version import __version__  # noqa: F401
