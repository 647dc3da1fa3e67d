"""Properties of the RECIST classifier (simtrial.recist) on generated patients.

Inputs come from the public strategies in :mod:`simtrial.strategies`; the slow reference in
``tests/recist_reference.py`` is the second implementation (double programming). Settings
come from the ``dev`` / ``ci`` profiles of ``tests/conftest.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from recist_reference import reference_assess

from simtrial.recist import (
    RECIST_1_0,
    RECIST_1_1,
    SIZE_TOLERANCE_MM,
    Response,
    assess_patient,
    assess_visits,
    select_targets,
)
from simtrial.strategies import (
    baseline_lesions,
    cohorts,
    patients,
    visit_arrays,
)

R = Response
TOL = SIZE_TOLERANCE_MM
NAMES = np.array([r.name for r in Response], dtype=object)
LITERAL_1_1 = replace(RECIST_1_1, name="RECIST 1.1, literal PR", continued_response=False)
LITERAL_1_0 = replace(RECIST_1_0, name="RECIST 1.0, literal PR", continued_response=False)
NO_REAPPEARANCE = replace(
    RECIST_1_1, name="1.1, no PD on reappearance", reappearance_after_cr_is_pd=False
)
VARIANTS = [RECIST_1_1, RECIST_1_0, LITERAL_1_1, NO_REAPPEARANCE]

# many patients aimed at one edge of the rules (see strategies.patients, constructions)
constructed = st.one_of(
    *(
        patients(criteria, constructions=(construction,), min_visits=2)
        for construction in ("threshold", "CR then reappearance", "response then regrowth")
        for criteria in (RECIST_1_1, RECIST_1_0)
    )
)
any_patient = st.one_of(patients(RECIST_1_1), patients(RECIST_1_0), constructed)
any_patient_or_none = st.one_of(
    any_patient, patients(RECIST_1_1, min_targets=0), patients(RECIST_1_0, min_targets=0)
)
confirms = st.booleans()
# the table door (pandas) is ~20x slower per patient: half the profile's examples there
table_door_settings = settings(max_examples=max(10, settings.default.max_examples // 2))


def assess(arrays, criteria, **kwargs):
    """The array door on a strategies.VisitArrays."""
    return assess_visits(**arrays.kwargs(), criteria=criteria, **kwargs)


def reference(arrays, criteria, confirm=False, **kwargs):
    """The reference on a single patient's strategies.VisitArrays (every visit held)."""
    assert arrays.visit_mask.all() and arrays.lesion_mask.all()
    return reference_assess(
        arrays.sizes.tolist(),
        arrays.nodal.tolist(),
        arrays.day.tolist(),
        arrays.new_lesion.tolist(),
        [None if code == R.NA else R(int(code)).name for code in arrays.nontarget],
        criteria,
        confirm=confirm,
        **kwargs,
    )


def same_values(x, y, name: str) -> None:
    """Responses, flags and days exactly; sums and percentages up to rounding, since summing
    the same sizes in another order (or with padding) may move the last bit."""
    if np.asarray(x).dtype.kind == "f" and name != "pd_day":
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=name)
    else:
        np.testing.assert_array_equal(x, y, err_msg=name)


def same_result(a, b) -> None:
    """Two VisitAssessment agree (see same_values)."""
    for name in a.__dataclass_fields__:
        same_values(getattr(a, name), getattr(b, name), name)


def rank(code) -> int:
    """Order of best responses: CR > PR > SD = non-CR/non-PD > PD > NE."""
    return {R.CR: 4, R.PR: 3, R.SD: 2, R.NON_CR_NON_PD: 2, R.PD: 1, R.NE: 0}[R(int(code))]


# ------------------------------------------------------------------- double programming


def check_against_reference(arrays, criteria, confirm, **kwargs):
    result = assess(arrays, criteria, confirm=confirm)
    expected = reference(arrays, criteria, confirm, **kwargs)
    assert list(NAMES[result.target[1:]]) == expected.target
    assert list(NAMES[result.overall[1:]]) == expected.overall
    assert NAMES[result.best] == expected.best
    assert (None if result.pd_visit < 0 else int(result.pd_visit)) == expected.pd_visit
    np.testing.assert_allclose(result.target_sum[1:], expected.target_sum, rtol=1e-12)
    np.testing.assert_allclose(result.nadir[1:], expected.nadir, rtol=1e-12)


@given(any_patient_or_none, confirms)
def test_array_door_equals_reference(patient, confirm):
    check_against_reference(patient.arrays, patient.criteria, confirm)


@given(visit_arrays(max_visits=8), st.sampled_from(VARIANTS), confirms)
def test_array_door_equals_reference_on_raw_arrays(arrays, criteria, confirm):
    """Also with the FAQ choices switched off, and inputs no clinic would produce."""
    check_against_reference(arrays, criteria, confirm)


@given(any_patient, confirms)
def test_tolerance_equals_exact_decimal_arithmetic(patient, confirm):
    """Sizes are decimals (0.01 mm grid) and thresholds land exactly on them: the classifier's
    float-with-tolerance thresholds must read them as exact decimal arithmetic would."""
    note(patient.construction)
    check_against_reference(patient.arrays, patient.criteria, confirm, exact=True)


@given(
    st.one_of(
        *(
            patients(criteria, constructions=("threshold",), min_targets=2, min_visits=2)
            for criteria in (RECIST_1_1, RECIST_1_0)
        )
    ),
)
def test_sums_on_a_threshold_are_inclusive_in_decimal_mm(patient):
    """Every patient has a visit whose sum (of several decimal sizes, so that binary floating
    point may land a hair either side) is exactly on, or 0.1 mm from, 70% of baseline, 120%
    of the nadir or the nadir + 5 mm: read as exact decimal arithmetic would."""
    note(patient.construction)
    check_against_reference(patient.arrays, patient.criteria, False, exact=True)


@table_door_settings
@given(any_patient_or_none, confirms)
def test_table_door_equals_array_door(patient, confirm):
    criteria = patient.criteria
    table = assess_patient(patient.lesions, patient.visits, criteria=criteria, confirm=confirm)
    arrays = assess(patient.arrays, criteria, confirm=confirm)
    frame = table.table
    np.testing.assert_array_equal(frame["day"].to_numpy(float), patient.arrays.day[1:])
    # sums may differ in the last bit: the two doors add the lesions in different orders
    for column in ("target_sum", "pct_from_baseline", "pct_from_nadir"):
        np.testing.assert_allclose(
            frame[column].to_numpy(float), getattr(arrays, column)[1:], rtol=1e-12, atol=1e-9
        )
    for column in ("target", "nontarget", "overall"):
        assert list(frame[column]) == list(NAMES[getattr(arrays, column)[1:]]), column
    assert list(frame["new_lesion"]) == list(arrays.new_lesion[1:])
    assert table.best == NAMES[arrays.best]
    assert (table.pd_day is None) == bool(np.isnan(arrays.pd_day))
    assert table.pd_day is None or table.pd_day == arrays.pd_day
    np.testing.assert_allclose(table.baseline_sum, arrays.target_sum[0], rtol=1e-12)


# ------------------------------------------------------------------------- invariances


@given(any_patient_or_none, confirms, st.data())
def test_lesion_order_never_matters_array_door(patient, confirm, data):
    arrays = patient.arrays
    order = np.array(data.draw(st.permutations(range(arrays.sizes.shape[-1]))), int)
    kwargs = arrays.kwargs()
    kwargs.update(
        sizes=kwargs["sizes"][:, order],
        nodal=kwargs["nodal"][order],
        lesion_mask=kwargs["lesion_mask"][order],
    )
    permuted = assess_visits(**kwargs, criteria=patient.criteria, confirm=confirm)
    same_result(permuted, assess(arrays, patient.criteria, confirm=confirm))


@table_door_settings
@given(any_patient_or_none, st.data())
def test_lesion_order_never_matters_table_door(patient, data):
    lesions = patient.lesions
    ids = list(dict.fromkeys(lesions["lesion"]))
    order = data.draw(st.permutations(ids))
    position = {lesion: k for k, lesion in enumerate(order)}
    shuffled = lesions.iloc[
        np.argsort(lesions["lesion"].map(position).to_numpy(), kind="stable")
    ].reset_index(drop=True)
    a = assess_patient(lesions, patient.visits, criteria=patient.criteria)
    b = assess_patient(shuffled, patient.visits, criteria=patient.criteria)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.best, a.pd_day) == (b.best, b.pd_day)
    np.testing.assert_allclose(a.baseline_sum, b.baseline_sum, rtol=1e-12)


@given(
    cohorts(RECIST_1_1, max_patients=4) | cohorts(RECIST_1_0, max_patients=4),
    confirms,
    st.sampled_from(["flat", "row", "col"]),
)
def test_batching_equals_one_patient_at_a_time(cohort, confirm, layout):
    """A stack of patients, padded with junk behind lesion_mask / visit_mask, under leading
    axes (patient,), (1, patient) or (patient, 1), is each patient assessed alone."""
    criteria = cohort.patients[0].criteria
    kwargs = cohort.arrays.kwargs()
    n = len(cohort.patients)
    lead = {"flat": (n,), "row": (1, n), "col": (n, 1)}[layout]
    kwargs = {k: v.reshape(lead + v.shape[1:]) for k, v in kwargs.items()}
    together = assess_visits(**kwargs, criteria=criteria, confirm=confirm)
    flat = {
        name: np.asarray(getattr(together, name)).reshape(
            (n, *getattr(together, name).shape[len(lead) :])
        )
        for name in [*together.__dataclass_fields__, "pct_from_baseline", "pct_from_nadir"]
    }
    for i, (patient, slots) in enumerate(zip(cohort.patients, cohort.visit_slots, strict=True)):
        alone = assess(patient.arrays, criteria, confirm=confirm)
        slots = list(slots)
        for name in (
            "target_sum",
            "nadir",
            "pct_from_baseline",
            "pct_from_nadir",
            "target",
            "nontarget",
            "new_lesion",
            "overall",
        ):
            same_values(flat[name][i, slots], getattr(alone, name), name)
            held = np.zeros(flat[name].shape[1], bool)
            held[slots] = True
            skipped = flat[name][i, ~held]
            if skipped.dtype.kind == "f":
                assert np.isnan(skipped).all(), name
            else:
                assert (skipped == 0).all(), name  # NA / False at visits not held
        assert flat["best"][i] == alone.best
        expected_pd = -1 if alone.pd_visit < 0 else slots[int(alone.pd_visit)]
        assert flat["pd_visit"][i] == expected_pd
        np.testing.assert_array_equal(flat["pd_day"][i], alone.pd_day)


@given(visit_arrays((2, 3), masks=True), st.sampled_from(VARIANTS), confirms)
def test_batching_with_raw_masks(arrays, criteria, confirm):
    """Each element of a (2, 3) stack with drawn masks, assessed alone, gives the same."""
    together = assess(arrays, criteria, confirm=confirm)
    kwargs = arrays.kwargs()
    for index in np.ndindex(2, 3):
        alone = assess_visits(
            **{k: v[index] for k, v in kwargs.items()}, criteria=criteria, confirm=confirm
        )
        for name in together.__dataclass_fields__:
            same_values(getattr(together, name)[index], getattr(alone, name), name)


# ----------------------------------------------------------------------------- the rules


@given(any_patient_or_none, confirms, st.data())
def test_a_new_lesion_always_gives_pd_at_that_visit(patient, confirm, data):
    arrays = patient.arrays
    v = data.draw(st.integers(1, arrays.day.size - 1), label="visit with a new lesion")
    kwargs = arrays.kwargs()
    kwargs["new_lesion"][v] = True
    result = assess_visits(**kwargs, criteria=patient.criteria, confirm=confirm)
    assert result.overall[v] == R.PD
    assert 0 < result.pd_visit <= v
    assert result.pd_day == arrays.day[result.pd_visit]


@given(any_patient, confirms, st.data())
def test_growth_at_a_visit_never_undoes_pd_at_that_visit(patient, confirm, data):
    """Growing measurements at follow-up visit v (all else fixed) keeps PD at v.

    The property is per visit: growing an *earlier* visit can raise the nadir (when that visit
    was the smallest sum) and so undo a later PD, which is correct RECIST.
    """
    arrays = patient.arrays
    measured = np.argwhere(~np.isnan(arrays.sizes[1:])) + [1, 0]
    assume(len(measured))
    v = int(measured[data.draw(st.integers(0, len(measured) - 1), label="cell")][0])
    lesions = [int(j) for vv, j in measured if vv == v]
    grown = data.draw(st.lists(st.sampled_from(lesions), min_size=1, unique=True), label="grown")
    by = data.draw(
        st.lists(
            st.integers(1, 500).map(lambda k: k / 10), min_size=len(grown), max_size=len(grown)
        ),
        label="by mm",
    )
    before = assess(arrays, patient.criteria, confirm=confirm)
    kwargs = arrays.kwargs()
    kwargs["sizes"][v, grown] += by
    after = assess_visits(**kwargs, criteria=patient.criteria, confirm=confirm)
    if before.target[v] == R.PD:
        assert after.target[v] == R.PD
    if before.overall[v] == R.PD:
        assert after.overall[v] == R.PD
    # visits before v cannot see the change
    same_prefix = slice(0, v)
    np.testing.assert_array_equal(after.overall[same_prefix], before.overall[same_prefix])


@given(patients(LITERAL_1_1) | patients(LITERAL_1_0), confirms)
def test_literal_pr_needs_thirty_percent_fall_from_baseline(patient, confirm):
    """Without continued response, target PR means a complete sum <= 70% of baseline."""
    result = assess(patient.arrays, patient.criteria, confirm=confirm)
    baseline = result.target_sum[0]
    for v in np.flatnonzero(result.target == R.PR):
        assert not np.isnan(result.target_sum[v])
        assert result.target_sum[v] <= 0.7 * baseline + TOL
        assert result.pct_from_baseline[v] <= -30 + 1e-9


@given(any_patient, confirms)
def test_continued_response_is_exactly_the_faq_rule(patient, confirm):
    """With continued response (the default), target PR at visit v if and only if the
    literal reading gives PR, or it gives SD, v is not after the first PD, and an earlier
    visit (not after the first PD) established the response: an overall CR or PR that,
    when confirmation is asked, comes >= 28 days after another CR or PR. The best response
    and the first PD do not change."""
    continued = patient.criteria
    literal = replace(continued, name="literal", continued_response=False)
    a = assess(patient.arrays, continued, confirm=confirm)
    b = assess(patient.arrays, literal, confirm=confirm)
    assert a.best == b.best
    assert a.pd_visit == b.pd_visit
    day = patient.arrays.day
    last = day.size - 1 if b.pd_visit < 0 else int(b.pd_visit)
    response = [w for w in range(1, last + 1) if b.overall[w] in (R.CR, R.PR)]
    established = [
        w for w in response if not confirm or any(u < w and day[w] - day[u] >= 28 for u in response)
    ]
    for v in range(1, day.size):
        carried = b.target[v] == R.SD and v <= last and any(w < v for w in established)
        assert (a.target[v] == R.PR) == (b.target[v] == R.PR or carried), v
        if a.target[v] != b.target[v]:
            assert carried and a.overall[v] in (R.PR, R.PD)


@given(any_patient, confirms)
def test_cr_means_every_target_gone(patient, confirm):
    """Target CR: every target measured, non-nodal 0 mm, nodal < 10 mm (RECIST 1.0: 0)."""
    criteria = patient.criteria
    arrays = patient.arrays
    result = assess(arrays, criteria, confirm=confirm)
    for v in np.flatnonzero(result.target == R.CR):
        sizes = arrays.sizes[v]
        assert not np.isnan(sizes).any()
        by_short_axis = arrays.nodal & criteria.nodes_by_short_axis
        assert (sizes[~by_short_axis] == 0).all()
        assert (sizes[by_short_axis] < 10).all()


@given(st.one_of(any_patient_or_none, visit_arrays(max_visits=8)), st.sampled_from(VARIANTS))
def test_confirmation_never_improves_the_best_response(patient_or_arrays, criteria):
    """Order: CR > PR > SD = non-CR/non-PD > PD > NE. Asking for confirmation can only make
    the best response worse (never better), a confirmed responder is a responder without
    confirmation, and the first PD is the same."""
    arrays = getattr(patient_or_arrays, "arrays", patient_or_arrays)
    with_ = assess(arrays, criteria, confirm=True)
    without = assess(arrays, criteria, confirm=False)
    assert rank(with_.best) <= rank(without.best)
    if with_.best in (R.CR, R.PR):
        assert without.best in (R.CR, R.PR)
    if with_.best == R.CR:
        assert without.best == R.CR
    assert with_.pd_visit == without.pd_visit
    # visit by visit, a continued PR needs more with confirmation, never less
    assert ((with_.target == R.PR) <= (without.target == R.PR)).all()


def _scaled(patient, c):
    kwargs = patient.arrays.kwargs()
    kwargs["sizes"] = kwargs["sizes"] * c
    return kwargs


def _scale_range_recist_1_1(patient, result):
    """The factors c for which no absolute rule of RECIST 1.1 changes its verdict:
    every nodal target measurement stays on its side of 10 mm, and at every visit where the
    20% rule holds, the +5 mm rule keeps its truth value. Returns (low, high), c in [low, high)."""
    low, high = 0.05, 20.0
    arrays = patient.arrays
    node = arrays.nodal & patient.criteria.nodes_by_short_axis
    for s in arrays.sizes[:, node].ravel():
        if s >= 10 - TOL:
            low = max(low, (10 - TOL) / s)
        elif s > 0:
            high = min(high, (10 - TOL) / s)
    for v in range(1, arrays.day.size):
        total = np.nansum(arrays.sizes[v])
        nadir = result.nadir[v]
        increase = total - nadir
        if not (increase > TOL and total >= 1.2 * nadir - TOL):
            continue
        if increase >= 5 - TOL:
            low = max(low, (5 - TOL) / increase)
        else:
            high = min(high, (5 - TOL) / increase)
    return low, high


@given(patients(RECIST_1_0) | visit_arrays(max_visits=8), confirms, st.floats(0.05, 20.0))
def test_scaling_never_matters_under_recist_1_0(patient, confirm, c):
    """RECIST 1.0 has no absolute rule (no 5 mm, nodes measured like other lesions, CR = 0):
    every response is unchanged when every size is multiplied by any c > 0. (The range of c
    is bounded only so that sizes on the 0.01 mm grid stay far from SIZE_TOLERANCE_MM.)"""
    arrays = getattr(patient, "arrays", patient)
    kwargs = arrays.kwargs()
    kwargs["sizes"] = kwargs["sizes"] * c
    check_scaled(
        assess(arrays, RECIST_1_0, confirm=confirm),
        assess_visits(**kwargs, criteria=RECIST_1_0, confirm=confirm),
        c,
    )


@given(patients(RECIST_1_1), confirms, st.floats(0, 1))
def test_scaling_never_matters_under_recist_1_1_away_from_absolute_rules(patient, confirm, u):
    """Under RECIST 1.1 responses are unchanged by c exactly when (a) every nodal target
    measurement is on the same side of 10 mm at both scales and (b) at every visit where the
    20% rule holds, the +5 mm rule has the same truth value at both scales. Both are
    conditions on c alone — an interval around 1 — so c is drawn inside it."""
    before = assess(patient.arrays, RECIST_1_1, confirm=confirm)
    low, high = _scale_range_recist_1_1(patient, before)
    assert low <= 1 < high
    c = low * (1 + 1e-9) + u * (high * (1 - 1e-9) - low * (1 + 1e-9))
    note(f"c in [{low}, {high}): {c}")
    after = assess_visits(**_scaled(patient, c), criteria=RECIST_1_1, confirm=confirm)
    check_scaled(before, after, c)


def check_scaled(before, after, c):
    for name in ("target", "nontarget", "overall", "new_lesion", "best", "pd_visit", "pd_day"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name), err_msg=name)
    np.testing.assert_allclose(after.target_sum, c * before.target_sum, rtol=1e-12)
    for name in ("pct_from_baseline", "pct_from_nadir"):
        np.testing.assert_allclose(getattr(after, name), getattr(before, name), atol=1e-9)


def test_scaling_conditions_are_needed_under_recist_1_1():
    """The two conditions above are not idle: a node crossing 10 mm, or a +5 mm rule that
    starts to hold, changes the response."""
    node = assess_visits([[16.0], [12.0]], nodal=[True], day=[0, 56])
    shrunk = assess_visits([[12.8], [9.6]], nodal=[True], day=[0, 56])  # c = 0.8
    assert (node.target[1], shrunk.target[1]) == (R.SD, R.CR)
    small = assess_visits([[20.0], [24.0]], nodal=[False], day=[0, 56])  # +20%, +4 mm
    large = assess_visits([[40.0], [48.0]], nodal=[False], day=[0, 56])  # c = 2: +8 mm
    assert (small.target[1], large.target[1]) == (R.SD, R.PD)


# ------------------------------------------------------------------------- target choice


@table_door_settings
@given(
    st.sampled_from([RECIST_1_1, RECIST_1_0]).flatmap(
        lambda c: st.tuples(st.just(c), baseline_lesions(c, max_nontargets=6))
    )
)
def test_select_targets_choice_is_accepted_by_the_table_door(criteria_and_table):
    """Whatever select_targets chooses from a baseline respects the criteria's limits, so
    the table door accepts it; a measurable lesion left out is no larger than its organ's
    targets, and its organ or the whole target list is full."""
    criteria, table = criteria_and_table
    measured = table.dropna(subset=["size_mm"]).drop(columns="target")
    chosen = select_targets(measured, criteria=criteria)
    organ = np.where(chosen["nodal"] & criteria.nodes_by_short_axis, "lymph node", chosen["organ"])
    chosen = chosen.assign(organ_key=organ)
    targets = chosen[chosen["target"]]
    per_organ = targets["organ_key"].value_counts()
    assert len(targets) <= criteria.max_targets
    assert per_organ.max() <= criteria.max_targets_per_organ if len(targets) else True
    by_short_axis = chosen["nodal"] & criteria.nodes_by_short_axis
    floor = np.where(by_short_axis, criteria.node_measurable_mm, criteria.measurable_mm)
    for row in chosen[(chosen["size_mm"] >= floor) & ~chosen["target"]].itertuples():
        organ_targets = targets.loc[targets["organ_key"] == row.organ_key, "size_mm"]
        assert (organ_targets >= row.size_mm).all()
        full = len(organ_targets) == criteria.max_targets_per_organ
        assert full or len(targets) == criteria.max_targets
    chosen = chosen.drop(columns="organ_key")
    rows = chosen.assign(day=0, target=chosen["target"]).drop(columns="category")
    follow_up = rows[rows["target"]].assign(day=56)
    lesions = pd.concat([rows, follow_up], ignore_index=True)
    visits = pd.DataFrame({"day": [56], "new_lesion": [False], "nontarget": ["NON_CR_NON_PD"]})
    if len(targets):
        result = assess_patient(lesions, visits, criteria=criteria)
        assert result.table["target"].tolist() == ["SD"]


# ------------------------------------------------------------- found by these properties


def test_table_door_day_without_nontarget_status_is_not_read_as_no_disease():
    lesions = pd.DataFrame(
        {
            "day": [0, 0, 56, 56, 112, 112],
            "lesion": ["lung-1", "bone-1"] * 3,
            "organ": ["lung", "bone"] * 3,
            "nodal": [False] * 6,
            "target": [True, False] * 3,
            "size_mm": [20.0, math.nan, 10.0, math.nan, 0.0, math.nan],
        }
    )
    visits = pd.DataFrame({"day": [56], "new_lesion": [False], "nontarget": ["NON_CR_NON_PD"]})
    result = assess_patient(lesions, visits)
    day_112 = result.table.set_index("day").loc[112]
    assert day_112["nontarget"] == "NE"
    assert day_112["overall"] == "PR"  # target CR with non-target not evaluated (Table 1)


@given(any_patient, confirms)
def test_float32_sizes_read_like_float64(patient, confirm):
    """float32 sizes (what simtrial.imaging records) are classified as the same decimals in
    float64: the classifier reads them to FLOAT32_DECIMALS places, so even a decimal sum that
    lies exactly on a threshold is read on the right side, whatever the sizes."""
    arrays = patient.arrays
    wide = assess(arrays, patient.criteria, confirm=confirm)
    kwargs = arrays.kwargs()
    kwargs["sizes"] = kwargs["sizes"].astype(np.float32)
    narrow = assess_visits(**kwargs, criteria=patient.criteria, confirm=confirm)
    for name in ("target", "nontarget", "overall", "new_lesion", "best", "pd_visit", "pd_day"):
        np.testing.assert_array_equal(getattr(narrow, name), getattr(wide, name), err_msg=name)
    np.testing.assert_allclose(narrow.target_sum, wide.target_sum, rtol=1e-6)


def test_float32_sizes_read_like_float64_even_when_large():
    # RECIST 1.0 (10 targets): baseline 10 x 128.07 = 1280.7 mm; follow-up 9 x 143.18 +
    # 248.22 = 1536.84 mm = exactly 1.2 x 1280.7 (and +256 mm): PD in decimal mm
    sizes = np.array([[128.07] * 10, [143.18] * 9 + [248.22]])
    wide = assess_visits(sizes, nodal=[False] * 10, day=[0, 56], criteria=RECIST_1_0)
    narrow = assess_visits(
        sizes.astype(np.float32), nodal=[False] * 10, day=[0, 56], criteria=RECIST_1_0
    )
    assert wide.target[1] == R.PD
    assert narrow.target[1] == R.PD


def test_float32_decimal_sums_on_a_threshold():
    # nadir 31.0 mm (baseline), then 37.2 mm: exactly +20% and +6.2 mm, so PD (section 4.3.1)
    sizes = np.array([[10.1, 20.9], [13.4, 23.8]])
    wide = assess_visits(sizes, nodal=[False, False], day=[0, 56])
    narrow = assess_visits(sizes.astype(np.float32), nodal=[False, False], day=[0, 56])
    assert wide.target[1] == R.PD
    assert narrow.target[1] == R.PD
