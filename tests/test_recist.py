"""Worked RECIST cases, each citing the rule it checks (Eisenhauer et al. 2009, EORTC FAQ)."""

import numpy as np
import pandas as pd
import pytest

from simtrial.cli import example_patient, main
from simtrial.recist import (
    RECIST_1_0,
    RECIST_1_1,
    Criteria,
    RecistState,
    Response,
    assess_patient,
    assess_visits,
    classify_block,
    finish_assessment,
    select_targets,
)
from simtrial.scans import _sum_lesions

R = Response


def one_patient(series, *, nodal=None, days=None, new_lesion=None, nontarget=None, **kwargs):
    """Assess one patient given sizes per visit (rows: visits, baseline first)."""
    sizes = np.asarray(series, dtype=float)
    n_visits, n_lesions = sizes.shape
    nodal = [False] * n_lesions if nodal is None else nodal
    days = np.arange(n_visits) * 56 if days is None else days
    return assess_visits(
        sizes, nodal=nodal, day=days, new_lesion=new_lesion, nontarget=nontarget, **kwargs
    )


def names(codes):
    return [Response(int(c)).name for c in np.atleast_1d(codes)]


# --- thresholds (section 4.3.1: PR >= 30% decrease from baseline; PD >= 20% and >= 5 mm over
# the nadir), inclusive and robust to decimal measurements


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ([21.0, 14.0], "PR"),  # 35.0 of 50.0: exactly -30%
        ([21.1, 14.0], "SD"),  # 35.1: -29.8%
    ],
)
def test_partial_response_threshold_is_inclusive(follow_up, expected):
    result = one_patient([[30.0, 20.0], follow_up])
    assert names(result.target[1]) == [expected]


def test_pr_at_exactly_thirty_percent_with_decimal_sums():
    # 0.1 + 0.2 style sums: 10.1 + 23.2 = 33.3 at baseline, 7.07 + 16.24 = 23.31 = 70% of it
    result = one_patient([[10.1, 23.2], [7.07, 16.24]])
    assert names(result.target[1]) == ["PR"]


def test_progression_needs_twenty_percent_and_five_mm_under_recist_1_1():
    # nadir 25 mm: +20% is 30 mm and +5 mm; 29.9 mm is neither
    series = [[30.0], [25.0], [30.0]]
    assert names(one_patient(series).target[2]) == ["PD"]
    assert names(one_patient([[30.0], [25.0], [29.9]]).target[2]) == ["SD"]


def test_twenty_percent_with_four_mm_is_pd_only_without_the_five_mm_rule():
    # nadir 20 mm, now 24 mm: +20% but +4 mm (section 4.3.1, the 5 mm rule is new in 1.1);
    # 24 mm is only -20% from the 30 mm baseline: literally SD, PR continued by the FAQ
    series = [[30.0], [20.0], [24.0]]
    assert names(one_patient(series).target[2]) == ["PR"]  # continued PR (FAQ), not PD
    literal = Criteria(name="literal", continued_response=False)
    assert names(one_patient(series, criteria=literal).target[2]) == ["SD"]
    assert names(one_patient(series, criteria=RECIST_1_0).target[2]) == ["PD"]


def test_nadir_includes_baseline_and_only_earlier_visits():
    # baseline 50 is the nadir until the sum falls; 60 = +20% and +10 mm over baseline
    result = one_patient([[50.0], [60.0]])
    assert names(result.target[1]) == ["PD"]
    assert result.nadir[1] == 50.0
    result = one_patient([[50.0], [45.0], [53.9], [54.0]])
    assert result.nadir.tolist() == [50.0, 50.0, 45.0, 45.0]
    assert names(result.target[1:]) == ["SD", "SD", "PD"]  # 54 = 45 x 1.2 and +9 mm


def test_pd_from_nadir_zero_is_only_on_a_real_increase_under_recist_1_0():
    # after a CR the nadir is 0; a sum still 0 is not progression (no 5 mm rule to guard it)
    result = one_patient([[20.0], [0.0], [0.0]], criteria=RECIST_1_0)
    assert names(result.target[1:]) == ["CR", "CR"]


# --- complete response (section 4.3.1: all targets gone; nodes < 10 mm short axis)


def test_nodal_complete_response_needs_every_node_below_ten_mm():
    nodal = [False, True]
    assert names(one_patient([[20.0, 20.0], [0.0, 9.9]], nodal=nodal).target[1]) == ["CR"]
    assert names(one_patient([[20.0, 20.0], [0.0, 10.0]], nodal=nodal).target[1]) == ["PR"]
    # the sum of a CR need not be zero: nodes keep their short axis in the sum
    assert one_patient([[20.0, 20.0], [0.0, 9.9]], nodal=nodal).target_sum[1] == 9.9


def test_nodes_must_disappear_for_cr_under_recist_1_0():
    result = one_patient([[20.0, 20.0], [0.0, 9.0]], nodal=[False, True], criteria=RECIST_1_0)
    assert names(result.target[1]) == ["PR"]


# --- lesions that disappear and reappear (section 4.3.4; FAQ "Does a new lesion always result
# in PD?")


def test_reappearing_lesion_after_pr_counts_again_in_the_sum():
    # 30 + 20 -> 0 + 15 (PR, -70%) -> 6 + 15 = 21: +40% over nadir 15 and +6 mm: PD by sum
    result = one_patient([[30.0, 20.0], [0.0, 15.0], [4.0, 15.0]])
    assert result.target_sum[2] == 19.0
    assert names(result.target[2]) == ["PR"]  # +26.7% but +4 mm: no PD under 1.1
    result = one_patient([[30.0, 20.0], [0.0, 15.0], [6.0, 15.0]])
    assert names(result.target[2]) == ["PD"]


def test_reappearance_right_after_overall_cr_is_pd():
    series = [[30.0, 20.0], [0.0, 0.0], [4.0, 0.0]]
    assert names(one_patient(series).target[1:]) == ["CR", "PD"]
    off = Criteria(name="no reappearance rule", reappearance_after_cr_is_pd=False)
    assert names(one_patient(series, criteria=off).target[2]) == ["PR"]  # +4 mm: not PD by sum
    # a node returning to >= 10 mm after a CR reappears too
    nodal_series = [[30.0, 20.0], [0.0, 8.0], [0.0, 10.0]]
    assert names(one_patient(nodal_series, nodal=[False, True]).target[2]) == ["PD"]


# --- not evaluable (section 4.3.4: a target not assessed makes the visit NE unless PD)


def test_missing_target_lesion_is_ne_unless_the_measured_ones_already_show_pd():
    assert names(one_patient([[30.0, 20.0], [np.nan, 10.0]]).target[1]) == ["NE"]
    assert np.isnan(one_patient([[30.0, 20.0], [np.nan, 10.0]]).target_sum[1])
    # measured lesion alone is 61 mm > 1.2 x 50 and +11 mm: PD whatever the missing one is
    assert names(one_patient([[30.0, 20.0], [61.0, np.nan]]).target[1]) == ["PD"]


def test_ne_visit_does_not_move_the_nadir():
    result = one_patient([[50.0, 10.0], [np.nan, 5.0], [45.0, 10.0]])
    assert result.nadir[2] == 60.0


# --- the overall response tables (Table 1 with target disease, Table 2 non-target only)

TABLE_1 = [
    # target, non-target, new lesion, overall
    ("CR", "CR", False, "CR"),
    ("CR", "NA", False, "CR"),
    ("CR", "NON_CR_NON_PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "NON_CR_NON_PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("PR", "CR", False, "PR"),
    ("SD", "NON_CR_NON_PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("NE", "NON_CR_NON_PD", False, "NE"),
    ("NE", "NA", False, "NE"),
    ("PD", "NON_CR_NON_PD", False, "PD"),
    ("PD", "NE", False, "PD"),
    ("CR", "PD", False, "PD"),
    ("SD", "PD", False, "PD"),
    ("CR", "CR", True, "PD"),
    ("SD", "NON_CR_NON_PD", True, "PD"),
]

TARGET_SERIES = {
    "CR": [[30.0], [0.0]],
    "PR": [[30.0], [20.0]],
    "SD": [[30.0], [28.0]],
    "NE": [[30.0], [np.nan]],
    "PD": [[30.0], [40.0]],
}


@pytest.mark.parametrize(("target", "nontarget", "new", "overall"), TABLE_1)
def test_overall_response_table_1(target, nontarget, new, overall):
    result = one_patient(
        TARGET_SERIES[target], new_lesion=[False, new], nontarget=[R.NA, R[nontarget]]
    )
    assert names(result.target[1]) == [target]
    assert names(result.overall[1]) == [overall]


@pytest.mark.parametrize(
    ("nontarget", "new", "overall"),
    [
        ("CR", False, "CR"),
        ("NON_CR_NON_PD", False, "NON_CR_NON_PD"),
        ("NE", False, "NE"),
        ("PD", False, "PD"),
        ("CR", True, "PD"),
        ("NON_CR_NON_PD", True, "PD"),
    ],
)
def test_overall_response_table_2_without_targets(nontarget, new, overall):
    result = assess_visits(
        np.zeros((2, 1)),
        nodal=[False],
        day=[0, 56],
        lesion_mask=[False],
        new_lesion=[False, new],
        nontarget=[R.NA, R[nontarget]],
    )
    assert names(result.target[1]) == ["NA"]
    assert names(result.overall[1]) == [overall]


# --- best overall response (section 4.4, Table 3) with and without confirmation


@pytest.mark.parametrize(
    ("sums", "days", "confirm", "best"),
    [
        ([30, 20, 23], [0, 56, 112], False, "PR"),  # unconfirmed PR counts without confirmation
        ([30, 20, 23], [0, 56, 112], True, "SD"),  # PR then SD: SD (Table 3)
        ([30, 20, 20], [0, 56, 112], True, "PR"),  # PR then PR >= 28 days later
        ([30, 20, 20], [0, 56, 70], True, "SD"),  # confirmation 14 days later is too soon
        ([30, 20, 20], [0, 56, 84], True, "PR"),  # exactly 28 days: inclusive
        ([30, 0, 0], [0, 56, 112], True, "CR"),  # CR then CR
        ([30, 0, 0], [0, 56, 70], True, "SD"),  # CR not confirmed, SD duration met
        ([30, 0, 28], [0, 56, 112], True, "SD"),  # CR then PD (reappearance), SD duration met
        ([30, 20, 40], [0, 56, 112], True, "SD"),  # PR then PD, SD duration met at day 56
        ([30, 20, 40], [0, 28, 84], True, "PD"),  # PR then PD, day 28 < 42: PD
        ([30, 20, 40], [0, 28, 84], False, "PR"),
        ([30, 20, np.nan], [0, 56, 112], True, "SD"),  # PR then NE, SD duration met
        ([30, 20, np.nan], [0, 28, 84], True, "NE"),  # PR then NE, too early for SD
    ],
)
def test_best_overall_response_and_confirmation(sums, days, confirm, best):
    result = one_patient([[s] for s in sums], days=days, confirm=confirm)
    assert names(result.best) == [best]


def test_confirmation_ignores_assessments_after_pd():
    # PR at 56, PD at 112 (new lesion), PR again at 168: PD is final, the PR is unconfirmed
    result = one_patient(
        [[30.0], [20.0], [20.0], [20.0]],
        new_lesion=[False, False, True, False],
        confirm=True,
    )
    assert result.pd_visit == 2
    assert names(result.best) == ["SD"]


@pytest.mark.parametrize(
    ("days", "best"),
    [([0, 41, 100], "PD"), ([0, 42, 100], "SD")],
)
def test_minimum_duration_of_stable_disease(days, best):
    result = one_patient([[30.0], [29.0], [40.0]], days=days)
    assert names(result.best) == [best]


def test_stable_disease_too_early_then_nothing_is_ne():
    assert names(one_patient([[30.0], [29.0]], days=[0, 30]).best) == ["NE"]


def test_pd_is_final():
    result = one_patient([[30.0], [40.0], [10.0]])
    assert result.pd_visit == 1 and result.pd_day == 56
    assert names(result.best) == ["PD"]
    assert names(result.overall[2]) == ["PR"]  # later visits are still reported


def test_continued_response_follows_a_confirmed_response_only():
    # PR at 56 (20), not confirmed at 112 (23 is -23%): week 16 stays SD with the FAQ rule
    result = one_patient([[30.0], [20.0], [23.0]], confirm=True)
    assert names(result.target[1:]) == ["PR", "SD"]
    assert names(one_patient([[30.0], [20.0], [23.0]]).target[1:]) == ["PR", "PR"]
    result = one_patient([[30.0], [20.0], [20.0], [22.0]], confirm=True)
    assert names(result.target[1:]) == ["PR", "PR", "PR"]


def test_visits_not_held_are_skipped_not_ne():
    result = one_patient(
        [[30.0], [np.nan], [20.0]], visit_mask=[True, False, True], days=[0, np.nan, 112]
    )
    assert names(result.overall) == ["NA", "NA", "PR"]


def test_leading_axes_are_kept():
    sizes = np.full((3, 4, 5, 2), 20.0)
    result = assess_visits(sizes, nodal=[False, True], day=np.arange(5) * 56)
    assert result.overall.shape == (3, 4, 5)
    assert result.best.shape == (3, 4)


# --- the table door


def lesion_table(rows):
    return pd.DataFrame(rows, columns=["day", "lesion", "organ", "nodal", "target", "size_mm"])


def test_table_door_matches_the_example_patient():
    lesions, visits = example_patient()
    result = assess_patient(lesions, visits)
    assert result.table["overall"].tolist() == ["SD", "PR", "PR", "PR", "PD"]
    assert result.best == "PR"
    assert result.pd_day == 280
    assert result.baseline_sum == 60.0
    assert result.to_frame().equals(result.table)


def test_table_door_unmeasured_target_without_row_is_ne():
    lesions = lesion_table(
        [
            (0, "a", "lung", False, True, 20.0),
            (0, "b", "liver", False, True, 20.0),
            (56, "a", "lung", False, True, 18.0),
        ]
    )
    assert assess_patient(lesions).table["overall"].tolist() == ["NE"]


def test_table_door_new_lesion_day_without_measurements_is_pd():
    lesions = lesion_table(
        [(0, "a", "lung", False, True, 20.0), (56, "a", "lung", False, True, 18)]
    )
    visits = pd.DataFrame({"day": [56, 84], "new_lesion": [False, True]})
    result = assess_patient(lesions, visits)
    assert result.table["overall"].tolist() == ["SD", "PD"]
    assert result.pd_day == 84


BAD_TABLES = [
    (
        [(0, "a", "lung", False, True, 20.0), (56, "a", "lung", False, True, -1.0)],
        None,
        "lesion 'a', day 56: size_mm must be >= 0",
    ),
    (
        [(0, "a", "lung", False, True, np.nan), (56, "a", "lung", False, True, 10.0)],
        None,
        "target lesion 'a' has no baseline",
    ),
    (
        [(0, "a", "lung", False, True, 20.0), (0, "a", "lung", False, True, 21.0)],
        None,
        "lesion 'a' has more than one row on day 0",
    ),
    (
        [(d, f"l{i}", f"organ{i}", False, True, 20.0) for i in range(6) for d in (0,)],
        None,
        "6 target lesions .* at most 5",
    ),
    (
        [(0, f"l{i}", "lung", False, True, 20.0) for i in range(3)],
        None,
        "3 target lesions in organ 'lung'.* at most 2 per organ",
    ),
    (
        [(0, "n1", "neck", True, True, 20.0), (0, "n2", "chest", True, True, 20.0)]
        + [(0, "n3", "pelvis", True, True, 20.0)],
        None,
        "organ 'lymph node'",
    ),
    (
        [(0, "a", "lung", False, True, 20.0), (0, "b", "bone", False, False, np.nan)],
        pd.DataFrame({"day": [56], "nontarget": ["GROWING"]}),
        "day 56: unknown non-target status 'GROWING'",
    ),
    (
        [(56, "a", "lung", False, True, 20.0), (0, "a", "lung", False, True, 20.0)],
        None,
        "lesion 'a': rows are not in increasing day order",
    ),
    (
        [(0, "a", "lung", False, True, 20.0)],
        pd.DataFrame({"day": [112, 56]}),
        "`visits` days must be strictly increasing",
    ),
    (
        [(0, "a", "lung", False, True, 8.0)],
        None,
        "lesion 'a': baseline size 8.0 mm is not measurable",
    ),
    (
        [(0, "n", "neck", True, True, 12.0)],
        None,
        r"nodal target \(short axis\) .*\(needs >= 15 mm\)",
    ),
    (
        [(0, "a", "lung", False, True, 20.0), (0, "b", "bone", False, False, np.nan)],
        pd.DataFrame({"day": [56]}),
        "needs a `nontarget` column",
    ),
]


@pytest.mark.parametrize(("rows", "visits", "message"), BAD_TABLES)
def test_table_door_rejects_bad_input(rows, visits, message):
    with pytest.raises(ValueError, match=message):
        assess_patient(lesion_table(rows), visits)


def test_table_door_missing_column_is_named():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['size_mm'\]"):
        assess_patient(
            pd.DataFrame({"day": [0], "lesion": ["a"], "organ": ["lung"]}).assign(
                nodal=False, target=True
            )
        )


def test_recist_1_0_allows_ten_targets_five_per_organ():
    rows = [(0, f"l{i}", f"organ{i % 2}", False, True, 20.0) for i in range(10)]
    assert assess_patient(lesion_table(rows), criteria=RECIST_1_0).baseline_sum == 200.0
    with pytest.raises(ValueError, match="at most 5"):
        assess_patient(lesion_table(rows), criteria=RECIST_1_1)


# --- the array door rejects what the rules cannot apply to


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [[20.0], [-1.0]]}, r"`sizes` must be >= 0 mm .* at \(1, 0\)"),
        ({"sizes": [[np.nan], [1.0]]}, "every target lesion needs a baseline size > 0"),
        ({"day": [0, 0]}, "`day` must increase strictly"),
        ({"nontarget": [0, 9]}, "`nontarget` codes must be one of"),
        ({"nodal": [True, False, True]}, "`nodal` has shape"),
        ({"sizes": [20.0]}, r"shape \(\.\.\., visit, lesion\)"),
    ],
)
def test_array_door_rejects_bad_input(kwargs, message):
    arguments = {"sizes": [[20.0], [10.0]], "nodal": [False], "day": [0, 56]} | kwargs
    with pytest.raises(ValueError, match=message):
        assess_visits(**arguments)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_targets", 0, "`max_targets` must be a positive integer"),
        ("pr_decrease", 1.5, r"`pr_decrease` must be in \(0, 1\)"),
        ("pd_increase", 0.0, "`pd_increase` must be > 0"),
        ("pd_min_increase_mm", -1.0, "`pd_min_increase_mm` must be >= 0 or None"),
    ],
)
def test_criteria_reject_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        Criteria(name="bad", **{field: value})


# --- target selection (section 3.2-3.3: measurability, 5 targets, 2 per organ)


def test_select_targets_represents_every_organ_before_second_lesions():
    table = pd.DataFrame(
        {
            "lesion": ["L1", "L2", "K1", "K2", "H1", "B1", "N1", "N2", "N3"],
            "organ": ["lung", "lung", "kidney", "kidney", "liver", "bone", "neck", "neck", "ax"],
            "nodal": [False] * 6 + [True] * 3,
            "size_mm": [50, 45, 40, 39, 11, 10, 16, 12, 9],
        }
    )
    chosen = select_targets(table)
    # five organs involved (nodes are one): each one's largest lesion, before any second one
    assert chosen.loc[chosen["target"], "lesion"].tolist() == ["L1", "K1", "H1", "B1", "N1"]
    assert chosen.set_index("lesion").loc[["L2", "N2", "N3"], "category"].tolist() == [
        "non-target",
        "non-target",
        "normal node",
    ]


def test_select_targets_counts_nodes_as_one_organ():
    table = pd.DataFrame(
        {
            "lesion": ["N1", "N2", "N3"],
            "organ": ["neck", "chest", "pelvis"],
            "nodal": [True] * 3,
            "size_mm": [30, 25, 20],
        }
    )
    assert select_targets(table)["target"].tolist() == [True, True, False]
    assert select_targets(table, criteria=RECIST_1_0)["target"].tolist() == [True] * 3


def test_demo_command_prints_the_table(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "best overall response PR, first PD day 280" in out


# --- the scan stage's baseline sum is the RECIST kernels' own, to the last bit


@pytest.mark.parametrize("n_lesions", [1, 2, 3, 5, 7, 8, 9, 10, 17])
def test_lesion_sums_add_in_the_order_of_the_recist_kernels(n_lesions):
    rng = np.random.default_rng(n_lesions)
    sizes = np.round(rng.uniform(0.1, 120, (500, 2, n_lesions)), 1)
    mask = rng.random((500, n_lesions)) < 0.8
    mask[:, 0] = True
    baseline = _sum_lesions(np.where(mask, sizes[:, 0], 0.0))
    kernel = assess_visits(
        sizes, nodal=False, day=[0, 56], lesion_mask=mask, criteria=RECIST_1_0
    ).target_sum[:, 0]
    np.testing.assert_array_equal(baseline, kernel)
    # the same in a patients-fastest layout, as the scan stage passes them
    fortran = np.asfortranarray(np.where(mask, sizes[:, 0], 0.0))
    np.testing.assert_array_equal(_sum_lesions(fortran), kernel)
    if n_lesions < 8:  # numpy's own sum adds fewer than 8 terms in order too
        np.testing.assert_array_equal(baseline, np.where(mask, sizes[:, 0], 0.0).sum(axis=-1))


def test_lesion_sums_of_no_lesion_are_zero():
    np.testing.assert_array_equal(_sum_lesions(np.zeros((3, 2, 0))), np.zeros((3, 2)))


# --- the simulator's doors: codes outside held visits, and the checks the kernels need


def _finish(overall, visit_mask, **kwargs):
    n, v = np.shape(overall)
    args = dict(
        target=np.full((n, v), R.SD, np.int8),
        overall=np.asarray(overall, np.int8),
        target_sum=np.full((n, v), 50.0),
        nadir=np.full((n, v), 50.0),
        day=np.tile(56.0 * np.arange(v), (n, 1)),
        visit_mask=np.asarray(visit_mask, bool),
        new_lesion=np.zeros((n, v), bool),
        nontarget=np.zeros((n, v), np.int8),
        has_targets=np.ones(n, bool),
        criteria=RECIST_1_1,
        confirm=False,
        confirm_days=28,
        min_sd_days=42,
    )
    return finish_assessment(**{**args, **kwargs})


def test_finish_assessment_reports_no_response_at_visits_not_held_whatever_the_batch():
    # a simulator that scanned past PD passes codes at visits it then drops: they are NA,
    # and a patient's table does not depend on the other patients of the batch (a PR
    # carried forward by the FAQ in another patient used to change this one's)
    alone = _finish([[0, R.SD, R.PD, R.PD]], [[True, True, True, False]])
    assert alone.overall[0].tolist() == [R.NA, R.SD, R.PD, R.NA]
    assert alone.target[0].tolist() == [R.NA, R.SD, R.SD, R.NA]
    batch = _finish(
        [[0, R.SD, R.PD, R.PD], [0, R.PR, R.SD, R.SD]],
        [[True, True, True, False], [True, True, True, True]],
        target=np.array([[0, R.SD, R.SD, R.SD], [0, R.PR, R.SD, R.SD]], np.int8),
    )
    assert batch.overall[1].tolist() == [R.NA, R.PR, R.PR, R.PR]  # continued response
    np.testing.assert_array_equal(batch.overall[0], alone.overall[0])
    np.testing.assert_array_equal(batch.target[0], alone.target[0])


def test_simulator_doors_refuse_shapes_and_codes_the_kernels_cannot_index():
    sizes = np.full((2, 1, 3), 10.0)
    good = dict(
        lesion_mask=np.ones((2, 3), bool),
        nodal=np.zeros((2, 3), bool),
        visit_mask=np.ones((2, 1), bool),
        new_lesion=np.zeros((2, 1), bool),
        nontarget=np.zeros((2, 1), np.int8),
        criteria=RECIST_1_1,
        state=RecistState.at_baseline(np.full(2, 30.0)),
    )
    assert classify_block(sizes, **good).overall.shape == (2, 1)
    with pytest.raises(ValueError, match=r"`visit_mask` has shape \(1, 1\); expected \(2, 1\)"):
        classify_block(sizes, **{**good, "visit_mask": np.ones((1, 1), bool)})
    with pytest.raises(ValueError, match="`nodal` has shape"):
        classify_block(sizes, **{**good, "nodal": np.zeros((2, 2), bool)})
    with pytest.raises(ValueError, match="`nontarget` codes must be Response codes 0..6; got 9"):
        classify_block(sizes, **{**good, "nontarget": np.full((2, 1), 9, np.int8)})
    with pytest.raises(ValueError, match="`day` has shape"):
        _finish([[0, R.SD], [0, R.SD]], [[True, True]] * 2, day=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="got -1"):
        _finish([[0, R.SD]], [[True, True]], nontarget=np.array([[0, -1]], np.int8))
