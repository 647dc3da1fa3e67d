"""Tests of simtrial.plots: the right artists for known inputs, labelled axes, readable
fonts, clear errors. Figures are closed after every test."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import same_color, to_rgba  # noqa: E402

from simtrial import plots  # noqa: E402
from simtrial.patients import simulate_patients  # noqa: E402
from simtrial.survival import kaplan_meier  # noqa: E402
from simtrial.trial import DAYS_PER_MONTH, simulate_trial  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PITOIA = str(SCENARIOS / "pitoia2014.toml")
DECISION = str(SCENARIOS / "decision.toml")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def pitoia():
    return simulate_patients(PITOIA, n_reps=1, rng=2014)


@pytest.fixture(scope="module")
def decision_trials():
    return simulate_trial(DECISION, n_reps=8, rng=3)


def _readable(ax) -> None:
    """Axis labels present and every text at least 11 points."""
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.xaxis.label.get_fontsize() >= 11
    assert ax.yaxis.label.get_fontsize() >= 11
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        assert label.get_fontsize() >= 11
    legend = ax.get_legend()
    if legend is not None:
        assert all(text.get_fontsize() >= 11 for text in legend.get_texts())


def _hlines(ax) -> list[float]:
    """y of the horizontal lines drawn across the axes (axhline)."""
    out = []
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        if len(y) == 2 and y[0] == y[1] and list(x) == [0, 1]:
            out.append(float(y[0]))
    return out


def test_importing_simtrial_does_not_import_matplotlib():
    code = (
        "import sys, simtrial, simtrial.plots; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------
# waterfall


def _patients_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep": 0,
            "patient": [0, 1, 2, 3, 4],
            "best_pct_change": [-40.0, 25.0, np.nan, 0.0, -10.0],
            "bor": ["PR", "PD", "PD", "SD", "SD"],
        }
    )


def test_waterfall_one_sorted_bar_per_patient_with_a_value():
    fig = plots.waterfall_plot(_patients_frame())
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [25.0, 0.0, -10.0, -40.0]  # NaN dropped, largest increase first
    colours = [bar.get_facecolor() for bar in ax.patches]
    expected = ["PD", "SD", "SD", "PR"]
    assert all(same_color(c, plots.BOR_COLOURS[b]) for c, b in zip(colours, expected, strict=True))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "4", "0"]
    assert {-30.0, 20.0} <= set(_hlines(ax))
    assert ax.get_ylabel() == "Best change in target sum from baseline (%)"
    assert any("not shown" in t.get_text() for t in ax.texts)  # the dropped patient is said
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["PR (n = 1)", "SD (n = 2)", "PD (n = 1)"]
    _readable(ax)


def test_waterfall_of_a_simulated_cohort(pitoia):
    frame = pitoia.to_frame()
    fig = plots.waterfall_plot(frame)
    assert len(fig.axes[0].patches) == frame["best_pct_change"].notna().sum()


def test_waterfall_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plots.waterfall_plot(_patients_frame(), ax=ax) is fig
    assert len(ax.patches) == 4


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        ([1, 2], TypeError, "must be a pandas DataFrame"),
        (pd.DataFrame({"bor": ["PR"]}), ValueError, r"lacks column\(s\) \['best_pct_change'\]"),
    ],
)
def test_waterfall_rejects_bad_input(frame, error, match):
    with pytest.raises(error, match=match):
        plots.waterfall_plot(frame)


# --------------------------------------------------------------------------------------
# spider


def _visit_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep": [0, 0, 0, 0, 0],
            "patient": [0, 0, 1, 1, 2],
            "day": [56.0, 112.0, 56.0, 112.0, 60.0],
            "pct_from_baseline": [-35.0, -40.0, 5.0, 30.0, 10.0],
            "overall": ["PR", "PR", "SD", "PD", "PD"],
        }
    )


def _patient_lines(ax):
    return [line for line in ax.lines if line.get_label().startswith("_patient")]


def test_spider_one_line_per_patient_from_baseline_coloured_by_bor():
    bor = pd.DataFrame({"rep": 0, "patient": [0, 1, 2], "bor": ["PR", "PD", "PD"]})
    fig = plots.spider_plot(_visit_table(), patients=bor)
    ax = fig.axes[0]
    lines = _patient_lines(ax)
    assert len(lines) == 3
    for line, b in zip(lines, ["PR", "PD", "PD"], strict=True):
        assert line.get_xdata()[0] == 0.0 and line.get_ydata()[0] == 0.0
        assert same_color(line.get_color(), plots.BOR_COLOURS[b])
    np.testing.assert_allclose(lines[0].get_xdata(), np.array([0, 56, 112]) / DAYS_PER_MONTH)
    pd_markers = [line for line in ax.lines if line.get_marker() == "X"]
    assert len(pd_markers) == 1 and len(pd_markers[0].get_xdata()) == 2  # two PD visits
    assert {-30.0, 20.0} <= set(_hlines(ax))
    assert ax.get_xlabel() == "Months since start of treatment"
    _readable(ax)


def test_spider_without_bor_draws_every_line_alike(pitoia):
    fig = plots.spider_plot(pitoia.visit_table())
    lines = _patient_lines(fig.axes[0])
    assert len(lines) == pitoia.visit_table()["patient"].nunique()
    assert len({to_rgba(line.get_color()) for line in lines}) == 1


# --------------------------------------------------------------------------------------
# swimmer


def _bar_lengths(ax) -> dict[float, float]:
    """Total bar length per row (y centre), in months."""
    totals: dict[float, float] = {}
    for bar in ax.patches:
        y = round(bar.get_y() + bar.get_height() / 2, 6)
        totals[y] = totals.get(y, 0.0) + bar.get_width()
    return totals


def test_swimmer_bars_run_to_the_end_of_treatment_longest_on_top(pitoia):
    fig = plots.swimmer_plot(pitoia)
    ax = fig.axes[0]
    end = pitoia.end_of_treatment / DAYS_PER_MONTH
    lengths = _bar_lengths(ax)
    assert sorted(lengths) == list(range(8))
    np.testing.assert_allclose([lengths[y] for y in range(8)], np.sort(end), rtol=1e-9)
    patients = [int(t.get_text()) for t in ax.get_yticklabels()]
    assert sorted(patients) == list(range(8))
    np.testing.assert_allclose(end[patients], np.sort(end))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "800 mg/day" in legend
    assert any(text.startswith("dose-limiting") for text in legend)
    n_pd = int(np.isfinite(pitoia.assessment.pd_day).sum())
    if n_pd:
        assert "progression (PD)" in legend
        pd_line = next(line for line in ax.lines if line.get_marker() == "D")
        assert len(pd_line.get_xdata()) == n_pd
    _readable(ax)


def test_swimmer_of_a_trial_draws_the_selected_enrolled_patients(decision_trials):
    chosen = np.arange(200, 215)  # across the two arms
    fig = plots.swimmer_plot(decision_trials, rep=1, arm="sorafenib", patients=chosen)
    ax = fig.axes[0]
    cohort = decision_trials.patients.cohort
    rows = cohort.n_patients + chosen
    rows = rows[(cohort.row_arm[rows] == 0) & decision_trials.enrolled[rows]]
    assert 0 < rows.size < chosen.size
    lengths = _bar_lengths(ax)
    assert len(lengths) == rows.size
    end = np.sort(decision_trials.end_of_treatment[rows]) / DAYS_PER_MONTH
    np.testing.assert_allclose([lengths[y] for y in range(rows.size)], end)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rep": 1}, ValueError, r"`rep` must be in \[0, 1\)"),
        ({"rep": 0.5}, TypeError, "`rep` must be an integer"),
        ({"arm": "placebo"}, ValueError, r"`arm` must be one of \['sorafenib'\]"),
        ({"patients": [8]}, ValueError, r"`patients` must be indices in \[0, 8\); got 8"),
    ],
)
def test_swimmer_rejects_bad_selection(pitoia, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.swimmer_plot(pitoia, **kwargs)


def test_swimmer_needs_a_simulation():
    with pytest.raises(TypeError, match="expected a PatientSimulation"):
        plots.swimmer_plot(pd.DataFrame())


# --------------------------------------------------------------------------------------
# thyroglobulin


def test_tg_individual_lines_on_a_log_axis(pitoia):
    fig = plots.tg_plot(pitoia)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 8
    for line, end in zip(ax.lines, pitoia.end_of_treatment, strict=True):
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert x[0] == 0.0 and np.all(x <= end / DAYS_PER_MONTH + 1e-9)
        assert np.all(y > 0)
    assert ax.get_ylabel() == "Serum thyroglobulin (ng/mL)"
    _readable(ax)


def test_tg_after_treatment_adds_a_dotted_line_per_patient(pitoia):
    fig = plots.tg_plot(pitoia, after_treatment=True)
    assert len(fig.axes[0].lines) == 16
    assert sum(line.get_linestyle() == ":" for line in fig.axes[0].lines) == 8


def test_tg_bands_per_arm_for_a_large_cohort(decision_trials):
    fig = plots.tg_plot(decision_trials, rep=0)
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # one median per arm
    assert len(ax.collections) == 2  # one band per arm
    labels = [line.get_label() for line in ax.lines]
    assert labels[0].startswith("sorafenib") and labels[1].startswith("placebo")
    _readable(ax)


def test_tg_bands_when_more_patients_than_max_lines(pitoia):
    fig = plots.tg_plot(pitoia, max_lines=5)
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[0].collections) == 1


# --------------------------------------------------------------------------------------
# Kaplan-Meier


def _fake_trials(time, event, arm, n_reps) -> SimpleNamespace:
    """The fields km_plot reads, for `n_reps` identical copies of one data set."""
    n = len(time)
    return SimpleNamespace(
        pfs_days=np.tile(time, n_reps),
        pfs_event=np.tile(event, n_reps),
        enrolled=np.ones(n * n_reps, bool),
        patients=SimpleNamespace(
            cohort=SimpleNamespace(n_reps=n_reps, n_patients=n, row_arm=np.tile(arm, n_reps))
        ),
        scenario=SimpleNamespace(
            arms=[SimpleNamespace(name="drug"), SimpleNamespace(name="control")],
            targets={"median_pfs_months.drug": SimpleNamespace(published=4.0)},
            study=SimpleNamespace(name="toy"),
        ),
    )


def test_km_median_curve_of_identical_replicates_is_their_km_curve():
    rng = np.random.default_rng(1)
    time = rng.exponential(150.0, 40)
    event = rng.random(40) < 0.8
    arm = np.repeat([0, 1], 20)
    fig = plots.km_plot(_fake_trials(time, event, arm, n_reps=3))
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_label().startswith(("drug (", "control ("))]
    assert len(curves) == 2
    assert len(ax.collections) == 2  # one band per arm
    x = np.asarray(curves[0].get_xdata())
    expected = kaplan_meier(time[:20], event[:20], at=x * DAYS_PER_MONTH).survival_at
    np.testing.assert_allclose(curves[0].get_ydata(), expected, atol=1e-12)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # collapses onto the curve
    assert set(np.round(band, 12)) <= set(np.round(curves[0].get_ydata(), 12))
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert len(diamonds) == 1 and list(diamonds[0].get_xdata()) == [4.0]  # published: drug
    assert 0.5 in _hlines(ax)


def test_km_of_simulated_trials_marks_both_published_medians(decision_trials):
    fig = plots.km_plot(decision_trials)
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    published = decision_trials.scenario.targets
    assert sorted(float(d.get_xdata()[0]) for d in diamonds) == sorted(
        [
            published["median_pfs_months.placebo"].published,
            published["median_pfs_months.sorafenib"].published,
        ]
    )
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "sorafenib (n = 207)" in legend and "placebo (n = 210)" in legend
    assert ax.get_xlabel() == "Months since randomisation"
    assert ax.get_ylabel() == "Progression-free survival (probability)"
    _readable(ax)


def test_km_overall_survival(decision_trials):
    fig = plots.km_plot(decision_trials, endpoint="os")
    assert fig.axes[0].get_ylabel() == "Overall survival (probability)"


@pytest.mark.parametrize(
    ("arg", "kwargs", "error", "match"),
    [
        ("trials", {"endpoint": "ttp"}, ValueError, r"`endpoint` must be one of \['os', 'pfs'\]"),
        ("patients", {}, TypeError, "km_plot needs a TrialSimulation"),
    ],
)
def test_km_rejects_bad_input(pitoia, decision_trials, arg, kwargs, error, match):
    value = decision_trials if arg == "trials" else pitoia
    with pytest.raises(error, match=match):
        plots.km_plot(value, **kwargs)


# --------------------------------------------------------------------------------------
# BOR counts


def _bor_metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bor_count.CR": [0, 0, 0, 0],
            "bor_count.PR": [1, 0, 1, 2],
            "bor_count.SD": [5, 6, 4, 5],
            "bor_count.PD": [2, 2, 3, 1],
            "bor_count.NE": [0, 0, 0, 0],
            "n_enrolled": [8, 8, 8, 8],
        }
    )


def test_bor_counts_share_of_cohorts_per_count_with_published_marked():
    fig = plots.bor_count_plot(_bor_metrics(), published={"PR": 1, "SD": 5, "PD": 2})
    ax = fig.axes[0]
    labels = [c.get_label().split(":")[0] for c in ax.containers]
    assert labels == ["PR", "SD", "PD"]  # CR and NE never occur
    for container in ax.containers:
        assert len(container) == 9  # counts 0..8
        assert sum(bar.get_height() for bar in container) == pytest.approx(1.0)
    pr = [bar.get_height() for bar in ax.containers[0]]
    assert pr[:3] == [0.25, 0.5, 0.25]
    assert ax.containers[0][1].get_linewidth() == 2.0  # published PR = 1 outlined
    assert ax.containers[1][5].get_linewidth() == 2.0
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "PR: published 1, simulated in 50% of cohorts"
    assert "(of 8)" in ax.get_xlabel()
    _readable(ax)


def test_bor_counts_take_published_counts_from_the_scenario():
    import simtrial

    result = simtrial.run(PITOIA, n_sims=20, seed=1, progress=False)
    fig = plots.bor_count_plot(result)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [text.split(",")[0] for text in legend[:3]] == [
        "PR: published 1",
        "SD: published 5",
        "PD: published 2",
    ]


def test_bor_counts_per_arm(decision_trials):
    fig = plots.bor_count_plot(decision_trials, arm="sorafenib")
    assert "sorafenib" in fig.axes[0].get_title()


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (_bor_metrics(), {"published": {"XR": 1}}, ValueError, r"got \['XR'\]"),
        (pd.DataFrame({"a": [1]}), {}, ValueError, "no column bor_count"),
        (
            pd.DataFrame({"bor_count.PR.drug": [1]}),
            {},
            ValueError,
            r"pass arm= one of \['drug'\]",
        ),
        ([1, 2], {}, TypeError, "must be a DataFrame of per-replicate metrics"),
    ],
)
def test_bor_counts_reject_bad_input(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.bor_count_plot(frame, **kwargs)


# --------------------------------------------------------------------------------------
# power


def _power_frame(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n_per_arm": [150, 50, 100, 200],
            "power": [0.88, 0.45, 0.72, 0.95],
            "se": [0.01, 0.016, 0.014, 0.007],
            **extra,
        }
    )


def test_power_curve_line_band_and_target():
    fig = plots.power_curve_plot(_power_frame(), target_power=0.9)
    ax = fig.axes[0]
    power_line = next(line for line in ax.lines if line.get_label() == "power")
    assert list(power_line.get_xdata()) == [50, 100, 150, 200]  # sorted
    assert list(power_line.get_ydata()) == [0.45, 0.72, 0.88, 0.95]
    assert len(ax.collections) == 1
    top = ax.collections[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(0.95 + 1.96 * 0.007)
    assert 0.9 in _hlines(ax)
    reached = next(line for line in ax.lines if line.get_label().startswith("first reaching"))
    assert list(reached.get_xdata()) == [200]
    assert ax.get_xlabel() == "Patients per arm"
    _readable(ax)


def test_power_curve_over_events_when_the_size_is_fixed():
    frame = _power_frame(events=[120, 40, 80, 160]).assign(n_per_arm=207)
    fig = plots.power_curve_plot(frame)
    power_line = next(line for line in fig.axes[0].lines if line.get_label() == "power")
    assert list(power_line.get_xdata()) == [40, 80, 120, 160]
    assert fig.axes[0].get_xlabel() == "Number of events at the analysis"
    assert _hlines(fig.axes[0]) == []


def test_power_curve_accepts_a_power_curve_object():
    curve = SimpleNamespace(frame=_power_frame())
    assert plots.power_curve_plot(curve).axes[0].get_xlabel() == "Patients per arm"


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (pd.DataFrame({"power": [0.5], "se": [0.1]}), {}, ValueError, "'n_per_arm' or 'events'"),
        (_power_frame().drop(columns="se"), {}, ValueError, r"lacks column\(s\) \['se'\]"),
        (_power_frame(), {"target_power": 90}, ValueError, r"`target_power` must be in \(0, 1\)"),
        (_power_frame(), {"x": "events"}, ValueError, "has no column 'events'"),
        ("frame", {}, TypeError, "must be a pandas DataFrame or a PowerCurve"),
    ],
)
def test_power_curve_rejects_bad_input(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.power_curve_plot(frame, **kwargs)
