"""Monte-Carlo runner and `simtrial run`: reproducibility, resume, cut-off, crossover, CLI."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simtrial.cli import main
from simtrial.engine import run
from simtrial.scenario import load_scenario
from simtrial.streams import ReplicateStreams
from simtrial.trial import simulate_trial

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DECISION = SCENARIOS / "decision.toml"
PITOIA = SCENARIOS / "pitoia2014.toml"


@pytest.fixture(scope="module")
def reference():
    return run(DECISION, 14, seed=5, chunk_size=7, progress=False)


def test_same_seed_same_frames(reference):
    again = run(DECISION, 14, seed=5, chunk_size=7, progress=False)
    pd.testing.assert_frame_equal(reference.replicates, again.replicates)
    other = run(DECISION, 14, seed=6, chunk_size=7, progress=False)
    assert not reference.replicates.equals(other.replicates)


def test_chunk_size_does_not_change_results(reference):
    pd.testing.assert_frame_equal(
        reference.replicates, run(DECISION, 14, seed=5, chunk_size=1000, progress=False).replicates
    )


def test_one_replicate_per_chunk_changes_nothing():
    # seed 11 once exposed a last-bit difference in the log-rank sums between batch sizes
    alone = run(DECISION, 6, seed=11, chunk_size=1, progress=False).replicates
    together = run(DECISION, 6, seed=11, chunk_size=6, progress=False).replicates
    pd.testing.assert_frame_equal(alone, together)


def test_worker_count_does_not_change_results(reference):
    parallel = run(DECISION, 14, seed=5, chunk_size=3, workers=2, progress=False)
    pd.testing.assert_frame_equal(reference.replicates, parallel.replicates)


def test_replicate_results_do_not_depend_on_the_run_size(reference):
    longer = run(DECISION, 20, seed=5, chunk_size=20, progress=False)
    pd.testing.assert_frame_equal(reference.replicates, longer.replicates.iloc[:14])


def test_out_folder_round_trips_exactly(reference, tmp_path):
    saved = run(DECISION, 14, seed=5, chunk_size=4, out=tmp_path / "run", progress=False)
    pd.testing.assert_frame_equal(reference.replicates, saved.replicates)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scenario_hash"] == load_scenario(DECISION).content_hash()
    assert manifest["seed"] == 5 and manifest["chunk_size"] == 4
    assert len(list((tmp_path / "run" / "chunks").glob("replicates-*.csv"))) == 4


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    out = tmp_path / "killed"
    # 24 chunks of 5 DECISION trials: long enough that a kill after 2 chunks lands mid-run
    command = [
        sys.executable,
        "-m",
        "simtrial.cli",
        "run",
        str(DECISION),
        "--n-sims",
        "120",
        "--chunk-size",
        "5",
        "--seed",
        "9",
        "--out",
        str(out),
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = out / "chunks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if chunks.exists() and len(list(chunks.glob("replicates-*.csv"))) >= 2:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(chunks.glob("replicates-*.csv")))
    assert 2 <= finished < 24, "the kill must land mid-run"
    resumed = run(DECISION, 120, seed=9, chunk_size=5, out=out, resume=True, progress=False)
    whole = run(DECISION, 120, seed=9, chunk_size=5, progress=False)
    pd.testing.assert_frame_equal(resumed.replicates, whole.replicates)
    assert resumed.replicates["rep"].tolist() == list(range(120))  # none lost or duplicated
    assert not list(chunks.glob(".*.tmp"))


def test_resume_refuses_a_changed_scenario_or_seed(tmp_path):
    out = tmp_path / "run"
    run(PITOIA, 10, seed=1, chunk_size=5, out=out, progress=False)
    with pytest.raises(ValueError, match="already holds a run; use resume"):
        run(PITOIA, 10, seed=1, chunk_size=5, out=out, progress=False)
    with pytest.raises(ValueError, match="cannot resume: the seed differs"):
        run(PITOIA, 10, seed=2, chunk_size=5, out=out, resume=True, progress=False)
    changed = load_scenario(PITOIA).with_values({"imaging.interval_days": 56})
    with pytest.raises(ValueError, match="cannot resume: the scenario differs"):
        run(changed, 10, seed=1, chunk_size=5, out=out, resume=True, progress=False)
    with pytest.raises(ValueError, match="cannot resume: the chunk_size differs"):
        run(PITOIA, 10, seed=1, chunk_size=2, out=out, resume=True, progress=False)


def test_event_driven_cutoff_has_exactly_the_target_events(reference):
    frame = reference.replicates
    assert frame["events_reached"].all()
    events = frame["pfs_events.sorafenib"] + frame["pfs_events.placebo"]
    assert (events == load_scenario(DECISION).trial.cutoff_events).all()


def test_crossover_never_changes_pfs():
    scenario = load_scenario(DECISION)

    def trials(crossover_probability):
        # fresh streams: a generator's state moves on as it draws
        streams = ReplicateStreams(4, 0, 3, rows_per_replicate=scenario.n_patients)
        changed = scenario.with_values({"trial.crossover_probability": crossover_probability})
        return simulate_trial(changed, 3, rng=streams)

    never, always = trials(0.0), trials(1.0)
    assert np.array_equal(never.pfs_days, always.pfs_days)
    assert np.array_equal(never.pfs_event, always.pfs_event)
    assert np.array_equal(never.best, always.best)
    assert not never.crossover.any() and always.crossover.any()
    # crossover does change survival after progression
    assert not np.array_equal(never.os_days, always.os_days)


def test_summary_has_published_values_beside_metrics(reference):
    summary = reference.summary()
    assert summary.loc["hazard_ratio_pfs", "published"] == 0.59
    assert np.isnan(summary.loc["cutoff_months", "published"])
    row = summary.loc["median_pfs_months.sorafenib"]
    assert row["q025"] <= row["mean"] <= row["q975"] and row["se"] > 0


def test_keep_patients(tmp_path):
    result = run(PITOIA, 6, seed=2, chunk_size=4, keep_patients=5, progress=False)
    assert sorted(result.patients["rep"].unique()) == [0, 1, 2, 3, 4]
    assert len(result.patients) == 5 * 8


def test_json_output_parses_and_carries_every_metric(capsys):
    assert main(["run", str(DECISION), "--n-sims", "4", "--seed", "1", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n_sims"] == 4 and payload["seed"] == 1
    targets = load_scenario(DECISION).targets
    assert set(targets) <= set(payload["metrics"])
    for name, entry in payload["metrics"].items():
        assert set(entry) == {"n_finite", "mean", "se", "q025", "q975", "published"}, name
    assert payload["metrics"]["hazard_ratio_pfs"]["published"] == 0.59


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "absent.toml"], "absent.toml: no such scenario file"),
        (["run", str(DECISION), "--n-sims", "0"], "--n-sims: must be a positive integer"),
        (["run", str(DECISION), "--seed", "1.5"], "--seed: must be a non-negative integer"),
        (["run", str(DECISION), "--n-sims", "2", "--out", "/proc/no/such"], "cannot write results"),
    ],
)
def test_bad_cli_input_is_one_line_and_exit_2(arguments, message, capsys):
    try:
        code = main(arguments)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
