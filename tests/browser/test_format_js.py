"""Runs the Node unit tests of the tab's pure helpers (frontend/lib/).

The product needs no Node; these tests use it when it is installed and skip otherwise.
"""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_format_js_unit_tests():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--test", os.path.join(HERE, "js")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
