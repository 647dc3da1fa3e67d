"""The HTML report and the target check behind it."""

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simtrial.cli import main
from simtrial.engine import RunResult
from simtrial.scenario import load_scenario
from simtrial.validation import check_targets

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.images, self.open = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))


@pytest.mark.parametrize(("name", "figures"), [("pitoia2014", 6), ("decision", 5)])
def test_report_is_self_contained_html_with_every_section(tmp_path, name, figures, capsys):
    out = tmp_path / f"{name}.html"
    assert (
        main(
            [
                "report",
                str(SCENARIOS / f"{name}.toml"),
                "--out",
                str(out),
                "--n-sims",
                "12",
                "--quiet",
            ]
        )
        == 0
    )
    text = out.read_text()
    parser = _Collector()
    parser.feed(text)
    assert {"scenario", "targets", "figures", "metrics", "reproducibility"} <= parser.ids
    assert len(parser.images) == figures
    assert all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert "http://" not in text and "https://" not in text  # nothing fetched when opened
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.content_hash() in text and "seed 2014" in text


def _result(values: dict, targets_scenario) -> RunResult:
    frame = pd.DataFrame({"rep": np.arange(len(next(iter(values.values())))), **values})
    return RunResult(targets_scenario, len(frame), 1, 10, frame)


def test_target_rule_needs_tolerance_and_interval():
    scenario = load_scenario(SCENARIOS / "decision.toml")
    rng = np.random.default_rng(0)
    hr = rng.normal(0.60, 0.08, 4000)  # mean within 0.05 of 0.59, 0.59 inside its 95%
    far = rng.normal(0.70, 0.08, 4000)  # mean 0.11 away: outside the tolerance
    narrow = rng.normal(0.62, 0.005, 4000)  # mean within tolerance, 0.59 outside the 95%
    for values, met in ((hr, True), (far, False), (narrow, False)):
        table = check_targets(_result({"hazard_ratio_pfs": values}, scenario))
        row = table.set_index("metric").loc["hazard_ratio_pfs"]
        assert row["met"] == met
    # a target the run does not produce is not met
    table = check_targets(_result({"hazard_ratio_pfs": hr}, scenario)).set_index("metric")
    assert not table.loc["orr.sorafenib", "met"]


def test_minimum_rule():
    scenario = load_scenario(SCENARIOS / "pitoia2014.toml")
    table = check_targets(_result({"tg_fell_4wk.all": np.r_[np.ones(60), np.zeros(40)]}, scenario))
    assert table.set_index("metric").loc["tg_fell_4wk.all", "met"]  # 0.6 >= 0.5
    table = check_targets(_result({"tg_fell_4wk.all": np.r_[np.ones(40), np.zeros(60)]}, scenario))
    assert not table.set_index("metric").loc["tg_fell_4wk.all", "met"]


def test_validate_targets_command(capsys):
    code = main(
        [
            "validate-targets",
            str(SCENARIOS / "pitoia2014.toml"),
            "--n-sims",
            "30",
            "--seed",
            "1",
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "targets met" in out and "bor_count.PR" in out and "heart_failure_any" in out
