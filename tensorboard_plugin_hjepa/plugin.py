"""The "H-JEPA Health" TensorBoard plugin (minimal bootstrap; grows in place)."""

from tensorboard.plugins import base_plugin

from .metadata import PLUGIN_NAME


class HJepaPlugin(base_plugin.TBPlugin):
    plugin_name = PLUGIN_NAME

    def __init__(self, context):
        self._context = context

    def get_plugin_apps(self):
        return {}

    def is_active(self):
        return False

    def data_plugin_names(self):
        return (PLUGIN_NAME, "scalars")

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name="H-JEPA Health")


class HJepaLoader(base_plugin.TBLoader):
    def load(self, context):
        return HJepaPlugin(context)
