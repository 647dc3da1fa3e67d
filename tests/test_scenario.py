"""Scenario files: the shipped ones load; every kind of mistake is named precisely."""

import re
import shutil
from pathlib import Path

import pytest

from simtrial.cli import main
from simtrial.scenario import ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.mark.parametrize("name", ["decision", "pitoia2014"])
def test_shipped_scenarios_load(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.n_patients == {"decision": 417, "pitoia2014": 8}[name]


def test_studies_share_the_disease_and_drug_model():
    decision = load_scenario(SCENARIOS / "decision.toml")
    pitoia = load_scenario(SCENARIOS / "pitoia2014.toml")
    for section in ("tumour", "dosing", "toxicity"):
        assert getattr(decision, section) == getattr(pitoia, section), section
    # what differs is what really differed between the studies
    assert decision.study.criteria == "RECIST 1.0" and pitoia.study.criteria == "RECIST 1.1"
    assert decision.imaging.interval_days == 56 and pitoia.imaging.interval_days == 84


def write_variant(tmp_path, old, new, name="decision.toml", base_change=None):
    """Copy the shipped scenarios to tmp_path with one textual change."""
    shutil.copytree(SCENARIOS, tmp_path, dirs_exist_ok=True)
    if base_change:
        base_path = tmp_path / "base" / "sorafenib_rair_dtc.toml"
        base = base_path.read_text()
        assert base_change[0] in base
        base_path.write_text(base.replace(*base_change))
    path = tmp_path / name
    text = path.read_text()
    if old is not None:
        assert old in text, old
        path.write_text(text.replace(old, new))
    return path


BAD_VALUES = [
    (
        "interval_days = 56.0",
        "intervl_days = 56.0",
        None,
        "imaging.intervl_days: unknown key; did you mean 'interval_days'",
    ),
    ("n = 207 ", "n = 0 ", None, "arms.0.n = 0: Input should be greater than 0"),
    ("n = 207 ", "n = -3 ", None, "arms.0.n = -3: Input should be greater than 0"),
    (
        "lung.probability = 0.86",
        "lung.probability = 1.5",
        None,
        "cohort.sites.lung.probability = 1.5: Input should be less than or equal to 1",
    ),
    (
        "start_dose_mg_per_day = 800.0",
        "start_dose_mg_per_day = 700.0",
        None,
        "arms.sorafenib.start_dose_mg_per_day = 700: not on the dose ladder",
    ),
    (
        "first_scan_day = 56.0",
        "first_scan_day = -7.0",
        None,
        "imaging.first_scan_day = -7.0: Input should be greater than 0",
    ),
    (
        "window_days = 7.0",
        "window_days = 60.0",
        None,
        "window_days \\(60\\) must be smaller than first_scan_day",
    ),
    (
        None,
        None,
        ("[800.0, 600.0, 400.0, 200.0]", "[800.0, 900.0, 400.0, 200.0]"),
        r"base/sorafenib_rair_dtc.toml: dosing.ladder_mg_per_day: .*must decrease strictly, got "
        r"\[800.0, 900.0",
    ),
    (
        None,
        None,
        ("\nkill_rate_per_day = ", "\nkill_rate = "),
        "base/sorafenib_rair_dtc.toml: tumour.kill_rate: unknown key",
    ),
    ("papillary = 0.57", "papillary = 0.67", None, "histology probabilities must sum to 1"),
]


@pytest.mark.parametrize(("old", "new", "base_change", "message"), BAD_VALUES)
def test_bad_values_are_named_with_file_key_and_value(tmp_path, old, new, base_change, message):
    path = write_variant(tmp_path, old, new, base_change=base_change)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_missing_arms_are_an_error(tmp_path):
    text = (SCENARIOS / "pitoia2014.toml").read_text()
    text = re.sub(r"\[\[arms\]\].*?(?=\n# metastatic)", "", text, flags=re.S)
    path = write_variant(tmp_path, None, None, name="pitoia2014.toml")
    path.write_text(text)
    with pytest.raises(ScenarioError, match="arms: required key is missing"):
        load_scenario(path)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")
    (tmp_path / "broken.toml").write_text("[study\nname = 1")
    with pytest.raises(ScenarioError, match="broken.toml: not valid TOML"):
        load_scenario(tmp_path / "broken.toml")


def test_include_cycle_is_reported(tmp_path):
    (tmp_path / "a.toml").write_text('include = "b.toml"\n')
    (tmp_path / "b.toml").write_text('include = "a.toml"\n')
    with pytest.raises(ScenarioError, match="include cycle"):
        load_scenario(tmp_path / "a.toml")


def test_with_values_revalidates():
    scenario = load_scenario(SCENARIOS / "decision.toml")
    assert scenario.with_values({"arms.placebo.n": 250}).arms[1].n == 250
    with pytest.raises(ScenarioError, match="trial.cutoff_events = 267: more than the 257"):
        scenario.with_values({"arms.placebo.n": 50})
    with pytest.raises(ScenarioError, match="imaging.interval_days = -1"):
        scenario.with_values({"imaging.interval_days": -1})
    with pytest.raises(ScenarioError, match="imaging.no_such: no such key"):
        scenario.with_values({"imaging.no_such": 1})


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"toxicity.events": {}}, "events lists no adverse-event type"),
        (
            {"tumour.node_normal_mm": 12.0},
            "tumour.node_normal_mm = 12.0: Input should be less than 10",
        ),
    ],
)
def test_values_that_would_break_the_simulation_are_refused(updates, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(SCENARIOS / "decision.toml").with_values(updates)


def test_content_hash_changes_with_content_only():
    scenario = load_scenario(SCENARIOS / "decision.toml")
    assert scenario.content_hash() == load_scenario(SCENARIOS / "decision.toml").content_hash()
    changed = scenario.with_values({"imaging.interval_days": 84})
    assert changed.content_hash() != scenario.content_hash()


def test_validate_command(tmp_path, capsys):
    assert main(["validate", str(SCENARIOS / "decision.toml")]) == 0
    assert "valid" in capsys.readouterr().out
    path = write_variant(tmp_path, "n = 207 ", "n = 0 ")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "arms.0.n = 0" in err and "Traceback" not in err
