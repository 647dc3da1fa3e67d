"""Teaching tools: chance in small cohorts."""

from pathlib import Path

import numpy as np
import pytest

from simtrial.cli import main
from simtrial.engine import run
from simtrial.teaching import CATEGORIES, chance

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PITOIA = SCENARIOS / "pitoia2014.toml"


@pytest.fixture(scope="module")
def result():
    return chance(PITOIA, n_sims=300, seed=4, progress=False)


def test_distribution_sums_to_one_and_matches_a_direct_count(result):
    assert np.allclose(result.distribution.sum(), 1.0)
    # the same draws, counted directly from the run's per-cohort table
    frame = run(PITOIA, 300, seed=4, progress=False).replicates
    pr = frame["bor_count.PR"].to_numpy()
    assert result.distribution.loc[1, "PR"] == pytest.approx((pr == 1).mean())
    totals = result.counts[list(CATEGORIES)].sum(axis=1)
    assert (totals == 8).all()  # every patient has exactly one best response


def test_probability_of_the_published_result(result):
    assert result.published == {"PR": 1, "SD": 5, "PD": 2}
    counts = result.counts
    exact = ((counts["PR"] == 1) & (counts["SD"] == 5) & (counts["PD"] == 2)).mean()
    assert result.p_published == pytest.approx(exact)
    assert result.se_published == pytest.approx(np.sqrt(exact * (1 - exact) / 300))
    assert 0 < result.p_at_least_one_responder <= 1
    assert "published result (PR 1, SD 5, PD 2) exactly" in result.summary()


def test_two_arm_scenario_is_refused():
    with pytest.raises(ValueError, match="one-arm scenario"):
        chance(SCENARIOS / "decision.toml", n_sims=2, seed=1, progress=False)


def test_chance_command(capsys):
    assert main(["chance", str(PITOIA), "--n-sims", "40", "--seed", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "40 simulated cohorts of 8 patients" in out and "probability of each count" in out
