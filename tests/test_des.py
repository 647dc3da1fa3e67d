"""The discrete-event model (simtrial.des): its frames, reproducibility, the trial's rules,
the operational what-ifs, and (slow) its agreement in distribution with the vectorised
engine on both shipped scenarios."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from simtrial import des
from simtrial.scenario import load_scenario
from simtrial.streams import ReplicateStreams
from simtrial.trial import simulate_trial

PITOIA = "scenarios/pitoia2014.toml"
DECISION = "scenarios/decision.toml"


@pytest.fixture(scope="module")
def small_decision():
    """DECISION's model with 40 patients per arm, enrolled over 60 days, cut at 50 events."""
    return load_scenario(DECISION).with_values(
        {
            "arms.sorafenib.n": 40,
            "arms.placebo.n": 40,
            "trial.accrual_days": 60.0,
            "trial.cutoff_events": 50,
        }
    )


@pytest.fixture(scope="module")
def small_run(small_decision):
    return des.simulate(small_decision, n_reps=4, rng=3)


def test_frames_have_the_engines_columns(small_decision, small_run):
    engine = simulate_trial(small_decision, n_reps=2, rng=1)
    assert list(small_run.patients.columns) == list(engine.patient_frame().columns)
    assert list(small_run.metrics.columns) == list(engine.metrics.columns)
    assert len(small_run.patients) == 4 * 80


def test_same_seed_same_trials_whatever_the_chunk():
    scenario = load_scenario(PITOIA)
    both = des.simulate(scenario, 3, rng=ReplicateStreams(5, 0, 3, rows_per_replicate=8))
    alone = des.simulate(scenario, 1, rng=ReplicateStreams(5, 2, 1, rows_per_replicate=8))
    last = both.patients[both.patients["rep"] == 2].drop(columns="rep").reset_index(drop=True)
    assert last.equals(alone.patients.drop(columns="rep"))
    again = des.simulate(scenario, 3, rng=ReplicateStreams(5, 0, 3, rows_per_replicate=8))
    assert again.metrics.equals(both.metrics)


def test_event_driven_cutoff_stops_at_the_target_events(small_run):
    events = small_run.metrics[["pfs_events.sorafenib", "pfs_events.placebo"]].sum(axis=1)
    assert (events == 50).all()
    assert small_run.events_reached.all()


def test_trial_rules_hold_patient_by_patient(small_run):
    table = small_run.patients
    enrolled = table[table["enrolled"]]
    placebo = enrolled[enrolled["arm"] == "placebo"]
    sorafenib = enrolled[enrolled["arm"] == "sorafenib"]
    assert (placebo["final_dose_mg"] == 0).all() and placebo["mean_daily_dose_mg"].isna().all()
    assert (placebo[[c for c in table if c.startswith("hfsr")]] == 0).all().all()
    assert sorafenib["mean_daily_dose_mg"].between(0, 800 + 1e-9).all()  # interruptions count as 0
    assert not sorafenib["crossover"].any()
    assert placebo["crossover"].any()
    crossed = placebo[placebo["crossover"]]
    assert crossed["pfs_event"].all() and crossed["pd_day"].notna().all()
    assert (enrolled["pfs_days"] <= enrolled["follow_up_days"] + 1e-9).all()
    assert (enrolled["os_days"] >= enrolled["pfs_days"] - 1e-9).all()
    progressed = enrolled[enrolled["pd_day"].notna()]
    assert (progressed["end_of_treatment_day"] <= progressed["pd_day"] + 1e-9).all()
    assert (progressed["bor"] != "NE").all()


@pytest.mark.parametrize(
    "settings",
    [
        {"study.scan_after_progression": True, "study.scan_after_discontinuation": False},
        {"trial.accrual": "poisson", "operations.missed_scan_retry_days": 7.0},
        {"study.criteria": "RECIST 1.0", "study.confirm_response": True},
        {"trial.sd_definition": "progression_free", "trial.death_rate_per_day": 0.002},
    ],
    ids=["scan-options", "poisson-retry", "recist-1.0", "deaths"],
)
def test_scenario_options_keep_the_trial_consistent(settings):
    scenario = load_scenario(PITOIA).with_values(settings)
    table = des.simulate(scenario, 6, rng=4).patients
    event = table["pfs_event"]
    progressed = table["pd_day"].notna()
    assert (table.loc[progressed, "pfs_days"] == table.loc[progressed, "pd_day"]).all()
    assert event[progressed].all()
    assert (table.loc[event & ~progressed, "os_event"]).all()  # a PFS event without PD: death
    assert (table["pfs_days"] <= table["follow_up_days"] + 1e-9).all()


def test_vectorised_engine_refuses_operations():
    from simtrial.design import power_curve
    from simtrial.patients import simulate_patients

    scenario = load_scenario(DECISION).with_values({"operations.scanner_slots_per_day": 2})
    for simulate in (
        lambda: simulate_trial(scenario, 1, rng=1),
        lambda: simulate_patients(scenario, 1, rng=1),
        lambda: power_curve(scenario, n_per_arm=[50], n_sims=2, seed=1),
    ):
        with pytest.raises(ValueError, match=r"operations.scanner_slots_per_day = 2.*des"):
            simulate()


def test_full_scanners_delay_or_drop_scans():
    """60 patients enrolled within 20 days share one scan slot a day, so the scans planned
    on days 56 +/- 7 queue for weeks. Each patient keeps their random streams whatever the
    clinic does (common random numbers), so the same patients are compared run to run.

    Delayed scans shift the patient's scan grid; progression is then seen at a later scan
    day but on a larger tumour, and the two nearly cancel. Scans missed when no slot is free
    within the window leave longer gaps, so progression is seen later: among the patients
    progressing in both runs the mean paired delay must exceed 4 of its standard errors."""
    base = load_scenario(DECISION).with_values(
        {
            "arms.sorafenib.n": 30,
            "arms.placebo.n": 30,
            "trial.accrual_days": 20.0,
            "trial.cutoff": "calendar",
            "trial.cutoff_day": 400.0,
            "trial.cutoff_events": None,
        }
    )
    busy = base.with_values({"operations.scanner_slots_per_day": 1})
    free_run = des.simulate(base, 4, rng=11)
    busy_run = des.simulate(busy, 4, rng=11)
    assert (free_run.scan_delay_days == 0).all()
    assert (busy_run.scan_delay_days > 7).all()
    columns = ["n_targets", "baseline_sum_mm", "tg_change_4wk"]  # untouched by the scanners
    assert free_run.patients[columns].equals(busy_run.patients[columns])

    missing = busy.with_values({"operations.late_scan": "miss"})
    missed_run = des.simulate(missing, 4, rng=11)
    assert (missed_run.scan_delay_days == 0).all()
    free, late = free_run.patients, missed_run.patients
    both = free["pd_day"].notna() & late["pd_day"].notna()
    delay = (late["pfs_days"] - free["pfs_days"])[both]
    assert delay.mean() > 4 * delay.std(ddof=1) / np.sqrt(delay.size)


def test_des_runs_are_chunked_and_resumable(tmp_path):
    from simtrial.engine import run

    whole = run(PITOIA, 6, seed=3, engine="des", progress=False)
    assert whole.chunk_size == 2  # small chunks: an interruption loses little work
    saved = run(PITOIA, 6, seed=3, engine="des", out=tmp_path / "r", progress=False)
    pd.testing.assert_frame_equal(saved.replicates, whole.replicates)  # through CSV
    resumed = run(PITOIA, 6, seed=3, engine="des", out=tmp_path / "r", resume=True)
    pd.testing.assert_frame_equal(resumed.replicates, whole.replicates)
    with pytest.raises(ValueError, match="engine differs"):
        run(PITOIA, 6, seed=3, out=tmp_path / "r", resume=True, chunk_size=2)


def test_run_command_with_the_des_engine():
    done = subprocess.run(
        [sys.executable, "-m", "simtrial.cli", "run", PITOIA, "--engine", "des"]
        + ["--n-sims", "4", "--seed", "1", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Pitoia 2014: 4 simulated trials, seed 1" in done.stdout


# ---- agreement with the vectorised engine (slow) -------------------------------------------
#
# Each metric's mean over replicates is compared between the engines: the difference must be
# within 3 Monte-Carlo standard errors (both runs' errors combined). The test also checks its
# own power: a real discrepancy of 10% of the metric must be at least 5 standard errors, so
# that it would fail the 3-SE bound with probability 97.7% (P(Z > -2)). The replicate counts
# below are the smallest multiples of 10 that give every metric that power.
# Pooled PFS times (every enrolled patient of every replicate, per arm) are compared by a
# two-sample Kolmogorov-Smirnov test at the 0.1% level; the test checks that stretching the
# discrete-event times by 10% would be rejected at that level.

AGREEMENT = {
    DECISION: {
        "n_des": 80,
        "n_engine": 2000,
        "metrics": [
            "median_pfs_months.sorafenib",
            "median_pfs_months.placebo",
            "hazard_ratio_pfs",
            "orr.sorafenib",
            "sd_6mo.sorafenib",
            "sd_6mo.placebo",
            "dose_reduction.sorafenib",
            "dose_interruption.sorafenib",
            "mean_daily_dose_mg.sorafenib",
            "ae_discontinuation.sorafenib",
            "hfsr_any.sorafenib",
            "hfsr_grade3.sorafenib",
            "tg_change_4wk.mean.sorafenib",
            "tg_change_4wk.mean.placebo",
            "crossover.placebo",
        ],
    },
    PITOIA: {
        "n_des": 2000,
        "n_engine": 8000,
        "metrics": [
            "median_pfs_months",
            "orr",
            "sd_6mo",
            "dose_reduction",
            "dose_interruption",
            "mean_daily_dose_mg",
            "hfsr_any",
            "tg_change_4wk.mean",
        ],
    },
}


@pytest.fixture(scope="module", params=[DECISION, PITOIA], ids=["decision", "pitoia2014"])
def both_engines(request):
    from simtrial.engine import run

    plan = AGREEMENT[request.param]
    n_des, n_engine = plan["n_des"], plan["n_engine"]
    discrete = run(
        request.param,
        n_des,
        seed=2014,
        engine="des",
        workers=2,
        progress=False,
        keep_patients=n_des,
    )
    vectorised = run(
        request.param, n_engine, seed=2014, workers=2, progress=False, keep_patients=n_engine
    )
    return plan, discrete, vectorised


@pytest.mark.slow
def test_engines_agree_on_every_metric(both_engines):
    plan, discrete, vectorised = both_engines
    blind, failures = [], []
    for metric in plan["metrics"]:
        a = discrete.replicates[metric].astype(float).dropna()
        b = vectorised.replicates[metric].astype(float).dropna()
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        if 0.10 * abs(b.mean()) < 5 * se:
            blind.append(f"{metric} (10% = {0.10 * abs(b.mean()) / se:.1f} se)")
        if abs(a.mean() - b.mean()) > 3 * se:
            failures.append(f"{metric}: des {a.mean():.4g}, engine {b.mean():.4g}, se {se:.2g}")
    assert not blind, "too few replicates to see a 10% discrepancy: " + ", ".join(blind)
    assert not failures, "; ".join(failures)


@pytest.mark.slow
def test_engines_agree_on_pooled_pfs_times(both_engines):
    from scipy.stats import ks_2samp

    _, discrete, vectorised = both_engines

    def times(result, arm: str):
        table = result.patients
        return table.loc[table["enrolled"] & (table["arm"] == arm), "pfs_days"]

    for arm in discrete.scenario.arms:
        ours, theirs = times(discrete, arm.name), times(vectorised, arm.name)
        assert ks_2samp(ours * 1.10, theirs).pvalue < 1e-3  # the test can see 10%
        assert ks_2samp(ours, theirs).pvalue >= 1e-3, arm.name


def test_event_log_tells_each_patients_story(small_run):
    events, table = small_run.events, small_run.patients
    assert (events.groupby(["rep", "patient"])["calendar_day"].is_monotonic_increasing).all()
    assert (events["calendar_day"] <= small_run.cutoff_day[events["rep"]] + 1e-9).all()
    enrolled = events[events["event"] == "enrolled"].set_index(["rep", "patient"])
    assert len(enrolled) == table["enrolled"].sum()
    # the table's first PD and crossover are the log's
    logged_pd = events[events["event"] == "progression"].set_index(["rep", "patient"])["day"]
    seen = table.set_index(["rep", "patient"])["pd_day"].dropna()
    assert np.allclose(logged_pd.reindex(seen.index), seen)
    crossed = events[events["event"] == "crossover"].set_index(["rep", "patient"]).index
    assert set(crossed) >= set(table[table["crossover"]].set_index(["rep", "patient"]).index)
    scans = events[events["event"] == "scan"]
    assert scans["detail"].str.startswith("PD").sum() >= len(seen)
