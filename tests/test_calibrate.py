"""Calibration by simulated method of moments."""

from pathlib import Path

import pytest

from simtrial.calibrate import calibrate
from simtrial.cli import main
from simtrial.engine import run
from simtrial.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_recovers_a_known_parameter():
    # make the target what the model gives at the scenario's DLT rate (same seed: common
    # random numbers), start the search at three times it, and expect to come back near it
    scenario = load_scenario(SCENARIOS / "decision.toml")
    truth_rate = scenario.toxicity.dlt_rate_per_day
    truth = run(scenario, 30, seed=7, progress=False).summary()["mean"]
    data = scenario.model_dump()
    metric = "dose_reduction.sorafenib"
    data["targets"] = {
        metric: {
            "published": float(truth[metric]),
            "tolerance": 0.02,
            "status": "verified",
            "source": "simulated",
        }
    }
    shifted = Scenario.model_validate(data).with_values(
        {"toxicity.dlt_rate_per_day": 3 * truth_rate}
    )
    fit = calibrate(
        shifted,
        {"toxicity.dlt_rate_per_day": (0.001, 0.05)},
        n_sims=30,
        seed=7,
        max_evaluations=30,
        progress=False,
    )
    assert fit.loss < 0.05 * fit.start_loss
    assert fit.values["toxicity.dlt_rate_per_day"] == pytest.approx(truth_rate, rel=0.25)


def test_bad_bounds_and_targets_are_refused():
    with pytest.raises(ValueError, match="outside its bounds"):
        calibrate(
            SCENARIOS / "decision.toml",
            {"toxicity.dlt_rate_per_day": (0.01, 0.02)},
            n_sims=2,
            progress=False,
        )
    with pytest.raises(ValueError, match="not in the scenario's targets"):
        calibrate(
            SCENARIOS / "decision.toml",
            {"toxicity.dlt_rate_per_day": (0.001, 0.02)},
            targets=["no_such_metric"],
            n_sims=2,
            progress=False,
        )


def test_list_entries_and_non_numbers():
    from simtrial.calibrate import _current
    from simtrial.scenario import ScenarioError

    scenario = load_scenario(SCENARIOS / "decision.toml")
    assert (
        _current(scenario, "toxicity.cycle_multipliers.0") == scenario.toxicity.cycle_multipliers[0]
    )
    assert _current(scenario, "arms.placebo.n") == 210
    with pytest.raises(ScenarioError, match="study.criteria: not a number"):
        _current(scenario, "study.criteria")
    with pytest.raises(ScenarioError, match="toxicity.no_such: no such key"):
        _current(scenario, "toxicity.no_such")


def _calibrate_pitoia_tg(targets: str, *extra: str) -> int:
    """``simtrial calibrate`` of the Tg direct effect of Pitoia 2014, small and quiet."""
    return main(
        [
            "calibrate",
            str(SCENARIOS / "pitoia2014.toml"),
            "--free",
            "thyroglobulin.direct_effect=0.1:2",
            "--targets",
            targets,
            "--n-sims",
            "10",
            "--max-evaluations",
            "6",
            "--seed",
            "1",
            "--quiet",
            *extra,
        ]
    )


def test_calibrate_command(capsys):
    assert _calibrate_pitoia_tg("tg_change_4wk.mean") == 0
    assert "# calibrated by simtrial calibrate to: tg_change_4wk.mean" in capsys.readouterr().out


def test_calibrate_with_a_targets_file_writes_the_report(tmp_path, capsys):
    targets = tmp_path / "tg.toml"
    targets.write_text(
        '[targets."tg_change_4wk.mean"]\npublished = -0.5\ntolerance = 0.08\n'
        'status = "verified"\nsource = "Pitoia 2014"\n'
    )
    out = tmp_path / "fit.toml"
    code = _calibrate_pitoia_tg(str(targets), "--out", str(out))
    assert code == 0
    text = out.read_text()
    assert "# thyroglobulin.direct_effect = " in text and "# loss " in text
    assert "tg_change_4wk.mean" in text
