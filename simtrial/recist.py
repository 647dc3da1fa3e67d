"""RECIST response assessment: one rule implementation, two doors.

The *array door*, :func:`assess_visits`, classifies any number of patients at once from
arrays with leading axes ``(..., visit, lesion)``; the simulator calls it. The *table door*,
:func:`assess_patient`, takes one patient's real measurements as a long pandas table, checks
them, and calls the array door. :func:`select_targets` picks target lesions at baseline.
The rules themselves run patient by patient in compiled loops (numba), each visit once.

The rules follow RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-47) and the
clarifications of the RECIST working group (EORTC RECIST FAQ). Where the text leaves a
choice, the choice is a field of :class:`Criteria` and is documented there.

References
----------
.. [1] Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in
   solid tumours: revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247.
.. [2] Therasse P, Arbuck SG, Eisenhauer EA, et al. New guidelines to evaluate the response
   to treatment in solid tumors (RECIST 1.0). J Natl Cancer Inst 2000;92:205-216.
.. [3] EORTC RECIST working group, "RECIST 1.1 questions and clarifications" (FAQ):
   "Managing PR when TP measurements change slightly over time"; "Does a new lesion always
   result in PD?"; "Two target lesions" (lymph nodes are one organ).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numba import njit

from simtrial._compiled import JIT, kernel_array

__all__ = [
    "RECIST_1_0",
    "RECIST_1_1",
    "RESPONSE_NAMES",
    "FLOAT32_DECIMALS",
    "SIZE_TOLERANCE_MM",
    "Criteria",
    "PatientAssessment",
    "Response",
    "VisitAssessment",
    "assess_patient",
    "assess_visits",
    "BestResponse",
    "RecistState",
    "VisitBlock",
    "best_overall_response",
    "classify_block",
    "decimal_sizes",
    "finish_assessment",
    "select_targets",
]

#: Sizes and sums closer than this (mm) count as equal, so thresholds are inclusive even when
#: decimal measurements do not add up exactly in binary floating point.
SIZE_TOLERANCE_MM = 1e-6
#: float32 sizes are read as decimals with this many places (0.1 micrometre): their binary
#: representation error (half an ulp: 7.6e-6 mm at 128 mm) would otherwise put a decimal sum
#: that lies exactly on a threshold on either side of it. Exact for any lesion under 2 m.
FLOAT32_DECIMALS = 4


class Response(enum.IntEnum):
    """Response category of a visit or of a patient (best overall response).

    ``NA`` means not applicable: a visit that did not take place, the target response of a
    patient without target lesions, or the non-target response of a patient without
    non-target disease.
    """

    NA = 0
    CR = 1
    PR = 2
    SD = 3
    NON_CR_NON_PD = 4
    PD = 5
    NE = 6


_NONTARGET_CODES = (Response.NA, Response.CR, Response.NON_CR_NON_PD, Response.PD, Response.NE)
#: Response names by code: ``RESPONSE_NAMES[codes]`` turns code arrays into names.
RESPONSE_NAMES = np.array([r.name for r in Response], dtype=object)


@dataclass(frozen=True)
class Criteria:
    """The rules of one version of RECIST, as a value.

    Both doors take ``criteria=``; the same code with another value gives the other version,
    so "the same classifier" for two arms or two studies means the same code with the study's
    criteria.

    Parameters
    ----------
    name : str
        Label shown in tables.
    max_targets, max_targets_per_organ : int
        Selection limits (RECIST 1.1: 5 and 2; RECIST 1.0: 10 and 5). Lymph nodes are one
        organ [3]_.
    pr_decrease : float
        PR when the target sum is at least this fraction below the baseline sum.
    pd_increase : float
        PD when the target sum is at least this fraction above the nadir ...
    pd_min_increase_mm : float or None
        ... and at least this many mm above it (RECIST 1.1: 5 mm; RECIST 1.0: no such rule).
    nodes_by_short_axis : bool
        RECIST 1.1: nodes are measured by short axis, are measurable from 15 mm, and count as
        gone (for CR) below 10 mm. RECIST 1.0: nodes are measured like any other lesion.
    node_normal_mm, node_measurable_mm, measurable_mm : float
        Short axis below which a node is normal; short axis from which a node is measurable;
        longest diameter from which a non-nodal lesion is measurable (CT, 5 mm slices).
    continued_response : bool
        The FAQ's reading [3]_ (default): once a PR or CR has been reached (and confirmed, when
        confirmation is asked for), a later visit whose sum is no longer 30% below baseline but
        is not PD stays PR. ``False`` gives the literal reading (such a visit is SD). This
        changes the visit-by-visit responses only, never the best overall response.
    reappearance_after_cr_is_pd : bool
        A target lesion that reappears (non-nodal: size > 0; node: back to >= 10 mm) at the
        visit after an overall CR makes that visit PD [3]_. After PR or SD a reappearing lesion
        simply counts again in the sum.
    """

    name: str
    max_targets: int = 5
    max_targets_per_organ: int = 2
    pr_decrease: float = 0.30
    pd_increase: float = 0.20
    pd_min_increase_mm: float | None = 5.0
    nodes_by_short_axis: bool = True
    node_normal_mm: float = 10.0
    node_measurable_mm: float = 15.0
    measurable_mm: float = 10.0
    continued_response: bool = True
    reappearance_after_cr_is_pd: bool = True

    def __post_init__(self) -> None:
        for name in ("max_targets", "max_targets_per_organ"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        if not 0 < self.pr_decrease < 1:
            raise ValueError(f"`pr_decrease` must be in (0, 1), got {self.pr_decrease!r}")
        if not self.pd_increase > 0:
            raise ValueError(f"`pd_increase` must be > 0, got {self.pd_increase!r}")
        if self.pd_min_increase_mm is not None and not self.pd_min_increase_mm >= 0:
            raise ValueError(
                f"`pd_min_increase_mm` must be >= 0 or None, got {self.pd_min_increase_mm!r}"
            )


#: RECIST 1.1 [1]_: 5 targets, 2 per organ, PD needs +20% and +5 mm over the nadir, nodes by
#: short axis.
RECIST_1_1 = Criteria(name="RECIST 1.1")

#: RECIST 1.0 [2]_ as DECISION read it: 10 targets, 5 per organ, PD = +20% over the nadir
#: with no absolute rule, nodes measured like other lesions.
RECIST_1_0 = Criteria(
    name="RECIST 1.0",
    max_targets=10,
    max_targets_per_organ=5,
    pd_min_increase_mm=None,
    nodes_by_short_axis=False,
    node_measurable_mm=10.0,
)


@dataclass(frozen=True)
class VisitAssessment:
    """Result of :func:`assess_visits`: arrays over the caller's leading axes.

    Visit 0 is baseline; its response fields are ``Response.NA``.

    Attributes
    ----------
    target_sum : ndarray, shape (..., visit)
        Sum of target diameters (mm); NaN where a target was not measured or the visit was
        not held.
    nadir : ndarray, shape (..., visit)
        Reference for PD at each visit: the smallest complete sum before it, baseline
        included (mm).
    pct_from_baseline, pct_from_nadir : ndarray, shape (..., visit)
        Percent change of ``target_sum`` from the baseline sum and from ``nadir``.
    target, nontarget, overall : ndarray of int8, shape (..., visit)
        :class:`Response` codes per visit.
    new_lesion : ndarray of bool, shape (..., visit)
    best : ndarray of int8, shape (...)
        Best overall response (with confirmation when asked for).
    pd_visit : ndarray of int, shape (...)
        Index of the first PD visit, -1 if none.
    pd_day : ndarray of float, shape (...)
        Day of the first PD visit, NaN if none.
    """

    target_sum: np.ndarray
    nadir: np.ndarray
    target: np.ndarray
    nontarget: np.ndarray
    new_lesion: np.ndarray
    overall: np.ndarray
    best: np.ndarray
    pd_visit: np.ndarray
    pd_day: np.ndarray

    @property
    def pct_from_baseline(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * (self.target_sum / self.target_sum[..., :1] - 1.0)

    @property
    def pct_from_nadir(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            change = 100.0 * (self.target_sum / self.nadir - 1.0)
        return np.where(self.nadir > 0, change, np.nan)


def _broadcast(name: str, value, shape: tuple[int, ...], dtype) -> np.ndarray:
    array = np.asarray(value)
    if array.shape == shape:  # not a read-only broadcast view, which the kernels would copy
        return array.astype(dtype, copy=False)
    try:
        return np.broadcast_to(array, shape).astype(dtype, copy=False)
    except ValueError:
        raise ValueError(
            f"`{name}` has shape {array.shape}, which does not broadcast to {shape}"
        ) from None


def _overall_table() -> np.ndarray:
    """Overall response by (has targets, new lesion, target code, non-target code): RECIST
    1.1 Table 1 (target disease) and Table 2 (non-target disease only)."""
    r = Response
    table = np.full((2, 2, len(r), len(r)), r.NE, np.int8)
    for target in r:
        for nontarget in r:
            if target == r.PD or nontarget == r.PD:
                overall = r.PD
            elif target == r.CR:
                overall = r.CR if nontarget in (r.CR, r.NA) else r.PR
            elif target in (r.PR, r.SD):
                overall = target
            else:
                overall = r.NE
            table[1, 0, target, nontarget] = overall
            without = {r.CR: r.CR, r.NON_CR_NON_PD: r.NON_CR_NON_PD, r.PD: r.PD}
            table[0, 0, target, nontarget] = without.get(nontarget, r.NE)
    table[:, 1] = r.PD  # a new lesion is PD whatever else
    return table


_OVERALL = _overall_table()


# ------------------------------------------------------------------------------ the kernels
# The rules run patient by patient in compiled loops (numba): RECIST is sequential per patient
# (the nadir, PD's finality, confirmation), so one pass over a patient's visits does what
# numpy needs some thirty whole-array passes for. The Python functions around them check and
# shape the input and allocate the output; every rule lives in these kernels alone.

_INLINE = {**JIT, "inline": "always"}
_NA, _CR, _PR, _SD, _NON_CR_NON_PD, _PD, _NE = (int(r) for r in Response)


@njit(**_INLINE)
def _classify_patient(
    i,
    first,
    sizes,
    lesion_mask,
    nodal,
    visit_mask,
    new_lesion,
    nontarget,
    baseline_sum,
    low,
    after_cr,
    overall_table,
    rules,
    lesions,
    gone_below,
    target,
    overall,
    target_sum,
    nadir,
):
    """Per-visit rules for patient ``i``'s visits ``first`` onwards, from the nadir ``low``
    and whether the latest held visit was an overall CR; returns both after the visits.
    ``rules`` = (PR ratio, PD ratio, PD minimum mm, node gone below mm, nodes by short
    axis, reappearance after CR is PD); ``lesions`` and ``gone_below`` are scratch space, one
    entry per lesion slot."""
    pr_ratio, pd_ratio, pd_min_mm, node_gone_mm = rules[0], rules[1], rules[2], rules[3]
    by_short_axis, reappearance = rules[4] != 0.0, rules[5] != 0.0
    tol = SIZE_TOLERANCE_MM
    n_visits, n_lesions = sizes.shape[1], sizes.shape[2]
    # the patient's target lesions and the size below which each counts as gone
    n_targets = 0
    for j in range(n_lesions):
        if lesion_mask[i, j]:
            lesions[n_targets] = j
            gone_below[n_targets] = node_gone_mm - tol if by_short_axis and nodal[i, j] else tol
            n_targets += 1
    has_targets = n_targets > 0
    for v in range(first, n_visits):
        if not visit_mask[i, v]:
            target[i, v] = _NA
            overall[i, v] = _NA
            target_sum[i, v] = np.nan
            nadir[i, v] = np.nan
            continue
        total = 0.0
        incomplete = False
        present = False  # a target lesion not gone (non-nodal > 0, node >= 10 mm)
        for t in range(n_targets):
            size = sizes[i, v, lesions[t]]
            if np.isnan(size):
                incomplete = True
            else:
                total += size
                present |= size >= gone_below[t]
        code = _NA
        if has_targets:
            # the rules in decreasing order of precedence: PD, NE, CR, PR, else SD; the
            # measured lesions alone can make PD (a missing one can only add to the sum)
            increase = total - low
            if increase > tol and total >= pd_ratio * low - tol and increase >= pd_min_mm - tol:
                code = _PD
            elif incomplete:
                code = _NE
            elif not present:
                code = _CR
            elif total <= pr_ratio * baseline_sum + tol:
                code = _PR
            else:
                code = _SD
        response = overall_table[int(has_targets), int(new_lesion[i, v]), code, nontarget[i, v]]
        # a target lesion present right after an overall CR is PD (it never changes a CR)
        if reappearance and after_cr and present and has_targets:
            code = _PD
            response = _PD
        target[i, v] = code
        overall[i, v] = response
        target_sum[i, v] = total if has_targets and not incomplete else np.nan
        nadir[i, v] = low if has_targets else np.nan
        if has_targets and not incomplete and total < low:
            low = total
        after_cr = response == _CR
    return low, after_cr


@njit(**_INLINE)
def _best_of_patient(i, overall, day, visit_mask, has_targets, options, confirming):
    """Best overall response and first PD visit of patient ``i`` (see :func:`assess_visits`);
    marks in ``confirming`` the visits that confirm an earlier response (every CR / PR before
    PD without confirmation). ``options`` = (confirm, days to confirm, days of SD, ...), the
    day thresholds already made inclusive."""
    confirm, gap, min_sd = options[0] != 0.0, options[1], options[2]
    n_visits = overall.shape[1]
    pd_visit = -1
    for v in range(1, n_visits):
        if visit_mask[i, v] and overall[i, v] == _PD:
            pd_visit = v
            break
    last = pd_visit if pd_visit >= 0 else n_visits - 1
    confirmed_cr = confirmed_pr = stable_long_enough = False
    # a response at v is confirmed by the latest later visit with the same or a better one
    latest_cr = latest_cr_pr = -np.inf
    for v in range(last, 0, -1):
        if not visit_mask[i, v]:
            continue
        response = overall[i, v]
        if response == _CR or response == _PR:
            if not confirm:
                confirmed_pr = True
                confirmed_cr |= response == _CR
            else:
                confirmed_pr |= latest_cr_pr - day[i, v] >= gap
                latest_cr_pr = max(latest_cr_pr, day[i, v])
                if response == _CR:
                    confirmed_cr |= latest_cr - day[i, v] >= gap
                    latest_cr = max(latest_cr, day[i, v])
        if response == _CR or response == _PR or response == _SD or response == _NON_CR_NON_PD:
            stable_long_enough |= day[i, v] - day[i, 0] >= min_sd
    confirming[:] = False
    earliest = np.inf
    for v in range(1, last + 1):
        response = overall[i, v]
        if visit_mask[i, v] and (response == _CR or response == _PR):
            confirming[v] = not confirm or day[i, v] - earliest >= gap
            earliest = min(earliest, day[i, v])
    if confirmed_cr:
        return _CR, pd_visit
    if confirmed_pr:
        return _PR, pd_visit
    if stable_long_enough:
        return (_SD if has_targets else _NON_CR_NON_PD), pd_visit
    return (_PD if pd_visit >= 0 else _NE), pd_visit


@njit(**_INLINE)
def _finish_patient(
    i,
    target,
    overall,
    day,
    visit_mask,
    new_lesion,
    nontarget,
    has_targets,
    overall_table,
    options,
    confirming,
    nontarget_out,
    new_lesion_out,
    best,
    pd_visit,
    pd_day,
):
    """Best response, first PD and continued response of patient ``i``;
    ``target`` and ``overall`` are updated in place. ``options`` = (confirm, days to
    confirm, days of SD, continued response)."""
    code, first_pd = _best_of_patient(i, overall, day, visit_mask, has_targets, options, confirming)
    best[i] = code
    pd_visit[i] = first_pd
    pd_day[i] = day[i, first_pd] if first_pd >= 0 else np.nan
    continued = options[3] != 0.0
    established = False  # a response, once established (confirmed if asked), persists (FAQ)
    for v in range(overall.shape[1]):
        follow_up = v >= 1 and visit_mask[i, v]
        if not follow_up:  # baseline and visits not held: no response
            target[i, v] = _NA
            overall[i, v] = _NA
        elif (
            continued
            and established
            and (first_pd < 0 or v <= first_pd)
            and target[i, v] == _SD
            and has_targets
        ):
            target[i, v] = _PR
            overall[i, v] = overall_table[1, int(new_lesion[i, v]), _PR, nontarget[i, v]]
        established |= confirming[v]
        nontarget_out[i, v] = nontarget[i, v] if follow_up else _NA
        new_lesion_out[i, v] = new_lesion[i, v] and follow_up


@njit(**JIT)
def _classify_kernel(
    sizes,
    lesion_mask,
    nodal,
    visit_mask,
    new_lesion,
    nontarget,
    baseline_sum,
    nadir_before,
    previous_cr_before,
    overall_table,
    rules,
    target,
    overall,
    target_sum,
    nadir,
    nadir_after,
    previous_cr_after,
):
    """:func:`classify_block` for every patient."""
    lesions = np.empty(sizes.shape[2], np.intp)
    gone_below = np.empty(sizes.shape[2])
    for i in range(sizes.shape[0]):
        nadir_after[i], previous_cr_after[i] = _classify_patient(
            i,
            0,
            sizes,
            lesion_mask,
            nodal,
            visit_mask,
            new_lesion,
            nontarget,
            baseline_sum[i],
            nadir_before[i],
            previous_cr_before[i],
            overall_table,
            rules,
            lesions,
            gone_below,
            target,
            overall,
            target_sum,
            nadir,
        )


@njit(**JIT)
def _finish_kernel(
    target,
    overall,
    day,
    visit_mask,
    new_lesion,
    nontarget,
    has_targets,
    overall_table,
    options,
    nontarget_out,
    new_lesion_out,
    best,
    pd_visit,
    pd_day,
):
    """:func:`finish_assessment` for every patient (``target``, ``overall`` in place)."""
    confirming = np.zeros(overall.shape[1], np.bool_)
    for i in range(overall.shape[0]):
        _finish_patient(
            i,
            target,
            overall,
            day,
            visit_mask,
            new_lesion,
            nontarget,
            has_targets[i],
            overall_table,
            options,
            confirming,
            nontarget_out,
            new_lesion_out,
            best,
            pd_visit,
            pd_day,
        )


@njit(**JIT)
def _best_kernel(overall, day, visit_mask, has_targets, options, best, pd_visit, pd_day):
    """:func:`best_overall_response` for every patient."""
    confirming = np.zeros(overall.shape[1], np.bool_)
    for i in range(overall.shape[0]):
        code, first_pd = _best_of_patient(
            i, overall, day, visit_mask, has_targets[i], options, confirming
        )
        best[i] = code
        pd_visit[i] = first_pd
        pd_day[i] = day[i, first_pd] if first_pd >= 0 else np.nan


@njit(**_INLINE)
def _check_patient(i, sizes, lesion_mask, day, visit_mask, nontarget, allowed, found):
    """Record in ``found`` (rule, (patient, visit, lesion)) the first input of patient ``i``
    that each rule rejects, unless an earlier patient broke that rule: negative size, target
    without a positive baseline size, baseline not held, held visit without a finite day,
    held visit not after the held one before it, non-target code not allowed. Returns
    whether the patient broke none."""
    valid = True
    n_visits, n_lesions = sizes.shape[1], sizes.shape[2]
    negative = False  # found without a branch per size, located only if there is one
    for v in range(n_visits):
        for j in range(n_lesions):
            negative |= sizes[i, v, j] < 0
    if negative:
        valid = False
        for v in range(n_visits):
            for j in range(n_lesions):
                if sizes[i, v, j] < 0 and found[0, 0] < 0:
                    found[0, 0], found[0, 1], found[0, 2] = i, v, j
    for j in range(n_lesions):
        if lesion_mask[i, j] and not sizes[i, 0, j] > 0:
            valid = False
            if found[1, 0] < 0:
                found[1, 0], found[1, 2] = i, j
    if not visit_mask[i, 0]:
        valid = False
        if found[2, 0] < 0:
            found[2, 0] = i
    last_held = -np.inf
    for v in range(n_visits):
        if not allowed[nontarget[i, v] & 0xFF]:
            valid = False
            if found[5, 0] < 0:
                found[5, 0], found[5, 1] = i, v
        if visit_mask[i, v]:
            if not np.isfinite(day[i, v]):
                valid = False
                if found[3, 0] < 0:
                    found[3, 0], found[3, 1] = i, v
            elif v > 0 and not day[i, v] > last_held:
                valid = False
                if found[4, 0] < 0:
                    found[4, 0], found[4, 1] = i, v
            last_held = max(last_held, day[i, v])
    return valid


@njit(**JIT)
def _assess_kernel(
    sizes,
    lesion_mask,
    nodal,
    day,
    visit_mask,
    new_lesion,
    nontarget,
    allowed,
    overall_table,
    rules,
    options,
    found,
    target,
    overall,
    target_sum,
    nadir,
    nontarget_out,
    new_lesion_out,
    best,
    pd_visit,
    pd_day,
):
    """:func:`assess_visits` for every patient, one pass: checks, baseline, per-visit rules,
    best response. Patients that break a rule are only checked (the caller raises)."""
    n_lesions = sizes.shape[2]
    confirming = np.zeros(sizes.shape[1], np.bool_)
    lesions = np.empty(n_lesions, np.intp)
    gone_below = np.empty(n_lesions)
    for i in range(sizes.shape[0]):
        if not _check_patient(i, sizes, lesion_mask, day, visit_mask, nontarget, allowed, found):
            continue
        baseline_sum = 0.0
        has_targets = False
        for j in range(n_lesions):
            if lesion_mask[i, j]:
                baseline_sum += sizes[i, 0, j]
                has_targets = True
        target[i, 0] = overall[i, 0] = _NA
        target_sum[i, 0] = nadir[i, 0] = baseline_sum if has_targets else np.nan
        _classify_patient(
            i,
            1,
            sizes,
            lesion_mask,
            nodal,
            visit_mask,
            new_lesion,
            nontarget,
            baseline_sum,
            baseline_sum,
            False,
            overall_table,
            rules,
            lesions,
            gone_below,
            target,
            overall,
            target_sum,
            nadir,
        )
        _finish_patient(
            i,
            target,
            overall,
            day,
            visit_mask,
            new_lesion,
            nontarget,
            has_targets,
            overall_table,
            options,
            confirming,
            nontarget_out,
            new_lesion_out,
            best,
            pd_visit,
            pd_day,
        )


def decimal_sizes(sizes: np.ndarray) -> np.ndarray:
    """Sizes as the rules read them: float32 values as decimals to
    :data:`FLOAT32_DECIMALS` places, in float64; float64 unchanged."""
    if sizes.dtype == np.float32:
        return np.round(sizes.astype(np.float64), FLOAT32_DECIMALS)
    return sizes


@dataclass(frozen=True)
class RecistState:
    """What RECIST carries from earlier visits to later ones, per patient.

    Attributes
    ----------
    baseline_sum : ndarray, shape (n,)
    nadir : ndarray, shape (n,)
        Smallest complete target sum so far, baseline included.
    previous_cr : ndarray of bool, shape (n,)
        The latest held visit's overall response was CR.
    """

    baseline_sum: np.ndarray
    nadir: np.ndarray
    previous_cr: np.ndarray

    @classmethod
    def at_baseline(cls, baseline_sum: np.ndarray) -> RecistState:
        return cls(baseline_sum, baseline_sum.copy(), np.zeros(baseline_sum.shape, bool))

    def rows(self, index) -> RecistState:
        return RecistState(self.baseline_sum[index], self.nadir[index], self.previous_cr[index])


@dataclass(frozen=True)
class VisitBlock:
    """Per-visit results of :func:`classify_block`, shapes (n, visit), and the state after."""

    target: np.ndarray
    overall: np.ndarray
    target_sum: np.ndarray
    nadir: np.ndarray
    state: RecistState


def classify_block(
    sizes, *, lesion_mask, nodal, visit_mask, new_lesion, nontarget, criteria, state
) -> VisitBlock:
    """The per-visit RECIST rules for consecutive follow-up visits, given the state before.

    The same compiled rules as :func:`assess_visits`, for a simulator that stops scanning at
    progression and so classifies visits block by block (responses of a visit depend only on
    earlier visits, through ``state``). Shapes:
    ``sizes`` (n, visit, lesion), masks and codes (n, visit), ``lesion_mask`` / ``nodal``
    (n, lesion). Only the shapes and the non-target codes are checked (the other checks are
    :func:`assess_visits`'s).
    """
    n, n_visits, n_lesions = np.shape(sizes)
    _check_shapes(
        {"visit_mask": visit_mask, "new_lesion": new_lesion, "nontarget": nontarget},
        (n, n_visits),
    )
    _check_shapes({"lesion_mask": lesion_mask, "nodal": nodal}, (n, n_lesions))
    _check_shapes(
        {
            "baseline_sum": state.baseline_sum,
            "nadir": state.nadir,
            "previous_cr": state.previous_cr,
        },
        (n,),
    )
    _check_codes(nontarget)
    block = VisitBlock(
        np.empty((n, n_visits), np.int8),
        np.empty((n, n_visits), np.int8),
        np.empty((n, n_visits)),
        np.empty((n, n_visits)),
        RecistState(state.baseline_sum, np.empty(n), np.empty(n, bool)),
    )
    _classify_kernel(
        kernel_array(decimal_sizes(sizes), np.float64),
        kernel_array(lesion_mask, np.bool_),
        kernel_array(nodal, np.bool_),
        kernel_array(visit_mask, np.bool_),
        kernel_array(new_lesion, np.bool_),
        kernel_array(nontarget, np.int8),
        kernel_array(state.baseline_sum, np.float64),
        kernel_array(state.nadir, np.float64),
        kernel_array(state.previous_cr, np.bool_),
        _OVERALL,
        _rules(criteria),
        block.target,
        block.overall,
        block.target_sum,
        block.nadir,
        block.state.nadir,
        block.state.previous_cr,
    )
    return block


def _check_shapes(arrays: dict, shape: tuple[int, ...]) -> None:
    """The kernels index without bounds checks: refuse arrays of another shape."""
    for name, array in arrays.items():
        if np.shape(array) != shape:
            raise ValueError(f"`{name}` has shape {np.shape(array)}; expected {shape}")


def _check_codes(nontarget) -> None:
    """Non-target codes index the overall-response table: refuse any outside it."""
    codes = np.asarray(nontarget)
    if codes.size and not (codes.min() >= 0 and codes.max() < len(Response)):
        bad = codes[(codes < 0) | (codes >= len(Response))][0]
        raise ValueError(
            f"`nontarget` codes must be Response codes 0..{len(Response) - 1}; got {bad}"
        )


def _rules(criteria: Criteria) -> np.ndarray:
    """The numbers of ``criteria`` that :func:`_classify_patient` applies."""
    pd_min_mm = -np.inf if criteria.pd_min_increase_mm is None else criteria.pd_min_increase_mm
    return np.array(
        [
            1 - criteria.pr_decrease,
            1 + criteria.pd_increase,
            pd_min_mm,
            criteria.node_normal_mm,
            criteria.nodes_by_short_axis,
            criteria.reappearance_after_cr_is_pd,
        ],
        float,
    )


def assess_visits(
    sizes,
    *,
    nodal,
    day,
    lesion_mask=None,
    visit_mask=None,
    new_lesion=None,
    nontarget=None,
    criteria: Criteria = RECIST_1_1,
    confirm: bool = False,
    confirm_days: float = 28,
    min_sd_days: float = 42,
) -> VisitAssessment:
    """Classify target-lesion measurements by RECIST, for any number of patients at once.

    Parameters
    ----------
    sizes : array_like, shape (..., visit, lesion)
        Target lesion sizes in mm: longest diameter, or short axis for nodes under RECIST
        1.1. Visit 0 is baseline. 0 = disappeared; NaN = not measured.
    nodal : array_like of bool, shape (..., lesion)
        Which target lesions are lymph nodes (broadcast against the leading axes).
    day : array_like, shape (..., visit)
        Day of each visit; baseline first, strictly increasing over held visits.
    lesion_mask : array_like of bool, shape (..., lesion), optional
        False for padding (a patient with fewer target lesions than the lesion axis). Default
        all True. A patient with no target lesion is assessed by non-target disease alone.
    visit_mask : array_like of bool, shape (..., visit), optional
        False for visits that did not take place (ignored, not NE). Baseline must be held.
    new_lesion : array_like of bool, shape (..., visit), optional
        A new lesion was found at the visit. Default none.
    nontarget : array_like of int, shape (..., visit), optional
        Non-target response per visit as :class:`Response` codes (``NA`` = no non-target
        disease, ``CR``, ``NON_CR_NON_PD``, ``PD``, ``NE``). Default ``NA``.
    criteria : Criteria
        :data:`RECIST_1_1` (default) or :data:`RECIST_1_0`, or your own.
    confirm : bool
        Require confirmation of CR / PR for the best overall response: a later assessment
        at least ``confirm_days`` after it, before PD, with the same or a better response (a
        CR followed by a PR confirms a PR). An unconfirmed CR / PR counts as SD if SD's
        minimum duration is met.
    confirm_days : float
        Minimum days between a response and its confirmation.
    min_sd_days : float
        SD (or non-CR/non-PD) counts as best response only at an assessment at least this
        many days after baseline; otherwise the best response is PD if PD follows, else NE.

    Returns
    -------
    VisitAssessment

    Notes
    -----
    Per visit: target PD (sum >= nadir x 1.2, and >= nadir + 5 mm under RECIST 1.1, or a
    target lesion reappearing right after an overall CR) takes precedence; then NE if any
    target lesion was not measured (the measured ones alone can already make PD, since a
    missing lesion can only add to the sum); then CR (non-nodal targets 0, nodal targets
    < 10 mm); then PR (sum <= 70% of baseline); else SD. The nadir is the smallest complete
    sum so far, baseline included. Thresholds are inclusive up to
    :data:`SIZE_TOLERANCE_MM` (float32 sizes are read as decimals to
    :data:`FLOAT32_DECIMALS` places). PD is final:
    the first PD fixes ``pd_visit`` and the best response; visits after it are still
    classified and reported.

    Examples
    --------
    Two patients, three visits (baseline, week 8, week 16), two target lesions:

    >>> import numpy as np
    >>> from simtrial.recist import assess_visits, Response
    >>> sizes = np.array([[[30.0, 20.0], [20.0, 14.0], [18.0, 12.0]],
    ...                   [[30.0, 20.0], [28.0, 20.0], [35.0, 25.0]]])
    >>> result = assess_visits(sizes, nodal=[False, False], day=[0, 56, 112])
    >>> [Response(code).name for code in result.overall[0]]
    ['NA', 'PR', 'PR']
    >>> Response(result.best[1]).name, int(result.pd_visit[1])
    ('SD', 2)
    """
    sizes = np.asarray(sizes)
    if sizes.dtype not in (np.float32, np.float64):
        sizes = sizes.astype(float)
    sizes = decimal_sizes(sizes)
    if sizes.ndim < 2:
        raise ValueError(f"`sizes` must have shape (..., visit, lesion); got shape {sizes.shape}")
    lead, (n_visits, n_lesions) = sizes.shape[:-2], sizes.shape[-2:]
    if n_visits < 1:
        raise ValueError("`sizes` needs at least the baseline visit")
    lesion_shape, visit_shape = lead + (n_lesions,), lead + (n_visits,)
    nodal = _broadcast("nodal", nodal, lesion_shape, bool)
    lesion_mask = (
        np.ones(lesion_shape, bool)
        if lesion_mask is None
        else _broadcast("lesion_mask", lesion_mask, lesion_shape, bool)
    )
    day = _broadcast("day", day, visit_shape, float)
    visit_mask = (
        np.ones(visit_shape, bool)
        if visit_mask is None
        else _broadcast("visit_mask", visit_mask, visit_shape, bool)
    )
    new_lesion = (
        np.zeros(visit_shape, bool)
        if new_lesion is None
        else _broadcast("new_lesion", new_lesion, visit_shape, bool)
    )
    nontarget = (
        np.zeros(visit_shape, np.int8)
        if nontarget is None
        else _broadcast("nontarget", nontarget, visit_shape, np.int8)
    )
    n = int(np.prod(lead, dtype=np.int64))
    sizes = kernel_array(sizes.reshape(n, n_visits, n_lesions), np.float64)
    day, nontarget = (
        kernel_array(day.reshape(n, n_visits), np.float64),
        nontarget.reshape(n, n_visits),
    )
    out = _empty_assessment(n, n_visits)
    found = np.full((6, 3), -1, np.int64)
    _assess_kernel(
        sizes,
        kernel_array(lesion_mask.reshape(n, n_lesions), np.bool_),
        kernel_array(nodal.reshape(n, n_lesions), np.bool_),
        day,
        kernel_array(visit_mask.reshape(n, n_visits), np.bool_),
        kernel_array(new_lesion.reshape(n, n_visits), np.bool_),
        kernel_array(nontarget, np.int8),
        _ALLOWED_NONTARGET,
        _OVERALL,
        _rules(criteria),
        _best_options(confirm, confirm_days, min_sd_days, criteria.continued_response),
        found,
        out.target,
        out.overall,
        out.target_sum,
        out.nadir,
        out.nontarget,
        out.new_lesion,
        out.best,
        out.pd_visit,
        out.pd_day,
    )
    _raise_invalid(found, sizes, day, nontarget, lead)
    per_visit = {"best", "pd_visit", "pd_day"}
    return VisitAssessment(
        **{
            name: value.reshape(lead if name in per_visit else visit_shape)
            for name, value in vars(out).items()
        }
    )


def _empty_assessment(n: int, n_visits: int) -> VisitAssessment:
    shape = (n, n_visits)
    return VisitAssessment(
        target_sum=np.empty(shape),
        nadir=np.empty(shape),
        target=np.empty(shape, np.int8),
        nontarget=np.empty(shape, np.int8),
        new_lesion=np.empty(shape, bool),
        overall=np.empty(shape, np.int8),
        best=np.empty(n, np.int8),
        pd_visit=np.empty(n, np.intp),
        pd_day=np.empty(n),
    )


def finish_assessment(
    *,
    target,
    overall,
    target_sum,
    nadir,
    day,
    visit_mask,
    new_lesion,
    nontarget,
    has_targets,
    criteria,
    confirm,
    confirm_days,
    min_sd_days,
) -> VisitAssessment:
    """Best response, first PD and the reported per-visit table from per-visit codes.

    The last step of :func:`assess_visits` (shapes (n, visit), visit 0 = baseline): the best
    overall response and the FAQ's continued response for display. Codes at baseline and at
    visits not held (``visit_mask`` False) are reported as ``NA``, whatever was passed.
    """
    n, n_visits = np.shape(overall)
    _check_shapes(
        {
            "target": target,
            "overall": overall,
            "target_sum": target_sum,
            "nadir": nadir,
            "day": day,
            "visit_mask": visit_mask,
            "new_lesion": new_lesion,
            "nontarget": nontarget,
        },
        (n, n_visits),
    )
    _check_shapes({"has_targets": has_targets}, (n,))
    _check_codes(nontarget)
    out = replace(
        _empty_assessment(n, n_visits),
        target_sum=np.asarray(target_sum, float),
        nadir=np.asarray(nadir, float),
        target=np.array(target, np.int8),  # copies: the kernel writes the displayed codes
        overall=np.array(overall, np.int8),
    )
    _finish_kernel(
        out.target,
        out.overall,
        kernel_array(day, np.float64),
        kernel_array(visit_mask, np.bool_),
        kernel_array(new_lesion, np.bool_),
        kernel_array(nontarget, np.int8),
        kernel_array(has_targets, np.bool_),
        _OVERALL,
        _best_options(confirm, confirm_days, min_sd_days, criteria.continued_response),
        out.nontarget,
        out.new_lesion,
        out.best,
        out.pd_visit,
        out.pd_day,
    )
    return out


def _best_options(confirm, confirm_days, min_sd_days, continued=False) -> np.ndarray:
    """Options of the best-response kernels; the day thresholds inclusive to 1e-9 day."""
    return np.array([confirm, confirm_days - 1e-9, min_sd_days - 1e-9, continued], float)


@dataclass(frozen=True)
class BestResponse:
    """Result of :func:`best_overall_response`: arrays over the leading axes.

    Attributes
    ----------
    best : ndarray of int8
        :class:`Response` code of the best overall response.
    pd_visit : ndarray of int
        Index of the first PD visit (-1 if none).
    pd_day : ndarray of float
        Its day (NaN if none).
    """

    best: np.ndarray
    pd_visit: np.ndarray
    pd_day: np.ndarray


def best_overall_response(
    overall,
    day,
    *,
    visit_mask=None,
    has_targets=True,
    confirm: bool = False,
    confirm_days: float = 28,
    min_sd_days: float = 42,
) -> BestResponse:
    """Best overall response and first PD from per-visit overall responses.

    The last step of :func:`assess_visits`, on its own: per-visit responses depend only on
    earlier visits, so a follow-up truncated at a data cut-off or a drop-out keeps its
    per-visit responses, and only this step needs redoing (``visit_mask`` False after the
    truncation).

    Parameters
    ----------
    overall : array_like of int, shape (..., visit)
        :class:`Response` codes per visit (visit 0 = baseline, ignored).
    day : array_like, shape (..., visit)
    visit_mask : array_like of bool, shape (..., visit), optional
        Visits that count (default all).
    has_targets : array_like of bool, shape (...)
        Patients with target disease (their unconfirmed responses count as SD; without
        targets, as non-CR/non-PD).
    confirm, confirm_days, min_sd_days
        As in :func:`assess_visits`.

    Returns
    -------
    BestResponse

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.recist import Response, best_overall_response
    >>> overall = [Response.NA, Response.SD, Response.PR, Response.PD]
    >>> day = [0, 56, 112, 168]
    >>> Response(best_overall_response(overall, day).best).name
    'PR'
    >>> cut = best_overall_response(overall, day, visit_mask=[True, True, False, False])
    >>> Response(cut.best).name, int(cut.pd_visit)
    ('SD', -1)
    """
    overall = np.asarray(overall, np.int8)
    if overall.ndim < 1:
        raise ValueError("`overall` needs a visit axis")
    lead, n_visits = overall.shape[:-1], overall.shape[-1]
    shape = lead + (n_visits,)
    day = _broadcast("day", day, shape, float)
    mask = (
        np.ones(shape, bool)
        if visit_mask is None
        else _broadcast("visit_mask", visit_mask, shape, bool)
    )
    has_targets = _broadcast("has_targets", has_targets, lead, bool)
    if not np.isfinite(np.where(mask, day, 0.0)).all():
        raise ValueError("`day` must be finite at every visit that counts (`visit_mask`)")
    n = int(np.prod(lead, dtype=np.int64))
    result = BestResponse(np.empty(n, np.int8), np.empty(n, np.intp), np.empty(n))
    _best_kernel(
        kernel_array(overall.reshape(n, n_visits), np.int8),
        kernel_array(day.reshape(n, n_visits), np.float64),
        kernel_array(mask.reshape(n, n_visits), np.bool_),
        kernel_array(has_targets.reshape(n), np.bool_),
        _best_options(confirm, confirm_days, min_sd_days),
        result.best,
        result.pd_visit,
        result.pd_day,
    )
    return BestResponse(*(value.reshape(lead) for value in vars(result).values()))


_ALLOWED_NONTARGET = np.isin(np.arange(256).astype(np.uint8).astype(np.int8), _NONTARGET_CODES)


def _raise_invalid(found, sizes, day, nontarget, lead) -> None:
    """The error for the first rule (in :func:`_check_patient`'s order) the input breaks,
    naming the first offending position in the caller's leading axes ``lead``."""
    negative, baseline, unheld, no_day, not_after, code = (tuple(row) for row in found)

    def at(i, *rest) -> tuple[int, ...]:
        return tuple(int(x) for x in np.unravel_index(i, lead)) + tuple(int(x) for x in rest)

    if negative[0] >= 0:
        i, v, j = negative
        raise ValueError(
            f"`sizes` must be >= 0 mm (0 = disappeared); got {sizes[i, v, j]} at {at(i, v, j)}"
        )
    if baseline[0] >= 0:
        i, _, j = baseline
        raise ValueError(
            f"every target lesion needs a baseline size > 0 mm; got {sizes[i, 0, j]} at "
            f"(..., lesion) index {at(i, j)}"
        )
    if unheld[0] >= 0:
        raise ValueError(
            f"`visit_mask` must hold the baseline visit (index 0); not at {at(unheld[0])}"
        )
    if no_day[0] >= 0:
        i, v, _ = no_day
        raise ValueError(f"`day` must be finite at every held visit; got {day[i, v]} at {at(i, v)}")
    if not_after[0] >= 0:
        i, v, _ = not_after
        raise ValueError(
            f"`day` must increase strictly over held visits; visit {v} at {at(i)} is not after "
            "the visit before it"
        )
    if code[0] >= 0:
        i, v, _ = code
        names = ", ".join(c.name for c in _NONTARGET_CODES)
        raise ValueError(
            f"`nontarget` codes must be one of {names}; got {nontarget[i, v]} at {at(i, v)}"
        )


# ------------------------------------------------------------------------------- table door

_LESION_COLUMNS = ("day", "lesion", "organ", "nodal", "target", "size_mm")
_NONTARGET_BY_NAME = {c.name: c for c in _NONTARGET_CODES if c is not Response.NA}
_NODE_ORGAN = "lymph node"


@dataclass(frozen=True)
class PatientAssessment:
    """One patient's RECIST assessment, from :func:`assess_patient`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per follow-up day: ``day``, ``target_sum`` (mm), ``pct_from_baseline``,
        ``pct_from_nadir``, ``target``, ``nontarget``, ``new_lesion``, ``overall``.
    best : str
        Best overall response: ``"CR"``, ``"PR"``, ``"SD"``, ``"NON_CR_NON_PD"``, ``"PD"`` or
        ``"NE"``.
    pd_day : float or None
        Day of the first PD, None if none.
    baseline_sum : float
        Sum of target diameters at baseline (mm); NaN without target lesions.
    criteria : Criteria
    """

    table: pd.DataFrame
    best: str
    pd_day: float | None
    baseline_sum: float
    criteria: Criteria = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The visit table (a copy)."""
        return self.table.copy()

    def __str__(self) -> str:
        pd_text = "none" if self.pd_day is None else f"day {self.pd_day:g}"
        return (
            f"{self.criteria.name}: baseline sum {self.baseline_sum:g} mm, "
            f"best overall response {self.best}, first PD {pd_text}\n"
            + self.table.to_string(index=False, float_format=lambda x: f"{x:.1f}")
        )


def _require_columns(frame, columns, name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(frame).__name__}")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"`{name}` lacks column(s) {absent}; it needs {list(columns)}")


def _organ_key(organ, nodal: bool, criteria: Criteria) -> str:
    return _NODE_ORGAN if nodal and criteria.nodes_by_short_axis else str(organ)


def _check_targets(targets: pd.DataFrame, criteria: Criteria) -> None:
    if len(targets) > criteria.max_targets:
        raise ValueError(
            f"{len(targets)} target lesions ({', '.join(map(str, targets['lesion']))}); "
            f"{criteria.name} allows at most {criteria.max_targets}"
        )
    organs = [
        _organ_key(o, n, criteria) for o, n in zip(targets["organ"], targets["nodal"], strict=True)
    ]
    counts = pd.Series(organs).value_counts()
    crowded = counts[counts > criteria.max_targets_per_organ]
    if len(crowded):
        raise ValueError(
            f"{crowded.iloc[0]} target lesions in organ {crowded.index[0]!r}; {criteria.name} "
            f"allows at most {criteria.max_targets_per_organ} per organ (lymph nodes are one "
            "organ)"
        )
    for row in targets.itertuples(index=False):
        by_short_axis = bool(row.nodal) and criteria.nodes_by_short_axis
        floor = criteria.node_measurable_mm if by_short_axis else criteria.measurable_mm
        if not row.size_mm >= floor:
            kind = "nodal target (short axis)" if by_short_axis else "target"
            raise ValueError(
                f"lesion {row.lesion!r}: baseline size {row.size_mm} mm is not measurable as a "
                f"{kind} under {criteria.name} (needs >= {floor:g} mm)"
            )


def assess_patient(
    lesions: pd.DataFrame,
    visits: pd.DataFrame | None = None,
    *,
    criteria: Criteria = RECIST_1_1,
    confirm: bool = False,
    confirm_days: float = 28,
    min_sd_days: float = 42,
) -> PatientAssessment:
    """Assess one patient's measurements by RECIST and return the visit-by-visit table.

    Parameters
    ----------
    lesions : pandas.DataFrame
        One row per (lesion, assessment): ``day`` (days since baseline; baseline is day 0),
        ``lesion`` (id), ``organ`` (str), ``nodal`` (bool), ``target`` (bool), ``size_mm``
        (longest diameter, or short axis for nodes; 0 = disappeared; NaN = not measured).
        Rows of each lesion in increasing ``day``. Only target lesions' sizes enter the sum;
        a target lesion without a row on a follow-up day counts as not measured.
    visits : pandas.DataFrame, optional
        One row per follow-up ``day`` with ``new_lesion`` (bool) and, when the patient has
        non-target disease, ``nontarget`` (``"CR"``, ``"NON_CR_NON_PD"``, ``"PD"`` or
        ``"NE"``). Follow-up days are the union of these days and the lesion table's; on a day
        without a ``visits`` row, non-target disease counts as not evaluated (``NE``).
    criteria, confirm, confirm_days, min_sd_days
        As in :func:`assess_visits`.

    Returns
    -------
    PatientAssessment

    Raises
    ------
    ValueError
        Naming the lesion / day and the rule: missing columns, negative sizes, a target not
        measured (or not measurable) at baseline, duplicate (lesion, day) rows, unsorted days,
        too many targets overall or per organ, unknown non-target status, non-target lesions
        without a non-target status.

    Examples
    --------
    >>> import pandas as pd
    >>> from simtrial.recist import assess_patient
    >>> lesions = pd.DataFrame({
    ...     "day":    [0, 0, 56, 56, 112, 112],
    ...     "lesion": ["lung-1", "node-1"] * 3,
    ...     "organ":  ["lung", "lymph node"] * 3,
    ...     "nodal":  [False, True] * 3,
    ...     "target": [True, True] * 3,
    ...     "size_mm": [22.0, 18.0, 14.0, 12.0, 19.0, 13.0],
    ... })
    >>> result = assess_patient(lesions)
    >>> result.best, result.pd_day
    ('PR', 112.0)
    >>> result.table[["day", "target_sum", "overall"]]
       day  target_sum overall
    0   56        26.0      PR
    1  112        32.0      PD
    """
    _require_columns(lesions, _LESION_COLUMNS, "lesions")
    lesions = lesions.reset_index(drop=True)
    if lesions["day"].isna().any() or (lesions["day"] < 0).any():
        row = lesions[lesions["day"].isna() | (lesions["day"] < 0)].iloc[0]
        raise ValueError(f"lesion {row['lesion']!r}: `day` must be >= 0, got {row['day']}")
    negative = lesions["size_mm"] < 0
    if negative.any():
        row = lesions[negative].iloc[0]
        raise ValueError(
            f"lesion {row['lesion']!r}, day {row['day']}: size_mm must be >= 0 mm "
            f"(0 = disappeared), got {row['size_mm']}"
        )
    duplicated = lesions.duplicated(["lesion", "day"], keep=False)
    if duplicated.any():
        row = lesions[duplicated].iloc[0]
        raise ValueError(
            f"lesion {row['lesion']!r} has more than one row on day {row['day']}; each "
            "(lesion, day) must appear once"
        )
    for lesion_id, days in lesions.groupby("lesion", sort=False)["day"]:
        if not days.is_monotonic_increasing:
            raise ValueError(
                f"lesion {lesion_id!r}: rows are not in increasing day order ({list(days)})"
            )
    attributes = lesions.groupby("lesion", sort=False)[["organ", "nodal", "target"]]
    inconsistent = attributes.nunique(dropna=False).max(axis=1) > 1
    if inconsistent.any():
        raise ValueError(
            f"lesion {inconsistent[inconsistent].index[0]!r}: organ, nodal and target must be "
            "the same on every row"
        )

    per_lesion = lesions.groupby("lesion", sort=False).first().reset_index()
    target_ids = per_lesion.loc[per_lesion["target"].astype(bool), "lesion"].tolist()
    baseline = lesions[lesions["day"] == 0].set_index("lesion")["size_mm"]
    for lesion_id in target_ids:
        if lesion_id not in baseline.index or np.isnan(baseline[lesion_id]):
            raise ValueError(
                f"target lesion {lesion_id!r} has no baseline (day 0) measurement; every "
                "target must be measured at baseline"
            )
    target_rows = per_lesion[per_lesion["target"].astype(bool)].assign(
        size_mm=lambda t: baseline.reindex(t["lesion"]).to_numpy()
    )
    _check_targets(target_rows, criteria)

    has_nontarget_lesions = not per_lesion["target"].astype(bool).all()
    visit_table = _visit_table(visits, has_nontarget_lesions)
    follow_up = sorted(
        set(lesions.loc[lesions["day"] > 0, "day"]) | set(visit_table.index.tolist())
    )
    days = np.array([0.0, *follow_up])

    sizes = (
        lesions[lesions["lesion"].isin(target_ids)]
        .pivot(index="day", columns="lesion", values="size_mm")
        .reindex(index=days, columns=target_ids)
        .to_numpy(dtype=float)
    )
    nodal = target_rows["nodal"].astype(bool).to_numpy()
    follow_up_days = days[1:]
    # a day without a non-target reading: not evaluated if there is non-target disease
    unassessed = Response.NE if has_nontarget_lesions else Response.NA
    new_lesion = np.concatenate(
        [
            [False],
            visit_table["new_lesion"].reindex(follow_up_days, fill_value=False).to_numpy(bool),
        ]
    )
    nontarget = np.concatenate(
        [
            [Response.NA],
            visit_table["nontarget"].reindex(follow_up_days, fill_value=unassessed).to_numpy(),
        ]
    ).astype(np.int8)

    result = assess_visits(
        sizes.reshape(len(days), len(target_ids)),
        nodal=nodal,
        day=days,
        new_lesion=new_lesion,
        nontarget=nontarget,
        criteria=criteria,
        confirm=confirm,
        confirm_days=confirm_days,
        min_sd_days=min_sd_days,
    )
    table = pd.DataFrame(
        {
            "day": follow_up,
            "target_sum": result.target_sum[1:],
            "pct_from_baseline": result.pct_from_baseline[1:],
            "pct_from_nadir": result.pct_from_nadir[1:],
            "target": RESPONSE_NAMES[result.target[1:]],
            "nontarget": RESPONSE_NAMES[result.nontarget[1:]],
            "new_lesion": result.new_lesion[1:],
            "overall": RESPONSE_NAMES[result.overall[1:]],
        }
    )
    pd_day = None if np.isnan(result.pd_day) else float(result.pd_day)
    return PatientAssessment(
        table=table,
        best=Response(int(result.best)).name,
        pd_day=pd_day,
        baseline_sum=float(result.target_sum[0]),
        criteria=criteria,
    )


def _visit_table(visits: pd.DataFrame | None, has_nontarget_lesions: bool) -> pd.DataFrame:
    """Per follow-up day: new_lesion (bool) and nontarget (Response code), indexed by day."""
    if visits is None:
        visits = pd.DataFrame({"day": pd.Series([], dtype=float)})
    _require_columns(visits, ("day",), "visits")
    visits = visits.reset_index(drop=True)
    if not visits["day"].is_monotonic_increasing or visits["day"].duplicated().any():
        raise ValueError(f"`visits` days must be strictly increasing; got {list(visits['day'])}")
    if (visits["day"] <= 0).any():
        raise ValueError(f"`visits` rows are follow-up days (> 0); got day {visits['day'].min()}")
    new_lesion = (
        visits["new_lesion"].astype(bool)
        if "new_lesion" in visits
        else pd.Series(False, index=visits.index)
    )
    if "nontarget" in visits:
        unknown = ~visits["nontarget"].isin(list(_NONTARGET_BY_NAME))
        if unknown.any():
            row = visits[unknown].iloc[0]
            raise ValueError(
                f"day {row['day']}: unknown non-target status {row['nontarget']!r}; allowed: "
                f"{', '.join(_NONTARGET_BY_NAME)}"
            )
        nontarget = visits["nontarget"].map(lambda s: int(_NONTARGET_BY_NAME[s]))
    elif has_nontarget_lesions:
        raise ValueError(
            "`lesions` has non-target lesions, so `visits` needs a `nontarget` column "
            f"({', '.join(_NONTARGET_BY_NAME)}) for every follow-up day"
        )
    else:
        nontarget = pd.Series(int(Response.NA), index=visits.index)
    return pd.DataFrame(
        {"new_lesion": new_lesion.to_numpy(), "nontarget": nontarget.to_numpy()},
        index=visits["day"].to_numpy(dtype=float),
    )


def select_targets(lesion_table: pd.DataFrame, *, criteria: Criteria = RECIST_1_1) -> pd.DataFrame:
    """Choose target lesions at baseline.

    Measurable lesions are non-nodal lesions with longest diameter >= 10 mm and (RECIST 1.1)
    nodes with short axis >= 15 mm; nodes of 10-15 mm are non-target, nodes < 10 mm are
    normal. Targets are chosen largest first, but each involved organ's largest measurable
    lesion before any organ's second, so the targets represent all involved organs; at most
    ``criteria.max_targets`` in all and ``criteria.max_targets_per_organ`` per organ (lymph
    nodes are one organ).

    Parameters
    ----------
    lesion_table : pandas.DataFrame
        One row per baseline lesion: ``lesion``, ``organ``, ``nodal`` (bool), ``size_mm``.
    criteria : Criteria

    Returns
    -------
    pandas.DataFrame
        The input with ``category`` (``"target"``, ``"non-target"``, ``"normal node"``) and
        ``target`` (bool) columns added, in the input's row order.

    Examples
    --------
    >>> import pandas as pd
    >>> from simtrial.recist import select_targets
    >>> table = pd.DataFrame({
    ...     "lesion": ["L1", "L2", "L3", "N1", "N2", "B1"],
    ...     "organ": ["lung", "lung", "lung", "neck", "neck", "bone"],
    ...     "nodal": [False, False, False, True, True, False],
    ...     "size_mm": [25.0, 18.0, 12.0, 16.0, 12.0, 8.0],
    ... })
    >>> select_targets(table)[["lesion", "category"]]
      lesion     category
    0     L1       target
    1     L2       target
    2     L3   non-target
    3     N1       target
    4     N2   non-target
    5     B1   non-target
    """
    _require_columns(lesion_table, ("lesion", "organ", "nodal", "size_mm"), "lesion_table")
    table = lesion_table.reset_index(drop=True).copy()
    if table["lesion"].duplicated().any():
        raise ValueError(
            f"lesion {table.loc[table['lesion'].duplicated(), 'lesion'].iloc[0]!r} appears "
            "twice; a baseline table has one row per lesion"
        )
    bad = ~(table["size_mm"] >= 0)
    if bad.any():
        row = table[bad].iloc[0]
        raise ValueError(f"lesion {row['lesion']!r}: size_mm must be >= 0, got {row['size_mm']}")
    nodal = table["nodal"].astype(bool).to_numpy()
    size = table["size_mm"].to_numpy(dtype=float)
    by_short_axis = nodal & criteria.nodes_by_short_axis
    normal_node = by_short_axis & (size < criteria.node_normal_mm)
    measurable = np.where(
        by_short_axis, size >= criteria.node_measurable_mm, size >= criteria.measurable_mm
    )
    codes: dict[str, int] = {}
    organ = np.array(
        [
            codes.setdefault(_organ_key(o, n, criteria), len(codes))
            for o, n in zip(table["organ"], nodal, strict=True)
        ],
        dtype=np.int64,
    )
    # rank within each organ, largest first (ties: first listed first)
    candidate = np.flatnonzero(measurable)
    by_organ = candidate[np.lexsort((candidate, -size[candidate], organ[candidate]))]
    position = np.arange(by_organ.size)
    first_of_organ = np.r_[True, organ[by_organ][1:] != organ[by_organ][:-1]]
    rank = position - np.maximum.accumulate(np.where(first_of_organ, position, 0))
    kept = rank < criteria.max_targets_per_organ
    # every organ's largest before any organ's second, larger first, then as listed
    pool, pool_rank = by_organ[kept], rank[kept]
    chosen = pool[np.lexsort((pool, -size[pool], pool_rank))][: criteria.max_targets]
    is_target = np.zeros(len(table), bool)
    is_target[chosen] = True
    table["category"] = np.select([is_target, normal_node], ["target", "normal node"], "non-target")
    table["target"] = is_target
    return table
