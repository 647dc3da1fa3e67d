"""Design tools: power curves with common random numbers, sample size, sweeps."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simtrial.cli import main
from simtrial.design import (
    freedman_events,
    power_curve,
    sample_size,
    schoenfeld_events,
    sweep,
)
from simtrial.scenario import ScenarioError

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DECISION = SCENARIOS / "decision.toml"


@pytest.fixture(scope="module")
def curve():
    return power_curve(DECISION, n_per_arm=[40, 100, 200], n_sims=60, seed=3, progress=False)


def test_power_rises_with_size(curve):
    frame = curve.frame
    # common random numbers: nested subsets of the same trials. The rise from 40 to 200 per
    # arm is far beyond Monte-Carlo error (se <= 0.065 at n_sims = 60): demand 4 se.
    assert frame["power"].iloc[-1] - frame["power"].iloc[0] > 4 * frame["se"].max()
    steps = np.diff(frame["power"].to_numpy())
    assert (steps >= -2 * frame["se"].max()).all()
    assert (frame["ci_low"] <= frame["power"]).all() and (frame["power"] <= frame["ci_high"]).all()


def test_curve_is_independent_of_chunking_and_workers(curve):
    again = power_curve(
        DECISION,
        n_per_arm=[40, 100, 200],
        n_sims=60,
        seed=3,
        chunk_size=7,
        workers=2,
        progress=False,
    )
    pd.testing.assert_frame_equal(curve.frame, again.frame)


def test_event_curve_analyses_at_exactly_the_target_events():
    events = power_curve(DECISION, events=[120, 200], n_sims=8, seed=2, progress=False).frame
    assert events["events"].tolist() == [120.0, 200.0]
    assert (events["n_per_arm"] == 207).all()


def test_formulas_match_textbook_values():
    # HR 0.5, two-sided alpha 0.05, 80% power: Schoenfeld 65.3 events, Freedman 70.6
    # (4 x 7.849 / 0.4805 and 9 x 7.849; z_0.975 = 1.95996, z_0.8 = 0.84162)
    assert schoenfeld_events(0.5, alpha=0.05, power=0.8) == pytest.approx(65.34, abs=0.01)
    assert freedman_events(0.5, alpha=0.05, power=0.8) == pytest.approx(70.64, abs=0.01)
    # symmetric in HR <-> 1/HR for Schoenfeld
    assert schoenfeld_events(2.0) == pytest.approx(schoenfeld_events(0.5))


def test_sample_size_interpolates_on_the_curve():
    answer = sample_size(
        DECISION, target_power=0.8, n_per_arm=[40, 120, 240], n_sims=40, seed=5, progress=False
    )
    frame = answer.curve.frame
    power = np.maximum.accumulate(frame["power"].to_numpy())
    j = int(np.argmax(power >= 0.8))
    assert j > 0  # bracketed by the grid
    assert frame["n_per_arm"].iloc[j - 1] <= answer.n_per_arm <= frame["n_per_arm"].iloc[j]
    assert answer.se > 0
    expected = schoenfeld_events(answer.hazard_ratio, alpha=0.05, power=0.8)
    assert answer.schoenfeld_events == pytest.approx(expected)


def test_weaker_drug_gives_a_hazard_ratio_nearer_one():
    table = sweep(
        DECISION, "tumour.drug_effect_scale", [0.2, 1.0], n_sims=12, seed=4, progress=False
    )
    hr = table[table["metric"] == "hazard_ratio_pfs"].set_index("value")["mean"]
    assert hr[0.2] > hr[1.0] + 0.1


def test_sweep_names_a_bad_key_or_value():
    with pytest.raises(ScenarioError, match="imaging.no_such"):
        sweep(DECISION, "imaging.no_such", [1], n_sims=2, seed=1, progress=False)
    with pytest.raises(ScenarioError, match="imaging.interval_days = -5"):
        sweep(DECISION, "imaging.interval_days", [-5], n_sims=2, seed=1, progress=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["power", str(DECISION)], "give exactly one of --n-per-arm and --events"),
        (["power", str(DECISION), "--n-per-arm", "50:x:5"], "--n-per-arm: must be start:stop:step"),
        (["power", str(SCENARIOS / "pitoia2014.toml"), "--n-per-arm", "5,10"], "two-arm"),
        (["sweep", str(DECISION), "--set", "imaging.interval_days"], "must be key.path=value1"),
    ],
)
def test_cli_errors(arguments, message, capsys):
    try:
        code = main(arguments)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_power_prints_the_formulas(capsys):
    code = main(
        [
            "power",
            str(DECISION),
            "--n-per-arm",
            "60,200",
            "--n-sims",
            "20",
            "--seed",
            "1",
            "--target-power",
            "0.8",
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Schoenfeld" in out and "Freedman" in out and "simulation" in out


def test_null_scenario_rejects_at_alpha():
    # no drug effect on tumours: PFS has the same law in both arms; with 400 trials the
    # rejection rate must be 0.05 +/- 3 MC SE (SE = sqrt(0.05 x 0.95 / 400) = 0.011)
    from simtrial.engine import run
    from simtrial.scenario import load_scenario

    null = load_scenario(DECISION).with_values({"tumour.drug_effect_scale": 0.0})
    rate = run(null, 400, seed=11, chunk_size=50, progress=False).replicates["significant_pfs"]
    se = np.sqrt(0.05 * 0.95 / 400)
    assert abs(rate.mean() - 0.05) <= 3 * se


def test_longer_scan_interval_lengthens_reported_medians():
    # PFS is seen only at scans: every 12 weeks instead of 8 pushes the medians later
    table = sweep(DECISION, "imaging.interval_days", [56, 84], n_sims=30, seed=6, progress=False)
    medians = table[table["metric"].str.startswith("median_pfs_months")]
    by_value = medians.pivot(index="metric", columns="value", values="mean")
    assert (by_value[84] > by_value[56]).all()


def test_common_random_numbers_correlate_neighbouring_design_points():
    from simtrial.design import _design_chunk
    from simtrial.scenario import load_scenario

    scenario = load_scenario(DECISION)
    designs = [((120, 120), None), ((140, 140), None)]

    def log_hazard_ratios(seed, first):
        parts = _design_chunk(scenario, seed, first, 80, designs, (140, 140), 0.05, "logrank")
        return [part["log_hr"] for part in parts]

    shared = log_hazard_ratios(1, 0)  # the same replicates analysed at two sizes
    crn = np.corrcoef(shared[0], shared[1])[0, 1]
    independent = np.corrcoef(log_hazard_ratios(1, 0)[0], log_hazard_ratios(2, 0)[1])[0, 1]
    # nested subsets share 120 of 140 patients per arm: the log hazard ratios move together,
    # so the difference between neighbouring points has far less noise than with
    # independent replicates
    assert crn > 0.7
    assert abs(independent) < 0.35  # 80 independent pairs: |r| < 0.35 with p > 0.998
    assert np.var(shared[0] - shared[1]) < 0.5 * np.var(shared[0] - log_hazard_ratios(2, 0)[1])


def test_exponential_pfs_agrees_with_schoenfeld():
    # the textbook case: exponential PFS (medians 10.8 vs 5.8 months, HR 5.8/10.8) observed
    # continuously, no deaths or drop-outs. Events for 90% power from the simulated curve must
    # match Schoenfeld's at the true HR within 3 Monte-Carlo standard errors (the se of the
    # interpolated size, times the events per patient).
    from simtrial.scenario import load_scenario

    textbook = load_scenario(DECISION).with_values(
        {
            "trial.pfs_model": "exponential",
            "trial.exponential_median_months": {"sorafenib": 10.8, "placebo": 5.8},
            "trial.death_rate_per_day": 0.0,
            "trial.dropout_rate_per_day": 0.0,
        }
    )
    answer = sample_size(
        textbook,
        target_power=0.9,
        n_per_arm=[45, 60, 75, 90, 110],
        n_sims=400,
        seed=1,
        progress=False,
    )
    per_patient = answer.events / (2 * answer.n_per_arm)
    expected = schoenfeld_events(5.8 / 10.8, alpha=0.05, power=0.9)
    assert abs(answer.events - expected) <= 3 * answer.se * 2 * per_patient
    assert answer.hazard_ratio == pytest.approx(5.8 / 10.8, abs=0.03)


def test_exponential_model_needs_every_arm_median():
    from simtrial.scenario import load_scenario

    with pytest.raises(ScenarioError, match="missing \\['placebo'\\]"):
        load_scenario(DECISION).with_values(
            {"trial.pfs_model": "exponential", "trial.exponential_median_months": {"sorafenib": 9}}
        )
