"""Survival statistics vectorised across simulated replicates.

Kaplan–Meier medians, log-rank tests and a one-covariate Cox model for many data sets at
once. Every function takes ``time`` and ``event`` (and ``group`` for the two-sample
methods) either 1-D, shape ``(patient,)``, for one data set, or 2-D, shape
``(rep, patient)``, for ``rep`` data sets of the same width. A boolean ``mask`` of the same
shape marks the patients present in each replicate (True = present); masked-out entries
are ignored entirely, whatever their values (NaN included), which is how unequal arm sizes
or patients not yet enrolled at the cut-off are expressed.

Each replicate is sorted once by time (``argsort`` along the patient axis); risk sets, tie
groups and their counts then come from cumulative sums over the sorted rows, so there is no
Python loop over replicates or patients (only over Newton iterations in :func:`cox_ph`).
All arithmetic is float64; counts are exact integers.

Conventions (each matches a reference implementation, cross-checked in the tests):

* Kaplan–Meier median: the smallest event time with ``S(t) <= 0.5`` (lifelines; R
  ``survival`` takes the midpoint when ``S`` equals 0.5 exactly on an interval).
* Median confidence interval: Brookmeyer–Crowley by inverting the pointwise band of R
  ``survival::survfit`` (``conf.type="log"`` by default, ``"log-log"`` on request).
* Log-rank: hypergeometric variance with ties, as R ``survival::survdiff``,
  ``scipy.stats.logrank`` and lifelines ``logrank_test``.
* Cox model: Efron ties by default (R ``coxph``, lifelines), Breslow on request
  (statsmodels ``PHReg``'s default); Wald standard error, confidence interval and p-value.

References
----------
.. [1] Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from incomplete
   observations. JASA 53, 457–481.
.. [2] Brookmeyer, R. and Crowley, J. (1982). A confidence interval for the median
   survival time. Biometrics 38, 29–41.
.. [3] Harrington, D. P. and Fleming, T. R. (1982). A class of rank test procedures for
   censored survival data. Biometrika 69, 553–566.
.. [4] Efron, B. (1977). The efficiency of Cox's likelihood function for censored data.
   JASA 72, 557–565.
.. [5] Therneau, T. M. and Grambsch, P. M. (2000). Modeling Survival Data: Extending the
   Cox Model. Springer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "CoxPHResult",
    "KaplanMeierResult",
    "LogRankResult",
    "TwoArmAnalysis",
    "analyse_two_arms",
    "cox_ph",
    "kaplan_meier",
    "logrank",
]

# S(t) counts as having reached 0.5 within this margin: the cumulative product that gives
# S rounds, e.g. 10 patients with 5 deaths must give exactly 0.5, not 0.5000000000000001.
_MEDIAN_TOLERANCE = 1e-10
# Largest Newton step on the log hazard ratio; with the bracket kept in `_fit_cox` this makes
# the iteration converge from 0 even when the likelihood is nearly flat (quasi-separation).
_MAX_NEWTON_STEP = 2.0
# Rows are analysed in blocks of about this many entries, so that the working arrays of a
# block stay in cache (2-3x faster than one pass over 1,000 x 417 entries).
_BLOCK_ENTRIES = 1 << 16
_CI_TRANSFORMS = ("log", "log-log")
_DEFAULT_MAX_ITER = 50
_DEFAULT_TOL = 1e-9
_TIES = ("efron", "breslow")


# --------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------


def _replicate_frame(columns: dict) -> pd.DataFrame:
    """Tidy frame with one row per replicate from scalars (1-D input) or arrays."""
    sized = {name: np.atleast_1d(np.asarray(value)) for name, value in columns.items()}
    n_rep = len(next(iter(sized.values())))
    return pd.DataFrame({"replicate": np.arange(n_rep), **sized})


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan–Meier estimates for one data set or for each replicate.

    Fields are arrays over replicates for 2-D input and Python scalars (1-D arrays for the
    curve and for ``survival_at``) for 1-D input.

    Attributes
    ----------
    median : float or ndarray, shape (rep,)
        Smallest event time with ``S(t) <= 0.5``; NaN when the curve stays above 0.5.
    median_ci_low, median_ci_high : float or ndarray, shape (rep,)
        Brookmeyer–Crowley confidence limits for the median (NaN when not reached).
    survival_at : ndarray, shape (rep, k) or (k,)
        ``S(t)`` at the requested times ``at`` (right-continuous; the last value is carried
        beyond the largest observed time, as lifelines ``predict`` does).
    at : ndarray, shape (k,)
        The requested times (empty when none were asked for).
    n_subjects, n_events : int or ndarray, shape (rep,)
        Patients present and events among them.
    conf_level : float
        Confidence level of the median interval.
    ci_transform : str
        Transform of the pointwise band inverted for the median interval.
    time : ndarray, shape (rep, m) or (m,)
        The curve's steps: distinct event times in increasing order, NaN-padded to the
        largest number ``m`` of steps in any replicate.
    survival : ndarray, shape (rep, m) or (m,)
        ``S(time)`` just after each step (NaN where ``time`` is NaN).
    """

    median: float | np.ndarray
    median_ci_low: float | np.ndarray
    median_ci_high: float | np.ndarray
    survival_at: np.ndarray
    at: np.ndarray
    n_subjects: int | np.ndarray
    n_events: int | np.ndarray
    conf_level: float
    ci_transform: str
    time: np.ndarray = field(repr=False)
    survival: np.ndarray = field(repr=False)

    def rmst(self, tau: float) -> float | np.ndarray:
        """Restricted mean survival time: the area under the Kaplan–Meier curve on [0, tau].

        Parameters
        ----------
        tau : float
            Upper limit of integration, > 0. Beyond the largest observed time the last
            value of the curve is carried forward (as lifelines and R ``survival`` do).

        Returns
        -------
        float or ndarray, shape (rep,)
            The restricted mean; NaN for a replicate with no patient.

        Examples
        --------
        >>> from simtrial.survival import kaplan_meier
        >>> km = kaplan_meier([2.0, 4.0, 6.0, 8.0], [1, 1, 0, 1])
        >>> float(km.rmst(5.0))  # 2 * 1 + 2 * 0.75 + 1 * 0.5
        4.0
        """
        tau = _check_positive_finite(tau, "tau")
        time = np.atleast_2d(self.time)
        n_rep = time.shape[0]
        # Steps are front-packed and NaN-padded: padding is a step at tau of height 0, so it
        # adds nothing, and the last real level is carried to tau.
        edges = np.minimum(np.nan_to_num(time, nan=np.inf), tau)
        edges = np.concatenate([np.zeros((n_rep, 1)), edges, np.full((n_rep, 1), tau)], axis=1)
        level_after_step = np.nan_to_num(np.atleast_2d(self.survival), nan=0.0)
        level = np.concatenate([np.ones((n_rep, 1)), level_after_step], axis=1)
        area = np.sum(level * np.diff(edges, axis=1), axis=1)
        area = np.where(np.atleast_1d(self.n_subjects) > 0, area, np.nan)
        return float(area[0]) if np.ndim(self.median) == 0 else area

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate: counts, median with its interval, ``S`` at ``at``."""
        columns = {
            "n_subjects": self.n_subjects,
            "n_events": self.n_events,
            "median": self.median,
            "median_ci_low": self.median_ci_low,
            "median_ci_high": self.median_ci_high,
        }
        survival_at = np.atleast_2d(self.survival_at)
        if np.ndim(self.median) == 0:
            survival_at = np.asarray(self.survival_at).reshape(1, -1)
        for k, t in enumerate(self.at):
            columns[f"survival_at_{t:g}"] = survival_at[:, k]
        return _replicate_frame(columns)


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank (optionally stratified or Fleming–Harrington weighted) test of two groups.

    Attributes
    ----------
    statistic : float or ndarray, shape (rep,)
        Chi-square statistic with 1 degree of freedom, ``(O - E)**2 / V``; NaN when the
        variance is 0 (no event, or one group only).
    pvalue : float or ndarray, shape (rep,)
        Two-sided p-value.
    observed, expected : float or ndarray, shape (rep,)
        Observed and expected (weighted, if ``weights`` were given) events in group 1.
    variance : float or ndarray, shape (rep,)
        Variance of ``observed - expected`` (hypergeometric, summed over strata).
    """

    statistic: float | np.ndarray
    pvalue: float | np.ndarray
    observed: float | np.ndarray
    expected: float | np.ndarray
    variance: float | np.ndarray

    @property
    def z(self) -> float | np.ndarray:
        """Signed statistic ``(O - E) / sqrt(V)`` for group 1 (the ``statistic`` of scipy)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.observed - self.expected) / np.sqrt(self.variance)

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate with all fields."""
        return _replicate_frame(
            {
                "statistic": self.statistic,
                "pvalue": self.pvalue,
                "observed": self.observed,
                "expected": self.expected,
                "variance": self.variance,
            }
        )


@dataclass(frozen=True)
class CoxPHResult:
    """Cox proportional-hazards fit of group 1 versus group 0.

    Attributes
    ----------
    hazard_ratio, log_hr, se : float or ndarray, shape (rep,)
        Hazard ratio, its logarithm and the standard error of the logarithm (inverse
        observed information).
    ci_low, ci_high : float or ndarray, shape (rep,)
        Wald confidence interval for the hazard ratio at ``conf_level``.
    pvalue : float or ndarray, shape (rep,)
        Two-sided Wald p-value for ``log_hr == 0``.
    converged : bool or ndarray, shape (rep,)
        Newton–Raphson met ``tol`` within ``max_iter`` (False where not estimable).
    estimable : bool or ndarray, shape (rep,)
        The maximum-likelihood estimate exists (is finite). It does not when one group has
        no event, all events are censored, only one group is present, or the events of one
        group all happen when the other group has no one at risk (the likelihood then rises
        for ever as ``log_hr -> +-inf``). Every estimate is NaN where this is False.
    n_iter : int or ndarray, shape (rep,)
        Newton iterations used.
    ties : str
        ``"efron"`` or ``"breslow"``.
    conf_level : float
        Confidence level of the interval.
    """

    hazard_ratio: float | np.ndarray
    log_hr: float | np.ndarray
    se: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray
    pvalue: float | np.ndarray
    converged: bool | np.ndarray
    estimable: bool | np.ndarray
    n_iter: int | np.ndarray
    ties: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate with all per-replicate fields."""
        return _replicate_frame(
            {
                "hazard_ratio": self.hazard_ratio,
                "log_hr": self.log_hr,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "pvalue": self.pvalue,
                "converged": self.converged,
                "estimable": self.estimable,
                "n_iter": self.n_iter,
            }
        )


@dataclass(frozen=True)
class TwoArmAnalysis:
    """Kaplan–Meier of each arm, log-rank test and Cox model of one two-arm comparison.

    Attributes
    ----------
    km_control : KaplanMeierResult
        Kaplan–Meier of group 0.
    km_treatment : KaplanMeierResult
        Kaplan–Meier of group 1.
    logrank : LogRankResult
        Unstratified, unweighted log-rank test.
    cox : CoxPHResult
        Cox model, hazard ratio of group 1 versus group 0.
    """

    km_control: KaplanMeierResult
    km_treatment: KaplanMeierResult
    logrank: LogRankResult
    cox: CoxPHResult

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate: arm medians, log-rank and Cox columns (prefixed)."""
        parts = [
            self.km_control.to_frame().add_prefix("control_"),
            self.km_treatment.to_frame().add_prefix("treatment_"),
            self.logrank.to_frame().add_prefix("logrank_"),
            self.cox.to_frame().add_prefix("cox_"),
        ]
        frame = pd.concat([part.drop(columns=part.columns[0]) for part in parts], axis=1)
        frame.insert(0, "replicate", np.arange(len(frame)))
        return frame


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------


def _format_index(flat_index: int, shape: tuple[int, ...], one_dataset: bool) -> str:
    if one_dataset:
        return str(flat_index)
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape)))


def _first_bad(bad: np.ndarray, values: np.ndarray, one_dataset: bool) -> tuple[object, str]:
    flat_index = int(np.argmax(bad.ravel()))
    value = values.ravel()[flat_index]
    value = value.item() if hasattr(value, "item") else value
    return value, _format_index(flat_index, bad.shape, one_dataset)


def _check_shape(values: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(
            f"`{name}` must have the same shape as `time`, {shape}; got shape {array.shape}"
        )
    return array


def _binary(array: np.ndarray, name: str, present: np.ndarray, one_dataset: bool) -> np.ndarray:
    """Boolean view of a bool or 0/1 array; only present entries are checked."""
    if array.dtype == bool:
        return array.reshape(present.shape)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"`{name}` must be boolean or 0/1; got dtype {array.dtype}")
    values = array.reshape(present.shape)
    bad = present & (values != 0) & (values != 1)
    if bad.any():
        value, where = _first_bad(bad, values, one_dataset)
        raise ValueError(f"`{name}` must be boolean or 0/1; got {value!r} at index {where}")
    return values == 1


@dataclass(frozen=True)
class _Inputs:
    """Validated inputs as 2-D arrays ``(rep, patient)``."""

    one_dataset: bool
    time: np.ndarray  # float64, may hold anything where absent
    event: np.ndarray  # bool, False where absent
    present: np.ndarray  # bool
    group1: np.ndarray | None  # bool, present and in group 1
    strata: np.ndarray | None  # int64, 0 where absent

    def rows(self, start: int, stop: int) -> _Inputs:
        def part(array):
            return None if array is None else array[start:stop]

        return _Inputs(
            self.one_dataset,
            self.time[start:stop],
            self.event[start:stop],
            self.present[start:stop],
            part(self.group1),
            part(self.strata),
        )


def _in_row_blocks(inputs: _Inputs, analyse) -> dict:
    """``analyse(inputs)`` block of rows by block, its (nested) dict of arrays concatenated."""
    n_rep, n_patient = inputs.time.shape
    rows_per_block = max(1, _BLOCK_ENTRIES // n_patient)
    if n_rep <= rows_per_block:
        return analyse(inputs)
    blocks = [
        analyse(inputs.rows(start, start + rows_per_block))
        for start in range(0, n_rep, rows_per_block)
    ]
    return _concatenate(blocks)


def _concatenate(blocks: list):
    if isinstance(blocks[0], dict):
        return {name: _concatenate([block[name] for block in blocks]) for name in blocks[0]}
    if blocks[0].ndim == 2:  # padded per-row arrays (Kaplan–Meier steps): pad to one width
        width = max(block.shape[1] for block in blocks)
        blocks = [
            np.pad(block, ((0, 0), (0, width - block.shape[1])), constant_values=np.nan)
            for block in blocks
        ]
    return np.concatenate(blocks)


def _validate(time, event, *, mask=None, group=None, strata=None, two_groups=False) -> _Inputs:
    try:
        time_array = np.asarray(time, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`time` must be an array of numbers; {error}") from None
    if time_array.ndim not in (1, 2):
        raise ValueError(
            f"`time` must be 1-D (patient,) or 2-D (rep, patient); got shape {time_array.shape}"
        )
    if time_array.shape[-1] == 0:
        raise ValueError("`time` must hold at least one patient; got an empty patient axis")
    shape = time_array.shape
    one_dataset = time_array.ndim == 1
    event_array = _check_shape(event, "event", shape)
    group_array = None if group is None else _check_shape(group, "group", shape)
    strata_array = None if strata is None else _check_shape(strata, "strata", shape)
    if mask is None:
        present = np.ones(shape, dtype=bool)
    else:
        mask_array = _check_shape(mask, "mask", shape)
        present = _binary(mask_array, "mask", np.ones(shape, dtype=bool), one_dataset)

    time2 = time_array.reshape(-1, shape[-1])
    present = present.reshape(time2.shape)
    bad = present & ~(np.isfinite(time2) & (time2 >= 0))
    if bad.any():
        value, where = _first_bad(bad, time2, one_dataset)
        raise ValueError(f"`time` must be non-negative and finite; got {value!r} at index {where}")
    event2 = _binary(event_array, "event", present, one_dataset) & present

    group1 = None
    if group_array is not None:
        group1 = _binary(group_array, "group", present, one_dataset) & present
        if one_dataset and two_groups:
            n_group1 = int(group1.sum())
            n_present = int(present.sum())
            if n_group1 in (0, n_present):
                only = "none present" if n_present == 0 else f"all {int(n_group1 > 0)}"
                raise ValueError(
                    f"`group` must contain both 0 and 1 among present patients; got {only}"
                )

    strata2 = None
    if strata_array is not None:
        if strata_array.dtype.kind not in "biuf":
            raise ValueError(f"`strata` must be integer labels; got dtype {strata_array.dtype}")
        values = strata_array.reshape(time2.shape)
        if values.dtype.kind == "f":
            bad = present & ~(np.isfinite(values) & (values == np.round(values)))
            if bad.any():
                value, where = _first_bad(bad, values, one_dataset)
                raise ValueError(f"`strata` must be integer labels; got {value!r} at index {where}")
        strata2 = np.where(present, values, 0).astype(np.int64)
    return _Inputs(one_dataset, time2, event2, present, group1, strata2)


def _check_conf_level(conf_level: float) -> float:
    if not (isinstance(conf_level, int | float | np.floating) and 0 < conf_level < 1):
        raise ValueError(f"`conf_level` must be in (0, 1); got {conf_level!r}")
    return float(conf_level)


def _check_positive_finite(value: float, name: str) -> float:
    if not (isinstance(value, int | float | np.integer | np.floating) and np.isfinite(value)):
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}")
    if value <= 0:
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}")
    return float(value)


def _check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        options = " or ".join(repr(choice) for choice in choices)
        raise ValueError(f"`{name}` must be {options}; got {value!r}")
    return value


# --------------------------------------------------------------------------------------
# Sorting and tie groups, shared by every statistic
# --------------------------------------------------------------------------------------


class _SortedSample:
    """Replicates sorted by (stratum, time) with tie groups and risk-set counts.

    Absent patients are moved to the end of each row (time +inf, and in a stratum of their
    own), so that the present ones occupy columns ``0 .. n_present - 1``. A tie group is a
    run of equal times within a stratum; the counts of a tie group are available at each
    of its positions, and ``is_last`` marks one position per group.
    """

    def __init__(self, inputs: _Inputs):
        n_rep, n_patient = inputs.time.shape
        self.shape = (n_rep, n_patient)
        present = inputs.present
        key = np.where(present, inputs.time, np.inf)
        if inputs.strata is None:
            order = np.argsort(key, axis=1)
        else:
            top = inputs.strata.max(initial=0) + 1
            order = np.lexsort((key, np.where(present, inputs.strata, top)), axis=-1)
        row_start = (np.arange(n_rep) * n_patient)[:, None]
        flat_order = (order + row_start).ravel()
        self.time = key.ravel()[flat_order].reshape(self.shape)
        self.event = inputs.event.ravel()[flat_order].reshape(self.shape)
        self.group1 = (
            None if inputs.group1 is None else inputs.group1.ravel()[flat_order].reshape(self.shape)
        )
        self.n_present = present.sum(axis=1)

        columns = np.arange(n_patient)
        is_first = np.empty(self.shape, dtype=bool)
        is_first[:, 0] = True
        np.not_equal(self.time[:, 1:], self.time[:, :-1], out=is_first[:, 1:])
        self.stratum_start = self.stratum_end = None
        if inputs.strata is not None:
            stratum = np.where(present, inputs.strata, top).ravel()[flat_order]
            stratum = stratum.reshape(self.shape)
            new_stratum = np.empty(self.shape, dtype=bool)
            new_stratum[:, 0] = True
            np.not_equal(stratum[:, 1:], stratum[:, :-1], out=new_stratum[:, 1:])
            is_first |= new_stratum
            stratum_end_col = self._end_columns(new_stratum)
            self.stratum_start = np.maximum.accumulate(new_stratum * columns, axis=1) + row_start
            self.stratum_end = stratum_end_col + row_start
        self.is_last = np.empty(self.shape, dtype=bool)
        self.is_last[:, :-1] = is_first[:, 1:]
        self.is_last[:, -1] = True
        start_col = np.maximum.accumulate(is_first * columns, axis=1)
        self.start = start_col + row_start  # flat index of the first position of the tie group
        self.end = self._end_columns(is_first) + row_start  # flat index of its last position
        # Present patients are contiguous (within a stratum), so the risk set of a tie group
        # is everyone from its first position to the end of the stratum.
        if inputs.strata is None:
            self.at_risk = self.n_present[:, None] - start_col
        else:
            self.at_risk = stratum_end_col + 1 - start_col

    @staticmethod
    def _end_columns(is_first: np.ndarray) -> np.ndarray:
        """Column of the last position of each run that starts where ``is_first``."""
        n_patient = is_first.shape[1]
        is_last_reversed = np.empty_like(is_first)
        is_last_reversed[:, 0] = True
        is_last_reversed[:, 1:] = is_first[:, :0:-1]
        columns = np.arange(n_patient)
        start_reversed = np.maximum.accumulate(is_last_reversed * columns, axis=1)
        return n_patient - 1 - start_reversed[:, ::-1]

    def _running_count(self, indicator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running count of ``indicator`` along each row, and its value before each group."""
        running = np.cumsum(indicator, axis=1, dtype=np.int32)
        before = (running - indicator).ravel()[self.start].reshape(self.shape)
        return running, before

    def _group_total(self, running: np.ndarray, before: np.ndarray) -> np.ndarray:
        return running.ravel()[self.end].reshape(self.shape) - before

    @cached_property
    def _event_counts(self) -> tuple[np.ndarray, np.ndarray]:
        running, before = self._running_count(self.event)
        # rank: 0-based order of an event among the events of its tie group (Efron).
        return self._group_total(running, before), running - before - 1

    @property
    def deaths(self) -> np.ndarray:
        """Events in each position's tie group."""
        return self._event_counts[0]

    @property
    def event_rank(self) -> np.ndarray:
        """Rank (0-based) of each event among the events of its tie group."""
        return self._event_counts[1]

    @cached_property
    def deaths1(self) -> np.ndarray:
        """Events of group 1 in each position's tie group."""
        return self._group_total(*self._running_count(self.event & self.group1))

    @cached_property
    def at_risk1(self) -> np.ndarray:
        """Patients of group 1 in the risk set of each position's tie group."""
        running, before = self._running_count(self.group1)
        if self.stratum_end is None:
            return running[:, -1:] - before
        return running.ravel()[self.stratum_end].reshape(self.shape) - before


class _Compaction:
    """The selected positions of each row, in order: as one flat list or front-packed rows."""

    def __init__(self, selected: np.ndarray, *, full_width: bool = False):
        n_rep, n_patient = selected.shape
        self.n_patient = n_patient
        self.flat = np.flatnonzero(selected)
        self.per_row = np.count_nonzero(selected, axis=1)
        self.row_first = np.cumsum(self.per_row) - self.per_row  # into `flat`
        # full_width: packed rows as wide as the data, not as the busiest row of this batch;
        # numpy's pairwise row sums then group the same terms whatever other replicates share
        # the batch, so a replicate's result does not depend on its neighbours to the last bit
        width = n_patient if full_width else int(self.per_row.max(initial=0))
        self.width = max(width, 1)
        row = self.flat // n_patient
        column = np.arange(self.flat.size) - self.row_first[row]
        self.destination = row * self.width + column
        self.shape = (n_rep, self.width)

    def take(self, values: np.ndarray) -> np.ndarray:
        """Values at the selected positions, row after row, shape (n_selected,)."""
        return values.ravel()[self.flat]

    def pack(self, selected_values: np.ndarray, fill: float) -> np.ndarray:
        """Row-wise ``(rep, width)`` array of values at the selected positions, padded."""
        packed = np.full(self.shape, fill, dtype=np.float64)
        packed.ravel()[self.destination] = selected_values
        return packed

    def row_sums(self, selected_values: np.ndarray) -> np.ndarray:
        """Sum over each row's selected positions, shape (rep,).

        Summed over zero-padded rows as wide as the data, so that a row's sum does not depend,
        even in the last bit, on the other rows of the batch (``np.add.reduceat`` over the
        flat list rounds differently with the segments' offsets).
        """
        n_rep = len(self.per_row)
        packed = np.zeros((n_rep, self.n_patient))
        row = self.flat // self.n_patient
        column = np.arange(self.flat.size) - self.row_first[row]
        packed.ravel()[row * self.n_patient + column] = selected_values
        return packed.sum(axis=1)


# --------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------


def _first_time_where(condition: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Per row, ``time`` at the first True of ``condition``; NaN if there is none."""
    rows = np.arange(condition.shape[0])
    first = np.argmax(condition, axis=1)
    return np.where(condition[rows, first], time[rows, first], np.nan)


def _km_from_sorted(
    sorted_sample: _SortedSample,
    n_subjects: np.ndarray,
    at_risk: np.ndarray,
    deaths: np.ndarray,
    at: np.ndarray,
    conf_level: float,
    ci_transform: str,
) -> dict:
    """Kaplan–Meier summaries from the sample's risk sets and deaths at each sorted position."""
    # Work on the tie groups with deaths only, moved to the front of each row.
    steps = _Compaction(sorted_sample.is_last & (deaths > 0))
    time = steps.pack(steps.take(sorted_sample.time), np.nan)
    deaths = steps.pack(steps.take(deaths), 0.0)
    at_risk = steps.pack(steps.take(at_risk), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - deaths / at_risk, axis=1)
        # Greenwood: sum of d / (n (n - d)); infinite once everyone at risk has died.
        greenwood = np.cumsum(deaths / (at_risk * (at_risk - deaths)), axis=1)
        spread = special.ndtri(0.5 + conf_level / 2) * np.sqrt(greenwood)
        # Pointwise band of R survfit; undefined (NaN) where S = 0, as in R.
        positive = np.where(survival > 0, survival, np.nan)
        if ci_transform == "log":
            lower = positive * np.exp(-spread)
            upper = positive * np.exp(spread)
        else:  # "log-log": S ** exp(+-z sqrt(G) / log S)
            log_survival = np.log(positive)
            lower = np.exp(-np.exp(np.log(-log_survival) - spread / log_survival))
            upper = np.exp(-np.exp(np.log(-log_survival) + spread / log_survival))
    # Padding has survival carried forward but no time: it never counts as a crossing.
    median = _first_time_where(survival <= 0.5 + _MEDIAN_TOLERANCE, time)
    median_ci_low = _first_time_where(lower <= 0.5, time)  # the lower band crosses first
    median_ci_high = _first_time_where(upper <= 0.5, time)

    n_rep = time.shape[0]
    survival_at = np.empty((n_rep, at.size))
    for k, t in enumerate(at):
        n_steps = np.sum(time <= t, axis=1)
        value = survival[np.arange(n_rep), np.maximum(n_steps - 1, 0)]
        survival_at[:, k] = np.where(n_steps > 0, value, 1.0)
    survival_at[n_subjects == 0] = np.nan
    return dict(
        median=median,
        median_ci_low=median_ci_low,
        median_ci_high=median_ci_high,
        survival_at=survival_at,
        n_subjects=n_subjects,
        n_events=deaths.sum(axis=1).astype(np.int64),
        time=time,
        survival=np.where(np.isnan(time), np.nan, survival),
    )


def _check_at(at) -> np.ndarray:
    if at is None:
        return np.empty(0)
    try:
        times = np.atleast_1d(np.asarray(at, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise ValueError(f"`at` must be an array of numbers; {error}") from None
    if times.ndim != 1:
        raise ValueError(f"`at` must be a scalar or 1-D array of times; got shape {times.shape}")
    bad = ~(np.isfinite(times) & (times >= 0))
    if bad.any():
        value, where = _first_bad(bad, times, True)
        raise ValueError(f"`at` must be non-negative and finite; got {value!r} at index {where}")
    return times


def _km_result(fields: dict, at, conf_level, ci_transform, one_dataset) -> KaplanMeierResult:
    if one_dataset:
        scalars = ("median", "median_ci_low", "median_ci_high")
        fields = {
            **{name: float(fields[name][0]) for name in scalars},
            "n_subjects": int(fields["n_subjects"][0]),
            "n_events": int(fields["n_events"][0]),
            "survival_at": fields["survival_at"][0],
            "time": fields["time"][0],
            "survival": fields["survival"][0],
        }
    return KaplanMeierResult(**fields, at=at, conf_level=conf_level, ci_transform=ci_transform)


def kaplan_meier(
    time,
    event,
    *,
    mask=None,
    at=None,
    conf_level: float = 0.95,
    ci_transform: str = "log",
) -> KaplanMeierResult:
    """Kaplan–Meier estimate with the median, its confidence interval and ``S`` at times.

    Parameters
    ----------
    time : array_like, shape (patient,) or (rep, patient)
        Follow-up times, non-negative and finite where present.
    event : array_like of bool or 0/1, same shape as `time`
        True where the time is an event, False where it is censored.
    mask : array_like of bool, same shape as `time`, optional
        True for patients present; absent entries are ignored whatever their values.
    at : array_like, shape (k,), optional
        Times at which to report ``S(t)`` (right-continuous step function).
    conf_level : float, default 0.95
        Confidence level of the median's interval.
    ci_transform : {"log", "log-log"}, default "log"
        Transform of the pointwise band. ``"log"`` is R ``survfit``'s default
        ``conf.type="log"`` (band ``S exp(+-z sqrt(G))``, G Greenwood's sum);
        ``"log-log"`` is ``conf.type="log-log"``, the band lifelines uses.

    Returns
    -------
    KaplanMeierResult
        Scalars for 1-D input, arrays over replicates for 2-D input.

    Notes
    -----
    The median is the smallest event time with ``S(t) <= 0.5`` (lifelines' definition; R
    takes the midpoint to the next event time when ``S`` equals 0.5 exactly). The
    Brookmeyer–Crowley interval is found as in R ``survival``: the lower limit is the first
    event time at which the lower pointwise band is ``<= 0.5``, the upper limit the first at
    which the upper band is. The band is undefined where ``S = 0`` (as in R), so a limit
    not reached before the curve drops to 0 is NaN (R: NA). statsmodels'
    ``SurvfuncRight.quantile_ci`` inverts the same test on the grid of event times instead
    (SAS' method); the two agree except where the accepted set is empty or not an interval
    and at a final drop to 0, where statsmodels reports the time of the drop or ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.survival import kaplan_meier
    >>> km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], at=[2.5])
    >>> km.median, km.n_events
    (4.0, 4)
    >>> km.survival_at
    array([0.66666667])

    Two replicates at once, the second with only four patients present:

    >>> time = np.array([[1.0, 2, 3, 4, 5, 6], [2.0, 2, 5, 7, np.nan, np.nan]])
    >>> event = np.array([[1, 1, 0, 1, 1, 0], [1, 0, 1, 1, 0, 0]])
    >>> km = kaplan_meier(time, event, mask=~np.isnan(time))
    >>> km.median
    array([4., 5.])
    >>> km.to_frame()[["replicate", "n_subjects", "median", "median_ci_low"]]
       replicate  n_subjects  median  median_ci_low
    0          0           6     4.0            2.0
    1          1           4     5.0            2.0
    """
    conf_level = _check_conf_level(conf_level)
    ci_transform = _check_choice(ci_transform, "ci_transform", _CI_TRANSFORMS)
    at_times = _check_at(at)
    inputs = _validate(time, event, mask=mask)

    def analyse(block: _Inputs) -> dict:
        sorted_sample = _SortedSample(block)
        return _km_from_sorted(
            sorted_sample,
            sorted_sample.n_present,
            sorted_sample.at_risk,
            sorted_sample.deaths,
            at_times,
            conf_level,
            ci_transform,
        )

    fields = _in_row_blocks(inputs, analyse)
    return _km_result(fields, at_times, conf_level, ci_transform, inputs.one_dataset)


# --------------------------------------------------------------------------------------
# Log-rank
# --------------------------------------------------------------------------------------


def _check_weights(weights) -> tuple[float, float] | None:
    if weights is None:
        return None
    try:
        rho, gamma = (float(value) for value in weights)
    except (TypeError, ValueError):
        raise ValueError(
            f"`weights` must be a pair (rho, gamma) of non-negative numbers; got {weights!r}"
        ) from None
    if not (np.isfinite(rho) and np.isfinite(gamma) and rho >= 0 and gamma >= 0):
        raise ValueError(
            f"`weights` must be a pair (rho, gamma) of non-negative numbers; got {weights!r}"
        )
    return rho, gamma


def _left_pooled_survival(sorted_sample: _SortedSample, jump, at_risk, deaths) -> np.ndarray:
    """Pooled Kaplan–Meier just before each position's tie group, ``S(t-)``, per stratum."""
    with np.errstate(divide="ignore"):
        factor = np.where(jump, 1.0 - deaths / np.maximum(at_risk, 1), 1.0)
    if sorted_sample.stratum_start is None:
        after = np.cumprod(factor, axis=1).ravel()
        before_start = np.where(
            sorted_sample.start % sorted_sample.shape[1] == 0,
            1.0,
            after[np.maximum(sorted_sample.start - 1, 0)].reshape(sorted_sample.shape),
        )
        return before_start
    # Within strata: products restart at each stratum, so sum logs and count zero factors.
    with np.errstate(divide="ignore"):
        log_factor = np.where(factor > 0, np.log(np.where(factor > 0, factor, 1.0)), 0.0)
    zero = (factor == 0).astype(np.int64)
    cum_log = np.cumsum(log_factor, axis=1).ravel()
    cum_zero = np.cumsum(zero, axis=1).ravel()
    log_before_group = cum_log[sorted_sample.start] - log_factor.ravel()[sorted_sample.start]
    zero_before_group = cum_zero[sorted_sample.start] - zero.ravel()[sorted_sample.start]
    log_before_stratum = (
        cum_log[sorted_sample.stratum_start] - log_factor.ravel()[sorted_sample.stratum_start]
    )
    zero_before_stratum = (
        cum_zero[sorted_sample.stratum_start] - zero.ravel()[sorted_sample.stratum_start]
    )
    log_survival = (log_before_group - log_before_stratum).reshape(sorted_sample.shape)
    no_zero = (zero_before_group == zero_before_stratum).reshape(sorted_sample.shape)
    return np.where(no_zero, np.exp(log_survival), 0.0)


def _logrank_from_sorted(sorted_sample: _SortedSample, weights=None) -> dict:
    jump = sorted_sample.is_last & (sorted_sample.deaths > 0)  # one position per event time
    steps = _Compaction(jump)
    at_risk = steps.take(sorted_sample.at_risk).astype(np.float64)
    deaths = steps.take(sorted_sample.deaths)
    share1 = steps.take(sorted_sample.at_risk1) / at_risk
    expected_terms = deaths * share1
    # Hypergeometric variance; (n - d) / (n - 1) is 0 when n = 1 (then n - d = 0 too).
    variance_terms = (
        expected_terms * (1.0 - share1) * (at_risk - deaths) / np.maximum(at_risk - 1, 1)
    )
    observed_terms = steps.take(sorted_sample.deaths1)
    if weights is not None:
        rho, gamma = weights
        survival_left = steps.take(
            _left_pooled_survival(sorted_sample, jump, sorted_sample.at_risk, sorted_sample.deaths)
        )
        weight = survival_left**rho * (1.0 - survival_left) ** gamma
        observed_terms = weight * observed_terms
        expected_terms = weight * expected_terms
        variance_terms = weight**2 * variance_terms
    observed = steps.row_sums(observed_terms)
    expected = steps.row_sums(expected_terms)
    variance = steps.row_sums(variance_terms)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(variance > 0, (observed - expected) ** 2 / variance, np.nan)
    return dict(
        statistic=statistic,
        pvalue=special.chdtrc(1, statistic),
        observed=observed,
        expected=expected,
        variance=variance,
    )


def _scalar_fields(fields: dict, one_dataset: bool) -> dict:
    if not one_dataset:
        return fields
    return {name: value[0].item() for name, value in fields.items()}


def logrank(time, event, group, *, mask=None, strata=None, weights=None) -> LogRankResult:
    """Log-rank test of group 1 against group 0, optionally stratified or weighted.

    Parameters
    ----------
    time : array_like, shape (patient,) or (rep, patient)
        Follow-up times, non-negative and finite where present.
    event : array_like of bool or 0/1, same shape as `time`
        True where the time is an event.
    group : array_like of bool or 0/1, same shape as `time`
        Group of each patient. 1-D input must contain both groups.
    mask : array_like of bool, same shape as `time`, optional
        True for patients present; absent entries are ignored whatever their values.
    strata : array_like of int, same shape as `time`, optional
        Stratum labels: the stratified test sums ``O - E`` and the variances over strata.
    weights : tuple (rho, gamma), optional
        Fleming–Harrington G(rho, gamma) weights ``S(t-)**rho * (1 - S(t-))**gamma`` with
        ``S(t-)`` the left-continuous pooled Kaplan–Meier (within stratum), as lifelines'
        ``weightings="fleming-harrington"`` with ``p=rho, q=gamma``. None is the log-rank
        test, (0, 0).

    Returns
    -------
    LogRankResult
        ``statistic`` (chi-square, 1 df), ``pvalue``, and ``observed``, ``expected`` and
        ``variance`` for group 1.

    Notes
    -----
    At each distinct event time with ``n`` at risk (``n1`` in group 1) and ``d`` events
    (``d1`` in group 1), ``E = d n1 / n`` and ``V = d (n1/n) (1 - n1/n) (n - d) / (n - 1)``,
    the hypergeometric variance of R ``survdiff``, scipy ``logrank`` and lifelines. Where
    ``V = 0`` (no event, or one group only in a replicate) the statistic is NaN.

    Examples
    --------
    >>> from simtrial.survival import logrank
    >>> time = [3, 5, 7, 2, 18, 16, 20, 9, 12, 30]
    >>> event = [1, 1, 1, 1, 0, 1, 1, 1, 0, 1]
    >>> group = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    >>> result = logrank(time, event, group)
    >>> round(result.statistic, 4), round(result.pvalue, 4)
    (3.1014, 0.0782)
    >>> result.observed, round(result.expected, 4)
    (4.0, 5.9782)
    """
    weights = _check_weights(weights)
    inputs = _validate(time, event, mask=mask, group=group, strata=strata, two_groups=True)
    fields = _in_row_blocks(
        inputs, lambda block: _logrank_from_sorted(_SortedSample(block), weights)
    )
    return LogRankResult(**_scalar_fields(fields, inputs.one_dataset))


# --------------------------------------------------------------------------------------
# Cox proportional hazards, one binary covariate
# --------------------------------------------------------------------------------------
#
# With a 0/1 covariate the risk-set sum at a tie group is n0 + n1 exp(beta), so the partial
# log-likelihood is sum over events of [x beta - log(a + b exp(beta))] where, for the event
# of rank l (0-based) among the d events of its tie group (d0, d1 by group),
#   Efron:   a = n0 - (l/d) d0,  b = n1 - (l/d) d1;    Breslow: a = n0, b = n1.
# With p = b e^beta / (a + b e^beta): score = D1 - sum p, information = sum p (1 - p).


def _cox_terms(sorted_sample: _SortedSample, ties: str):
    """Coefficients ``a``, ``b`` of each event, front-packed per row (padding a = 1, b = 0)."""
    events = _Compaction(sorted_sample.event, full_width=True)
    at_risk1 = events.take(sorted_sample.at_risk1)
    at_risk0 = events.take(sorted_sample.at_risk) - at_risk1
    if ties == "efron":
        deaths = events.take(sorted_sample.deaths)
        deaths1 = events.take(sorted_sample.deaths1)
        fraction = events.take(sorted_sample.event_rank) / deaths
        a = at_risk0 - fraction * (deaths - deaths1)
        b = at_risk1 - fraction * deaths1
    else:
        a, b = at_risk0, at_risk1
    a, b = events.pack(a, 1.0), events.pack(b, 0.0)
    events1 = np.count_nonzero(sorted_sample.event & sorted_sample.group1, axis=1)
    # The MLE is finite iff the score changes sign: score(-inf) = D1 - #{events with n0 = 0}
    # > 0 and score(+inf) = D1 - #{events with n1 > 0} < 0; a = 0 iff n0 = 0, b > 0 iff n1 > 0.
    estimable = (events1 > np.count_nonzero(a == 0, axis=1)) & (
        events1 < np.count_nonzero(b > 0, axis=1)
    )
    return a, b, events1.astype(np.float64), estimable


def _score_information(a, b, events1, log_hr, work):
    """Score and information at ``log_hr`` per row; ``work`` is two scratch arrays."""
    p, q = work[0][: a.shape[0]], work[1][: a.shape[0]]
    np.multiply(b, np.exp(log_hr)[:, None], out=p)
    np.add(a, p, out=q)
    np.divide(p, q, out=p)  # p = b e^beta / (a + b e^beta)
    np.divide(a, q, out=q)  # q = 1 - p, without cancellation
    score = events1 - p.sum(axis=1)
    np.multiply(p, q, out=q)
    return score, q.sum(axis=1)


def _fit_cox(a, b, events1, estimable, max_iter, tol):
    """Newton–Raphson on each estimable row, bracketed and with a bounded step."""
    n_rep = a.shape[0]
    log_hr = np.full(n_rep, np.nan)
    converged = np.zeros(n_rep, dtype=bool)
    n_iter = np.zeros(n_rep, dtype=np.int64)
    work = (np.empty_like(a), np.empty_like(a))
    rows = np.flatnonzero(estimable)
    a_rows, b_rows, events1_rows = a[rows], b[rows], events1[rows]
    beta = np.zeros(rows.size)
    low = np.full(rows.size, -np.inf)  # the score is decreasing: positive below the root
    high = np.full(rows.size, np.inf)
    for iteration in range(1, max_iter + 1):
        if rows.size == 0:
            break
        score, information = _score_information(a_rows, b_rows, events1_rows, beta, work)
        step = score / information
        done = np.abs(step) <= tol
        low = np.where(score > 0, beta, low)
        high = np.where(score < 0, beta, high)
        proposal = beta + np.clip(step, -_MAX_NEWTON_STEP, _MAX_NEWTON_STEP)
        outside = (proposal <= low) | (proposal >= high)
        proposal = np.where(outside, 0.5 * (low + high), proposal)
        beta = np.where(done, beta + step, proposal)
        n_iter[rows] = iteration
        log_hr[rows] = beta
        converged[rows[done]] = True
        keep = ~done
        if not keep.all():
            rows, beta, low, high = rows[keep], beta[keep], low[keep], high[keep]
            a_rows, b_rows, events1_rows = a_rows[keep], b_rows[keep], events1_rows[keep]
    information = np.full(n_rep, np.nan)
    fitted = np.flatnonzero(estimable)
    _, information[fitted] = _score_information(
        a[fitted], b[fitted], events1[fitted], log_hr[fitted], work
    )
    return log_hr, information, converged, n_iter


def _cox_from_sorted(sorted_sample, ties, conf_level, max_iter, tol) -> dict:
    a, b, events1, estimable = _cox_terms(sorted_sample, ties)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_hr, information, converged, n_iter = _fit_cox(a, b, events1, estimable, max_iter, tol)
        se = 1.0 / np.sqrt(information)
        z = special.ndtri(0.5 + conf_level / 2)
        return dict(
            hazard_ratio=np.exp(log_hr),
            log_hr=log_hr,
            se=se,
            ci_low=np.exp(log_hr - z * se),
            ci_high=np.exp(log_hr + z * se),
            pvalue=2.0 * special.ndtr(-np.abs(log_hr / se)),
            converged=converged,
            estimable=estimable,
            n_iter=n_iter,
        )


def _check_iteration(max_iter, tol) -> tuple[int, float]:
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive integer; got {max_iter!r}")
    return int(max_iter), _check_positive_finite(tol, "tol")


def cox_ph(
    time,
    event,
    group,
    *,
    mask=None,
    ties: str = "efron",
    conf_level: float = 0.95,
    max_iter: int = _DEFAULT_MAX_ITER,
    tol: float = _DEFAULT_TOL,
) -> CoxPHResult:
    """Cox proportional-hazards model with one binary covariate, the group.

    Parameters
    ----------
    time : array_like, shape (patient,) or (rep, patient)
        Follow-up times, non-negative and finite where present.
    event : array_like of bool or 0/1, same shape as `time`
        True where the time is an event.
    group : array_like of bool or 0/1, same shape as `time`
        Covariate: the hazard ratio is group 1 versus group 0. 1-D input must contain both.
    mask : array_like of bool, same shape as `time`, optional
        True for patients present; absent entries are ignored whatever their values.
    ties : {"efron", "breslow"}, default "efron"
        Approximation of the partial likelihood for tied event times. Efron is the default
        of R ``coxph`` and lifelines; Breslow the default of statsmodels ``PHReg``.
    conf_level : float, default 0.95
        Confidence level of the Wald interval.
    max_iter : int, default 50
        Maximum Newton–Raphson iterations.
    tol : float, default 1e-9
        Convergence when the Newton step on the log hazard ratio is at most `tol`; the
        step is then taken, so the error left is of order ``tol**2``.

    Returns
    -------
    CoxPHResult
        ``hazard_ratio``, ``log_hr``, ``se``, ``ci_low``, ``ci_high``, ``pvalue`` (Wald),
        ``converged``, ``estimable``, ``n_iter``.

    Notes
    -----
    Newton–Raphson starts at ``log_hr = 0`` for all replicates together. The partial
    likelihood is concave in ``log_hr``; each step is bounded and kept inside the bracket
    where the score changes sign (bisecting otherwise), so it converges whenever the
    estimate exists. Whether it exists is decided from counts before iterating (see
    ``CoxPHResult.estimable``); where it does not, every estimate is NaN.

    Examples
    --------
    >>> from simtrial.survival import cox_ph
    >>> time = [3, 5, 7, 2, 18, 16, 20, 9, 12, 30]
    >>> event = [1, 1, 1, 1, 0, 1, 1, 1, 0, 1]
    >>> group = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    >>> fit = cox_ph(time, event, group)
    >>> round(fit.hazard_ratio, 4), round(fit.ci_low, 4), round(fit.ci_high, 4)
    (0.2308, 0.04, 1.3329)
    >>> fit.estimable, fit.converged
    (True, True)

    Where the estimate does not exist the fields are NaN, without warning:

    >>> cox_ph([1, 2, 3, 4], [1, 1, 0, 0], [0, 0, 1, 1]).hazard_ratio
    nan
    """
    ties = _check_choice(ties, "ties", _TIES)
    conf_level = _check_conf_level(conf_level)
    max_iter, tol = _check_iteration(max_iter, tol)
    inputs = _validate(time, event, mask=mask, group=group, two_groups=True)
    fields = _in_row_blocks(
        inputs,
        lambda block: _cox_from_sorted(_SortedSample(block), ties, conf_level, max_iter, tol),
    )
    return CoxPHResult(
        **_scalar_fields(fields, inputs.one_dataset), ties=ties, conf_level=conf_level
    )


# --------------------------------------------------------------------------------------
# All of it on one sort
# --------------------------------------------------------------------------------------


def analyse_two_arms(
    time,
    event,
    group,
    *,
    mask=None,
    ties: str = "efron",
    conf_level: float = 0.95,
    ci_transform: str = "log",
) -> TwoArmAnalysis:
    """Each arm's Kaplan–Meier, the log-rank test and the Cox model, from a single sort.

    Equal to calling :func:`kaplan_meier` on each arm, :func:`logrank` and :func:`cox_ph`
    (with default ``max_iter`` and ``tol``), but each replicate is sorted once, which is
    what a simulation study analysing thousands of trials needs.

    Parameters
    ----------
    time, event, group, mask
        As in :func:`logrank`.
    ties : {"efron", "breslow"}, default "efron"
        Ties of the Cox model.
    conf_level : float, default 0.95
        Confidence level of the median intervals and of the hazard ratio's interval.
    ci_transform : {"log", "log-log"}, default "log"
        Band transform of the median intervals (see :func:`kaplan_meier`).

    Returns
    -------
    TwoArmAnalysis
        ``km_control`` (group 0), ``km_treatment`` (group 1), ``logrank``, ``cox``.

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.survival import analyse_two_arms
    >>> rng = np.random.default_rng(7)
    >>> group = np.tile(np.repeat([0, 1], 50), (3, 1))
    >>> time = rng.exponential(np.where(group == 1, 10.0, 6.0))
    >>> event = time < 12.0  # administrative censoring at 12
    >>> analysis = analyse_two_arms(np.minimum(time, 12.0), event, group)
    >>> analysis.to_frame().shape
    (3, 25)
    >>> bool(np.all(analysis.cox.estimable))
    True
    """
    ties = _check_choice(ties, "ties", _TIES)
    conf_level = _check_conf_level(conf_level)
    ci_transform = _check_choice(ci_transform, "ci_transform", _CI_TRANSFORMS)
    inputs = _validate(time, event, mask=mask, group=group, two_groups=True)
    at = np.empty(0)

    def analyse(block: _Inputs) -> dict:
        sorted_sample = _SortedSample(block)
        n_group1 = np.count_nonzero(sorted_sample.group1, axis=1)
        at_risk1, deaths1 = sorted_sample.at_risk1, sorted_sample.deaths1
        return dict(
            km0=_km_from_sorted(
                sorted_sample,
                sorted_sample.n_present - n_group1,
                sorted_sample.at_risk - at_risk1,
                sorted_sample.deaths - deaths1,
                at,
                conf_level,
                ci_transform,
            ),
            km1=_km_from_sorted(
                sorted_sample, n_group1, at_risk1, deaths1, at, conf_level, ci_transform
            ),
            logrank=_logrank_from_sorted(sorted_sample),
            cox=_cox_from_sorted(sorted_sample, ties, conf_level, _DEFAULT_MAX_ITER, _DEFAULT_TOL),
        )

    fields = _in_row_blocks(inputs, analyse)
    one = inputs.one_dataset
    return TwoArmAnalysis(
        km_control=_km_result(fields["km0"], at, conf_level, ci_transform, one),
        km_treatment=_km_result(fields["km1"], at, conf_level, ci_transform, one),
        logrank=LogRankResult(**_scalar_fields(fields["logrank"], one)),
        cox=CoxPHResult(
            **_scalar_fields(fields["cox"], one),
            ties=ties,
            conf_level=conf_level,
        ),
    )
