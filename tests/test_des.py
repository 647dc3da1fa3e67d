"""The discrete-event model (simtrial.des): its frames, reproducibility, the trial's rules,
the operational what-ifs, and (slow) its agreement in distribution with the vectorised
engine on both shipped scenarios."""

import subprocess
import sys

import numpy as np
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


def test_vectorised_engine_refuses_operations():
    scenario = load_scenario(PITOIA).with_values({"operations.scanner_slots_per_day": 2})
    with pytest.raises(ValueError, match=r"operations.scanner_slots_per_day = 2.*des"):
        simulate_trial(scenario, 1, rng=1)


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
