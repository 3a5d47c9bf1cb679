"""Every judged rule fires on what the trainer's own metric code produces.

Each case of ``tests/rule_firing.py`` builds its inputs with the trainer's metric
functions (never a judged value written directly), and the diagnosis must turn the
rule's light to the case's status. The "What fires each rule" table of
``docs/metrics.md`` is the same cases.
"""

import os

import pytest

from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tests import rule_firing
from tests.diagnosis_util import light

METRICS_DOC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "metrics.md"
)


@pytest.mark.parametrize("case", rule_firing.CASES, ids=lambda c: c.test_id)
def test_rule_fires(case):
    health = diagnose(case.build())
    result = light(health, case.key, case.level)
    assert result["status"] == case.status, (result["value"], result["explanation"])
    assert schema.severity(health["status"]) >= schema.severity(schema.WARNING)


def test_every_band_of_every_rule_has_a_firing_case():
    covered = {(case.key, case.status) for case in rule_firing.CASES}
    missing = [pair for pair in rule_firing.rules_with_bands() if pair not in covered]
    assert not missing, "no case makes these fire: %s" % missing


def test_readme_table_is_generated_from_the_cases():
    with open(METRICS_DOC, encoding="utf-8") as f:
        text = f.read()
    assert rule_firing.replace_block(text) == text, (
        "run: python -m tests.rule_firing docs/metrics.md"
    )
