"""The README and docs/metrics.md state what the product does: tables and commands stay true."""

import os
import re

from tensorboard_plugin_hjepa.catalog import markdown

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def test_metric_table_and_corrections_match_the_catalogue():
    doc = _read("docs/metrics.md")
    assert markdown.replace_blocks(doc) == doc, (
        "docs/metrics.md is stale: run"
        " python -m tensorboard_plugin_hjepa.catalog.markdown docs/metrics.md"
    )
    assert markdown.metric_table() in doc and markdown.corrections() in doc


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    blocks = _bash_blocks(_read("README.md"))
    assert len(blocks) == 2, "README has one main command and one test command"
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    ci_lines = [line.strip() for line in _read(".ci/run").splitlines()]
    assert test_command in ci_lines


def test_main_command_trains_and_starts_tensorboard():
    main_command = _bash_blocks(_read("README.md"))[0]
    assert "torch==2.13.0" in main_command
    assert "hjepa-train" in main_command and "tensorboard --logdir" in main_command
