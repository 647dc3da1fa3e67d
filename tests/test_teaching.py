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


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    from simtrial.teaching import _fleiss_kappa

    rng = np.random.default_rng(0)
    ratings = np.where(
        rng.random((50, 4)) < 0.8, rng.integers(0, 3, (50, 1)), rng.integers(0, 3, (50, 4))
    )
    table, _ = aggregate_raters(ratings)
    assert _fleiss_kappa(ratings) == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)


def test_readers_without_error_agree_perfectly():
    from simtrial.scenario import load_scenario
    from simtrial.teaching import readers

    exact = load_scenario(PITOIA).with_values(
        {"imaging.reader_error_log_sd": 0.0, "imaging.reader_bias_log_sd": 0.0}
    )
    result = readers(exact, n_readers=4, n_patients=60, seed=3)
    assert result.percent_agreement == 1.0 and result.fleiss_kappa == 1.0
    assert result.false_pd == 0.0 and result.pd_disagreement == 0.0
    # and every reader then equals the truth
    assert (result.best.drop(columns="truth").eq(result.best["truth"], axis=0)).all().all()


def test_readers_with_error_disagree_and_report_published_figures():
    from simtrial.teaching import readers

    result = readers(PITOIA, n_readers=3, n_patients=120, seed=5)
    assert result.fleiss_kappa < 1.0
    low, high = result.lesion_limits_pct
    # the reader model is set from Yoon et al. 2016 (inter-reader -22% to +25%)
    assert -30 < low < -15 and 18 < high < 35
    assert "Erasmus" in result.summary() and "Oxnard" in result.summary()


def test_readers_command(capsys):
    assert main(["readers", str(PITOIA), "--readers", "2", "--patients", "20", "--seed", "1"]) == 0
    assert "2 readers" in capsys.readouterr().out
