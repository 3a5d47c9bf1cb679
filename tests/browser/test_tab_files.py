"""Every module the tab imports is a file of frontend/ that the wheel ships (a module
left out of setup.py's package_data is a tab that never loads)."""

import fnmatch
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
        assert any(fnmatch.fnmatch(name, p) for p in patterns), "%s is not in package_data %r" % (
            name,
            patterns,
        )
        with open(path, encoding="utf-8") as f:
            for target in re.findall(
                r"""^import [^;]*? from '\./([^']+)';""", f.read(), re.M | re.S
            ):
                todo.append(os.path.normpath(os.path.join(os.path.dirname(name), target)))
    assert "style.css" not in seen and os.path.isfile(os.path.join(FRONTEND, "style.css"))
    assert any(fnmatch.fnmatch("style.css", p) for p in patterns)
    # Every module of frontend/ is reached from index.js (no dead file shipped).
    modules = {n for n in os.listdir(FRONTEND) if n.endswith(".js")}
    assert modules == seen, "not imported by the tab: %s" % sorted(modules - seen)
