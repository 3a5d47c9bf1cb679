"""Every module the tab imports is a file of frontend/ that the wheel ships (a module
left out of setup.py's package_data is a tab that never loads)."""

import os
import re

from .conftest import ROOT

FRONTEND = os.path.join(ROOT, "frontend")


def shipped_patterns():
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r'"tensorboard_plugin_hjepa\.static":\s*\[([^\]]*)\]', text)
    assert match, "setup.py has no package_data for tensorboard_plugin_hjepa.static"
    return re.findall(r'"([^"]+)"', match.group(1))


def shipped(name, patterns):
    """Whether a package_data glob ships ``name``: as setuptools' glob, ``*`` does not
    cross a folder (``*.js`` ships ``index.js``, not ``lib/format.js``)."""
    return any(
        re.fullmatch(re.escape(p).replace(r"\*", "[^/]*"), name) is not None for p in patterns
    )


def test_every_imported_module_is_a_shipped_file():
    patterns = shipped_patterns()
    todo, seen = ["index.js"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = os.path.join(FRONTEND, name)
        assert os.path.isfile(path), "%s is imported but is not in frontend/" % name
        assert shipped(name, patterns), "%s is not in package_data %r" % (name, patterns)
        with open(path, encoding="utf-8") as f:
            for target in re.findall(
                r"""^import [^;]*? from '(\.\.?/[^']+)';""", f.read(), re.M | re.S
            ):
                todo.append(os.path.normpath(os.path.join(os.path.dirname(name), target)))
    assert "style.css" not in seen and os.path.isfile(os.path.join(FRONTEND, "style.css"))
    assert shipped("style.css", patterns)
    # Every module of frontend/ is reached from index.js (no dead file shipped).
    modules = {
        os.path.relpath(os.path.join(folder, n), FRONTEND)
        for folder, _, names in os.walk(FRONTEND)
        for n in names
        if n.endswith(".js")
    }
    assert modules == seen, "not imported by the tab: %s" % sorted(modules - seen)
