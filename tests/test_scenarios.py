"""The scenarios' fast subset in CI: real tiny-demo training, healthy and collapsing.

Two real ``hjepa-train`` runs (in parallel, one torch thread each) are diagnosed by
``hjepa-doctor --json``: the healthy run must come out ``healthy`` with no firing branch
or pattern and a kNN probe above the random-init encoder's; the run without a
stop-gradient must show ``collapse`` lights and the collapse branch. Nothing writes a
metric by hand. The full suite is ``python -m scenarios``.
"""

import pytest

pytest.importorskip("torch")

from scenarios import definitions, run  # noqa: E402


@pytest.fixture(scope="module")
def fast_rows(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("scenarios"))
    chosen = [s for s in definitions.SCENARIOS if s.fast]
    return {row["scenario"]: row for row in run.run(chosen, logdir, jobs=2, log=lambda m: None)}


def test_the_fast_subset_judges_a_healthy_and_a_broken_run(fast_rows):
    # What CI proves with two short trainings: one run the product calls healthy and one
    # it does not, each as its scenario expects.
    verdicts = {name: row["product"].split(";")[0] for name, row in fast_rows.items()}
    assert verdicts["healthy"] == "healthy"
    assert verdicts["collapse"] in ("collapse", "critical")


@pytest.mark.parametrize("name", ["healthy", "collapse"])
def test_fast_scenario_gets_its_diagnosis(fast_rows, name):
    row = fast_rows[name]
    assert row["trainer_exit"] == 0
    assert row["match"], "%s: expected %s, product said %s" % (
        name,
        row["expected"],
        row["product"],
    )


def test_healthy_and_collapse_are_told_apart(fast_rows):
    assert fast_rows["healthy"]["product"].startswith("healthy")
    # No stop-gradient: collapse lights, and the cause (gradients reaching the targets) is a
    # critical light of its own, so the run's status is collapse or critical.
    assert fast_rows["collapse"]["product"].split(";")[0] in ("collapse", "critical")
    assert "stop-gradient check fired" in fast_rows["collapse"]["product"]
    assert "collapse" in fast_rows["collapse"]["product"].split("branches ")[1]
