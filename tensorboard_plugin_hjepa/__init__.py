"""TensorBoard plugin that diagnoses hierarchical JEPA (H-JEPA) training runs.

Importing this package never imports torch: it runs inside the TensorBoard server.
The writer API for trainers is in ``tensorboard_plugin_hjepa.summary``.
"""

from .version import __version__  # noqa: F401
