"""Render the catalogue as the metric table and corrections list of ``docs/metrics.md``.

``python -m tensorboard_plugin_hjepa.catalog.markdown docs/metrics.md`` rewrites the
blocks between the ``<!-- BEGIN x -->`` / ``<!-- END x -->`` markers; a test fails when
``docs/metrics.md`` and the catalogue disagree.
"""

import re
import sys

from . import branches, derived, metrics, patterns
from .describe import rule_summary

BLOCKS = ("metric-table", "corrections")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def metric_table() -> str:
    rows = ["| tag | § | unit | logged | verdict rule |", "|---|---|---|---|---|"]
    for metric in metrics():
        section = str(metric.section) if metric.section else "project"
        rows.append(
            "| `%s` | %s | %s | %s | %s |"
            % (
                _cell(metric.tag),
                section,
                _cell(metric.unit or "-"),
                _cell(metric.frequency.text),
                _cell("text, not judged" if metric.kind == "text" else rule_summary(metric.rule)),
            )
        )
    return "\n".join(rows)


def corrections() -> str:
    items = []
    for metric in metrics():
        for correction in (metric.correction, metric.rule.correction if metric.rule else None):
            if correction:
                items.append(("`%s`" % metric.tag, correction))
    for record in derived():
        if record.rule is not None and record.rule.correction:
            items.append(("`%s`" % record.key, record.rule.correction))
    for branch in branches():
        if branch.correction:
            items.append(("flowchart: %s" % branch.question, branch.correction))
    for pattern in patterns():
        if pattern.correction:
            items.append(("pattern: %s" % pattern.name, pattern.correction))
    lines = []
    for subject, c in items:
        lines.append(
            "- **%s**: the reference says %s. The product uses: %s. Why: %s."
            % (subject, c.reference_says, c.rule, c.why)
        )
    return "\n".join(lines)


def render(name: str) -> str:
    return {"metric-table": metric_table, "corrections": corrections}[name]()


def replace_block(text: str, name: str, content: str) -> str:
    """The text with its ``<!-- BEGIN name -->`` ... ``<!-- END name -->`` block set to
    ``content``.

    Raises:
      ValueError: the text has no such block.
    """
    pattern = re.compile(r"(<!-- BEGIN %s -->\n)(?:.*?\n)?(<!-- END %s -->)" % (name, name), re.S)
    if not pattern.search(text):
        raise ValueError(
            "the text has no <!-- BEGIN %s --> ... <!-- END %s --> block" % (name, name)
        )
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)


def replace_blocks(text: str) -> str:
    """The text with every known marker block re-rendered from the catalogue."""
    for name in BLOCKS:
        text = replace_block(text, name, render(name))
    return text


def rewrite(argv, transform, usage: str) -> int:
    """``python -m ... docs/metrics.md``: rewrite the one file named in ``argv`` through
    ``transform``; exit status 2 with ``usage`` when it is not one file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: %s docs/metrics.md" % usage, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        text = transform(f.read())
    with open(argv[0], "w", encoding="utf-8") as f:
        f.write(text)
    return 0


def main(argv=None):
    return rewrite(argv, replace_blocks, "python -m tensorboard_plugin_hjepa.catalog.markdown")


if __name__ == "__main__":
    sys.exit(main())
