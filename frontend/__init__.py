"""Static files of the H-JEPA Health tab (ES modules), served by the plugin."""
