"""Start TensorBoard exactly as the ``tensorboard`` CLI does, with or without this plugin.

    python -m benchmarks.plugin_latency.serve --hjepa=on  --logdir X ...   # as installed
    python -m benchmarks.plugin_latency.serve --hjepa=off --logdir X ...   # plugin absent

``off`` loads TensorBoard's static plugins and every ``tensorboard_plugins`` entry point
except ``hjepa``, whose module is then never imported: the same process as if the
package were not installed, without a second virtualenv.
"""

import sys

from absl import app
from tensorboard import default, main_lib, program
from tensorboard.plugins import base_plugin


def _plugins(with_hjepa: bool):
    if with_hjepa:
        return default.get_plugins()
    dynamic = [
        ep.load()
        for ep in default._iter_entry_points("tensorboard_plugins")  # pylint: disable=protected-access
        if ep.name != "hjepa"
    ]
    return default.get_static_plugins() + dynamic


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    mode = "on"
    for arg in list(argv[1:]):
        if arg.startswith("--hjepa="):
            mode = arg.split("=", 1)[1]
            argv.remove(arg)
    if mode not in ("on", "off"):
        raise SystemExit("--hjepa must be on or off, got %r" % mode)
    main_lib.global_init()
    tensorboard = program.TensorBoard(plugins=_plugins(mode == "on"))
    sys.argv = argv
    try:
        app.run(tensorboard.main, flags_parser=tensorboard.configure, argv=argv)
    except base_plugin.FlagsError as e:
        print("Error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
