"""Patient engine: each stage's invariants, reproducibility, and tables consistent with arrays."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simtrial.cohort import _sort_descending, simulate_cohort
from simtrial.dosing import (
    ACTIONS,
    OFF,
    LevelIntegrals,
    _invert_drug_hazard,
    _next_event,
    simulate_dosing,
)
from simtrial.imaging import read_targets
from simtrial.patients import simulate_patients
from simtrial.recist import Response
from simtrial.scenario import load_scenario
from simtrial.streams import ReplicateStreams, replicate_seed

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def decision():
    return load_scenario(SCENARIOS / "decision.toml")


@pytest.fixture(scope="module")
def pitoia():
    return load_scenario(SCENARIOS / "pitoia2014.toml")


@pytest.fixture(scope="module")
def decision_run(decision):
    return simulate_patients(decision, 3, rng=11)


# --- cohort


@pytest.mark.parametrize("name", ["decision", "pitoia"])
def test_targets_respect_the_criteria(name, request):
    scenario = request.getfixturevalue(name)
    criteria = scenario.study.recist
    cohort = simulate_cohort(scenario, 20, rng=3)
    n_targets = cohort.lesion_mask.sum(axis=1)
    assert n_targets.min() >= 1  # measurable disease is required
    assert n_targets.max() <= criteria.max_targets
    site = np.where(cohort.lesion_mask, cohort.site, -1)
    for s in range(len(scenario.cohort.sites)):
        assert ((site == s).sum(axis=1) <= criteria.max_targets_per_organ).all()
    # targets fill the first columns, largest measurable first within a site
    assert (np.diff(cohort.lesion_mask.astype(int), axis=1) <= 0).all()
    size = cohort.size_mm
    nodal_floor = (
        criteria.node_measurable_mm
        if criteria.nodes_by_short_axis
        else (criteria.measurable_mm / scenario.tumour.node_long_to_short_axis)
    )
    floor = np.where(cohort.nodal, nodal_floor, criteria.measurable_mm)
    assert (size[cohort.lesion_mask] >= floor[cohort.lesion_mask] - 1e-4).all()


def test_site_frequencies_follow_the_scenario(decision):
    # lung 0.86: over 20 x 417 patients, the share with a lung target is at most that
    cohort = simulate_cohort(decision, 20, rng=5)
    lung = (cohort.site == 0).any(axis=1).mean()
    assert lung <= 0.86 + 4 * np.sqrt(0.86 * 0.14 / cohort.n_rows)


# --- dosing and toxicity


def test_doses_only_move_down_the_ladder(decision_run):
    doses = decision_run.doses
    for row in range(doses.change_day.shape[0]):
        used = np.isfinite(doses.change_day[row])
        days, levels = doses.change_day[row][used], doses.change_level[row][used]
        assert (np.diff(days) >= 0).all()
        on = levels[levels != OFF]
        # ignoring interruptions the ladder index never decreases: the dose never rises
        assert (np.diff(on) >= 0).all()


def test_no_exposure_on_placebo_or_off_drug(decision_run):
    run = decision_run
    doses = run.doses
    placebo = ~run.cohort.row_on_drug
    grid = np.tile(np.arange(0.0, 1096.0, 3.5), (doses.change_day.shape[0], 1))
    assert (doses.integrate(grid, doses.exposure_by_level)[placebo] == 0).all()
    # over every off-drug segment of a drug patient, exposure does not accumulate
    start = np.where(np.isfinite(doses.change_day), doses.change_day, 2000.0)
    end = np.concatenate([start[:, 1:], np.full((start.shape[0], 1), 2000.0)], axis=1)
    gain = doses.integrate(end, doses.exposure_by_level) - doses.integrate(
        start, doses.exposure_by_level
    )
    off = (doses.change_level == OFF) & np.isfinite(doses.change_day)
    assert off[~placebo].any()
    assert np.allclose(gain[off], 0.0)
    assert (gain[~off & np.isfinite(doses.change_day)] >= 0).all()


def test_placebo_gets_no_drug_toxicity(decision_run):
    run = decision_run
    placebo = ~run.cohort.row_on_drug
    assert (run.doses.episode_type[placebo] == -1).all()
    table = run.to_frame()
    assert not table.loc[table.arm == "placebo", "hfsr_any"].any()  # no placebo HFSR rate


def test_rules_follow_the_label_for_a_grade3_patient(decision):
    # only hand-foot skin reaction, always grade 3: interrupt then one level lower, then two
    # levels lower, then stop (the scenario's hfsr rules)
    events = decision.toxicity.events
    scenario = decision.with_values(
        {
            "toxicity.events": {
                "hfsr": events["hfsr"].model_dump()
                | {"dlt_share": 1.0, "grade_probabilities": {"3": 1.0}}
            },
            "toxicity.stop_probability": 0.0,
            "toxicity.background_stop_rate_per_day": 0.0,
            "toxicity.dlt_rate_per_day": 0.05,
        }
    )
    doses = simulate_dosing(
        scenario,
        on_drug=np.ones(200, bool),
        start_level=np.zeros(200, int),
        susceptibility=np.ones(200),
        horizon_days=3000,
        rng=7,
    )
    actions = [ACTIONS[a] for a in doses.episode_action[0, :3]]
    assert actions == ["interrupt_reduce", "interrupt_reduce2", "stop"]
    levels = doses.change_level[0][np.isfinite(doses.change_day[0])].tolist()
    assert levels == [0, OFF, 1, OFF, 3, OFF]
    assert np.isfinite(doses.stop_day).all() and doses.stop_related.all()


def test_integrate_matches_a_per_row_reference(decision_run):
    doses = decision_run.doses
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0, 1100, (doses.change_day.shape[0], 7)), axis=1)
    by_level = np.array([1.0, 0.7, 0.4, 0.2])
    fast = doses.integrate(times, by_level, off_value=0.05)
    for row in rng.choice(doses.change_day.shape[0], 60, replace=False):
        days = doses.change_day[row][np.isfinite(doses.change_day[row])]
        levels = doses.change_level[row][: len(days)]
        for j, t in enumerate(times[row]):
            total = 0.0
            for i, start in enumerate(days):
                end = days[i + 1] if i + 1 < len(days) else np.inf
                value = 0.05 if levels[i] == OFF else by_level[levels[i]]
                total += value * max(0.0, min(t, end) - start)
            assert fast[row, j] == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_segment_search_stepping_forward_matches_the_full_search(decision_run):
    # the scan stage steps forward from an earlier scan's segment; any start at or before
    # the answer must give the search from day 0's answer, and so must a subset of rows
    doses = decision_run.doses
    integrals = LevelIntegrals(doses.change_day, doses.change_level, [[1.0, 0.7, 0.4, 0.2]], 0.0)
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(len(doses.change_day), 500, replace=False))
    times = np.sort(rng.uniform(0, 1100, (rows.size, 5)), axis=1)
    full = integrals.segment(times, rows)
    assert (full > 0).any()  # some times lie after a dose change
    for start in (np.zeros(rows.size, np.intp), rng.integers(0, full[:, 0] + 1)):
        stepped = integrals.segment(times, rows, start=start)
        np.testing.assert_array_equal(stepped, full)
        segment = np.empty(times.shape, np.intp)
        at = integrals.at(times, rows, start=start, segment=segment)
        np.testing.assert_array_equal(segment, full)
        np.testing.assert_array_equal(at, integrals.at(times, rows))
    # times in any order: the running sums carried from one time to the next give, to the
    # last bit, what each time alone gives
    shuffled = rng.permuted(times, axis=1)
    one_by_one = np.concatenate(
        [integrals.at(shuffled[:, [j]], rows) for j in range(shuffled.shape[1])], axis=2
    )
    np.testing.assert_array_equal(integrals.at(shuffled, rows), one_by_one)
    # a NaN time is before every change and leaves the other times' search alone
    times[0, 2] = np.nan
    index = integrals.segment(times, rows)
    assert index[0, 2] == 0
    np.testing.assert_array_equal(np.delete(index[0], 2), np.delete(full[0], 2))


def test_level_integrals_at_unusual_times_and_bad_arguments():
    day = np.array([[0.0, 10.0, np.inf], [0.0, 5.0, 20.0]])
    level = np.array([[0, OFF, OFF], [0, 1, OFF]])
    integrals = LevelIntegrals(day, level, [[1.0, 0.5]], 0.0)
    times = np.array([[np.inf, np.nan], [np.inf, 30.0]])
    # only real changes count: +inf lies in the last one (unused +inf columns never count),
    # where nothing more accrues off drug; a NaN time lies in the first and integrates to NaN
    np.testing.assert_array_equal(integrals.segment(times), [[1, 0], [2, 2]])
    np.testing.assert_array_equal(integrals.at(times)[0], [[10.0, np.nan], [12.5, 12.5]])
    with pytest.raises(ValueError, match="`rows` must index the 2 rows"):
        integrals.at(times, np.array([0, 2]))
    with pytest.raises(ValueError, match="`start` must be a change column"):
        integrals.at(times, start=np.array([0, 3]))
    with pytest.raises(ValueError, match="`segment` must be a writable"):
        integrals.at(times, segment=np.empty((1, 2), np.intp))
    with pytest.raises(ValueError, match="ladder level 0..1 or -1"):
        LevelIntegrals(day, np.array([[0, 2, OFF], [0, 1, OFF]]), [[1.0, 0.5]], 0.0)


def test_replicate_streams_fill_in_place_the_numbers_of_separate_draws():
    streams = ReplicateStreams(5, 3, 4, rows_per_replicate=2)
    rows = np.array([0, 1, 4, 5, 6])  # replicate 4 (rows 2-3) has no row in this draw
    drawn = streams.rows(rows).standard_normal((5, 3), dtype=np.float32)
    pieces = [
        np.random.default_rng(replicate_seed(5, r)).standard_normal((c, 3), dtype=np.float32)
        for r, c in ((3, 2), (5, 2), (6, 1))
    ]
    np.testing.assert_array_equal(drawn, np.concatenate(pieces))


def test_sorting_network_sorts_lesions_like_numpy():
    rng = np.random.default_rng(2)
    for width in range(1, 7):
        sizes = rng.choice([0.0, 11.0, 12.5, 30.0, 47.2], (200, 3, width)).astype(np.float32)
        np.testing.assert_array_equal(_sort_descending(sizes), -np.sort(-sizes, axis=-1))


def test_episode_times_are_exponential_under_a_constant_hazard(decision):
    # one cycle multiplier, no stops: the first episode of a full-dose patient is Exp(rate)
    scenario = decision.with_values(
        {
            "toxicity.cycle_multipliers": [1.0],
            "toxicity.background_stop_rate_per_day": 0.0,
            "toxicity.dlt_rate_per_day": 0.01,
        }
    )
    n = 4000
    doses = simulate_dosing(
        scenario,
        on_drug=np.ones(n, bool),
        start_level=np.zeros(n, int),
        susceptibility=np.ones(n),
        horizon_days=1e6,
        rng=8,
    )
    first = doses.episode_day[:, 0]
    # KS test at the 0.1% level: fails by chance once in 1,000 seeds; this seed is fixed
    assert stats.kstest(first, "expon", args=(0, 100.0)).pvalue > 1e-3


def test_next_event_walks_the_cycles_from_now():
    # cycles [0, 28), [28, 56), [56, inf) with hazards 0.01, 0.02, 0.05 per day
    cycle_start, cycle_end = np.array([0.0, 28.0, 56.0]), np.array([28.0, 56.0, np.inf])
    rate = np.tile([0.01, 0.02, 0.05], (4, 1))
    rate[3] = [0.01, 0.0, 0.0]  # no hazard after the first cycle
    now = np.array([0.0, 10.0, 60.0, 0.0])
    target = np.array([0.2, 0.5, 0.1, 0.5])
    tau, piece = _next_event(target, rate, now, cycle_start, cycle_end)
    # row 0: 0.28 in cycle 0 is enough -> 0.2 / 0.01; row 1: 0.18 + 0.56 -> in cycle 1
    # after (0.5 - 0.18) / 0.02 days; row 2: in the last cycle from day 60; row 3: never
    np.testing.assert_allclose(tau[:3], [20.0, 28.0 + 0.32 / 0.02, 60.0 + 0.1 / 0.05])
    assert tau[3] == np.inf
    np.testing.assert_array_equal(piece[:3], [0, 1, 2])


def test_adverse_event_onsets_invert_the_cumulative_hazard(decision_run):
    # the onset solves a x integral(density) + b x t = target, the density piecewise
    # constant between dose changes and cycle starts; a per-row reference walks the pieces
    doses = decision_run.doses
    rows = np.flatnonzero((doses.change_level != OFF).any(axis=1))[:300]
    assert (np.isfinite(doses.change_day[rows, 1:]).sum(axis=1) >= 2).any()  # real histories
    dose_factor = np.array([1.0, 0.8, 0.55, 0.3, 0.0])  # by level, off last
    multipliers = np.array([2.0, 1.3, 1.0])
    cycle_days = 28.0
    rng = np.random.default_rng(4)
    target = rng.standard_exponential((2, rows.size))
    a, b = np.array([[0.02], [0.004]]), np.array([[0.0], [0.001]])
    onset = _invert_drug_hazard(
        doses.change_day[rows],
        doses.change_level[rows],
        np.full(rows.size, 1.5),
        dose_factor,
        multipliers,
        cycle_days,
        target,
        a,
        b,
    )
    for column, row in enumerate(rows):
        days, levels = doses.change_day[row], doses.change_level[row]
        cuts = sorted({*days[np.isfinite(days)].tolist(), cycle_days, 2 * cycle_days})
        for kind in range(2):
            hazard, expected = 0.0, None
            for start, end in zip(cuts, [*cuts[1:], np.inf], strict=True):
                level = levels[np.searchsorted(days, start, side="right") - 1]
                cycle = min(int(start // cycle_days), len(multipliers) - 1)
                density = 1.5 * dose_factor[level] * multipliers[cycle]
                slope = a[kind, 0] * density + b[kind, 0]
                if slope > 0 and hazard + slope * (end - start) >= target[kind, column]:
                    expected = start + (target[kind, column] - hazard) / slope
                    break
                hazard += slope * (end - start) if slope > 0 else 0.0
            if expected is None:
                assert onset[kind, column] == np.inf or onset[kind, column] > 1e9
            else:
                assert onset[kind, column] == pytest.approx(expected, rel=1e-10)


# --- tumour dynamics, imaging and RECIST


def test_lesions_without_kill_never_shrink(decision):
    scenario = decision.with_values(
        {
            "tumour.kill_rate_per_day": 0.0,
            "tumour.regressing_fraction": 0.0,
            "study.scan_after_progression": True,  # every scan, to see the whole course
        }
    )
    run = simulate_patients(scenario, 1, rng=4)
    assert run.scan_held[:, 1:].mean() > 0.95  # scans continue after PD (2% are missed)
    mask = run.cohort.lesion_mask[:, None, :]
    step = np.diff(run.true_mm, axis=1)
    assert (step[np.broadcast_to(mask, step.shape)] >= -1e-3).all()


def test_scans_stop_at_the_first_progression(decision_run):
    run = decision_run
    a = run.assessment
    after_pd = np.arange(run.scan_day.shape[1])[None, :] > a.pd_visit[:, None]
    progressed = a.pd_visit > 0
    assert progressed.any()
    # no scan is recorded after a patient's first PD; patients without PD keep their calendar
    assert not (run.scan_held & after_pd & progressed[:, None]).any()


def test_stopping_scans_at_progression_changes_no_outcome(decision):
    # with every reading deterministic (no reader error, non-target read exactly, new lesions
    # seen exactly from 5 mm), simulating the scans after PD or not gives the same PD and BOR
    exact = decision.with_values(
        {
            "imaging.reader_error_log_sd": 0.0,
            "imaging.reader_bias_log_sd": 0.0,
            "tumour.nontarget_read_log_sd": 0.0,
            "imaging.new_lesion_detect_scale_mm": 1e-9,
        }
    )
    stop = simulate_patients(exact, 2, rng=12).assessment
    keep = simulate_patients(
        exact.with_values({"study.scan_after_progression": True}), 2, rng=12
    ).assessment
    assert np.array_equal(stop.pd_day, keep.pd_day, equal_nan=True)
    assert np.array_equal(stop.best, keep.best)
    assert (stop.pd_visit >= 0).mean() > 0.3  # the comparison covers many progressions


def test_measured_equals_true_without_reader_error(pitoia):
    scenario = pitoia.with_values(
        {
            "imaging.reader_error_log_sd": 0.0,
            "imaging.reader_bias_log_sd": 0.0,
            "imaging.rounding_mm": 0.0,
            "imaging.too_small_mm": 1e-6,
            "imaging.disappeared_mm": 0.0,
        }
    )
    run = simulate_patients(scenario, 50, rng=6)
    mask = np.broadcast_to(run.cohort.lesion_mask[:, None, :], run.true_mm.shape)
    assert np.allclose(run.measured_mm[mask], run.true_mm[mask], rtol=1e-6)


def test_reader_floor_rounding_and_disappearance(pitoia):
    true_mm = np.array([[[20.0, 20.0], [3.0, 1.0], [12.26, 12.74]]], np.float32)
    scenario = pitoia.with_values(
        {"imaging.reader_error_log_sd": 0.0, "imaging.reader_bias_log_sd": 0.0}
    )
    measured = read_targets(scenario, true_mm, np.array([[False, False]]), rng=0)
    # 3 mm is seen but too small to measure: 5 mm; 1 mm is gone: 0; whole mm otherwise
    assert measured.tolist() == [[[20.0, 20.0], [5.0, 0.0], [12.0, 13.0]]]


def test_tg_falls_on_drug_and_rises_on_placebo_with_growing_tumour(decision):
    scenario = decision.with_values(
        {
            "thyroglobulin.assay_log_sd": 0.0,
            "toxicity.dlt_rate_per_day": 0.0,
            "toxicity.background_stop_rate_per_day": 0.0,
            "tumour.regressing_fraction": 0.0,
            "tumour.growth_rate_per_day": 0.002,
            "tumour.growth_log_sd": 0.2,
        }
    )
    run = simulate_patients(scenario, 1, rng=9)
    change = run.tg_ng_ml[:, 1] / run.tg_ng_ml[:, 0]
    on_drug = run.cohort.row_on_drug
    # on drug: direct effect at full exposure (median 0.6 log-fold) outweighs 28 days of
    # growth at <= 0.002 x e^(4 x 0.2) /day; on placebo the tumour only grows
    assert (change[on_drug] < 1).all()
    assert (change[~on_drug] > 1).all()


def test_same_seed_same_output_and_different_seed_differs(pitoia):
    a = simulate_patients(pitoia, 5, rng=123).to_frame()
    b = simulate_patients(pitoia, 5, rng=123).to_frame()
    c = simulate_patients(pitoia, 5, rng=124).to_frame()
    assert a.equals(b)
    assert not a.equals(c)


def test_patient_table_is_consistent_with_the_arrays(decision_run):
    run = decision_run
    table = run.to_frame()
    a = run.assessment
    assert len(table) == run.cohort.n_rows == 3 * 417
    assert table["bor"].tolist() == [Response(int(b)).name for b in a.best]
    assert np.array_equal(table["pd_day"].to_numpy(), a.pd_day, equal_nan=True)
    assert (table["n_targets"] == run.cohort.lesion_mask.sum(axis=1)).all()
    assert (table["arm"] == "sorafenib").sum() == 3 * 207
    pd_rows = table["bor"] == "PD"
    assert table.loc[pd_rows, "pd_day"].notna().all()
    # the first PD ends treatment
    has_pd = table["pd_day"].notna()
    assert (table.loc[has_pd, "end_of_treatment_day"] <= table.loc[has_pd, "pd_day"]).all()
    # visit table and lesion table carry the same patients
    visits = run.visit_table()
    assert set(visits["rep"]) == {0, 1, 2}
    first_pd = visits[visits["overall"] == "PD"].groupby(["rep", "patient"])["day"].min()
    pd_days = table.set_index(["rep", "patient"])["pd_day"].dropna()
    assert np.allclose(first_pd.loc[pd_days.index].to_numpy(), pd_days.to_numpy())
    lesions = run.lesion_table()
    assert (
        lesions.groupby(["rep", "patient"])["lesion"].nunique().to_numpy()
        == table["n_targets"].to_numpy()
    ).all()
    doses = run.dose_table()
    assert (doses.loc[doses["patient"] >= 207, "dose_mg"] == 0).all()


def test_pd_from_new_lesion_or_nontarget_only_after_they_appear(decision_run):
    run = decision_run
    a = run.assessment
    # at a PD visit, either the target sum rose enough, or a new lesion / non-target PD was read
    rows = np.flatnonzero(a.pd_visit > 0)
    v = a.pd_visit[rows]
    cause = (
        (a.target[rows, v] == Response.PD)
        | run.new_lesion[rows, v]
        | (run.nontarget[rows, v] == Response.PD)
    )
    assert cause.all()


def test_the_adverse_event_that_stops_treatment_counts():
    """Found by the discrete-event oracle: an episode on the day treatment stopped (its own
    day, so not before the end of treatment) was left out of the incidences."""
    sim = simulate_patients("scenarios/decision.toml", 3, rng=8, keep_lesions=False)
    doses, table = sim.doses, sim.to_frame()
    rows = np.flatnonzero(doses.stop_related & (doses.stop_day <= sim.end_of_treatment))
    assert rows.size > 10
    last = (doses.episode_day[rows] == doses.stop_day[rows, None]).argmax(axis=1)
    kind = doses.episode_type[rows, last]
    for row, k in zip(rows, kind, strict=True):
        assert table.loc[row, f"{doses.event_names[k]}_any"]


def test_thyroglobulin_relaxes_across_every_dose_change():
    """Found by the discrete-event oracle: Tg after a short interruption was computed as if
    it had reached its off-drug level. Two days off drug from day 20: at day 22 serum Tg has
    relaxed from the on-drug level towards 1 for two days only, then back for 3 days."""
    import dataclasses

    from simtrial.dosing import simulate_dosing
    from simtrial.thyroglobulin import serum_tg

    scenario = load_scenario("scenarios/pitoia2014.toml")
    history = simulate_dosing(
        scenario,
        on_drug=np.array([True]),
        start_level=np.array([0]),
        susceptibility=np.array([0.0]),
        horizon_days=60,
        rng=0,
    )
    history = dataclasses.replace(
        history,
        change_day=np.array([[0.0, 20.0, 22.0]]),
        change_level=np.array([[0, -1, 0]], np.int8),
    )
    effect, half_life = np.log(4), 65.0
    tg = serum_tg(
        history,
        np.array([[25.0]]),
        np.ones((1, 1)),
        np.array([100.0]),
        np.array([effect]),
        half_life_hours=half_life,
        assay_log_sd=0.0,
    )
    decay = np.exp(-np.log(2) * 24.0 / half_life)  # per day
    on = 0.25 + 0.75 * decay**20  # day 20, on drug since day 0
    off = 1.0 + (on - 1.0) * decay**2  # day 22, off drug for 2 days
    expected = 100.0 * (0.25 + (off - 0.25) * decay**3)
    assert tg[0, 0] == pytest.approx(expected, rel=1e-12)
