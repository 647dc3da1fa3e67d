"""Hypothesis strategies for property tests of RECIST classifiers.

For methodologists who test their own RECIST implementation (or ours): strategies that
generate *valid* input — lesion tables that respect the criteria's measurability and
target limits, visit schedules, measurement series both realistic and adversarial — in the
two formats :mod:`simtrial.recist` takes:

- :func:`patients` draws a whole patient: the long ``lesions`` table and the ``visits``
  table exactly as :func:`simtrial.recist.assess_patient` takes them, and the same patient
  as array-door arguments (:class:`VisitArrays`) for :func:`simtrial.recist.assess_visits`;
- :func:`cohorts` stacks several patients into padded arrays (``lesion_mask``,
  ``visit_mask``), remembering where each patient sits, to test batching;
- :func:`visit_arrays` draws raw array-door input with :func:`hypothesis.extra.numpy.arrays`;
- the building blocks: :func:`baseline_lesions`, :func:`visit_days`,
  :func:`random_walk_sizes`, :func:`adversarial_sizes`, :func:`nontarget_series`,
  :func:`new_lesion_series`.

Sizes are recorded in decimal mm, as radiologists do (0.1 mm; 0.01 mm where a sum must land
exactly on a threshold), so that "exactly 30% below baseline" is exact in decimal and only
binary floating point can blur it. Adversarial input includes exact zeros, lesions that
disappear and reappear, nodes hovering around 10 mm, sums landing exactly on (or 0.1 mm
either side of) the 30% / 20% / 5 mm thresholds, a complete response followed by a
reappearing lesion, NaN (not measured) and rows missing from the table.

Hypothesis is a test dependency: ``import simtrial`` does not import this module; import it
as ``simtrial.strategies``.

Examples
--------
A property of a classifier — a new lesion always gives PD at that visit — checked on
generated patients through the table door:

>>> from hypothesis import given, settings
>>> from simtrial.recist import assess_patient
>>> from simtrial.strategies import patients
>>> @settings(max_examples=20, deadline=None)
... @given(patients())
... def test_new_lesion_is_pd(patient):
...     table = assess_patient(patient.lesions, patient.visits).table
...     assert (table.loc[table["new_lesion"], "overall"] == "PD").all()
>>> test_new_lesion_is_pd()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from simtrial.recist import RECIST_1_1, Criteria, Response

__all__ = [
    "CONSTRUCTIONS",
    "Cohort",
    "NONTARGET_STATUSES",
    "NODE_STATIONS",
    "ORGANS",
    "Patient",
    "VisitArrays",
    "adversarial_sizes",
    "baseline_lesions",
    "cohorts",
    "new_lesion_series",
    "nontarget_series",
    "patients",
    "random_walk_sizes",
    "visit_arrays",
    "visit_days",
]

#: Organs of non-nodal lesions (none is called "lymph node").
ORGANS = ("lung", "liver", "bone", "pleura", "adrenal", "kidney", "soft tissue", "thyroid bed")
#: Nodal stations; under RECIST 1.1 every node belongs to one organ, "lymph node".
NODE_STATIONS = ("cervical node", "mediastinal node", "hilar node", "axillary node")
#: How :func:`patients` may build a patient's measurements (see there).
CONSTRUCTIONS = ("random", "threshold", "CR then reappearance", "response then regrowth")
#: Non-target statuses a follow-up visit can have, as ``assess_patient`` spells them.
NONTARGET_STATUSES = ("NON_CR_NON_PD", "CR", "NE", "PD")

_NAN = float("nan")
_NONTARGET_CODES = np.array(
    [Response.NA, Response.CR, Response.NON_CR_NON_PD, Response.PD, Response.NE], np.int8
)


def _mm(low: float, high: float, step: float = 0.1) -> st.SearchStrategy[float]:
    """Sizes in mm on a decimal grid (multiples of ``step``), shrinking towards ``low``."""
    scale = round(1 / step)
    return st.integers(math.ceil(low * scale - 1e-9), math.floor(high * scale + 1e-9)).map(
        lambda k: k / scale
    )


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidArgument(message)


def _check_count(name: str, value, low: int = 0) -> None:
    _check(
        isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low,
        f"`{name}` must be an integer >= {low}, got {value!r}",
    )


def _organ_key(organ: str, nodal: bool, criteria: Criteria) -> str:
    return "lymph node" if nodal and criteria.nodes_by_short_axis else organ


# ----------------------------------------------------------------------------- value types


@dataclass(frozen=True, eq=False)
class VisitArrays:
    """Arguments of :func:`simtrial.recist.assess_visits` for one patient or a stack.

    Attributes
    ----------
    sizes : ndarray of float, shape (..., visit, lesion)
        Target sizes in mm; visit 0 is baseline; NaN = not measured.
    nodal, lesion_mask : ndarray of bool, shape (..., lesion)
    day : ndarray of float, shape (..., visit)
    visit_mask, new_lesion : ndarray of bool, shape (..., visit)
    nontarget : ndarray of int8, shape (..., visit)
        :class:`simtrial.recist.Response` codes (``NA`` = no non-target disease).
    """

    sizes: np.ndarray
    nodal: np.ndarray
    day: np.ndarray
    lesion_mask: np.ndarray
    visit_mask: np.ndarray
    new_lesion: np.ndarray
    nontarget: np.ndarray

    def kwargs(self) -> dict[str, np.ndarray]:
        """Keyword arguments for ``assess_visits(**arrays.kwargs(), criteria=...)``.

        Returns copies, so a test may change them without touching the drawn value.
        """
        return {
            "sizes": self.sizes.copy(),
            "nodal": self.nodal.copy(),
            "day": self.day.copy(),
            "lesion_mask": self.lesion_mask.copy(),
            "visit_mask": self.visit_mask.copy(),
            "new_lesion": self.new_lesion.copy(),
            "nontarget": self.nontarget.copy(),
        }


@dataclass(frozen=True, eq=False)
class Patient:
    """One generated patient, in both input formats of :mod:`simtrial.recist`.

    Attributes
    ----------
    lesions : pandas.DataFrame
        Long table, one row per (lesion, assessment): ``day``, ``lesion``, ``organ``,
        ``nodal``, ``target``, ``size_mm`` — the first argument of ``assess_patient``.
    visits : pandas.DataFrame
        One row per follow-up day: ``day``, ``new_lesion`` and, when the patient has
        non-target lesions, ``nontarget`` — the second argument of ``assess_patient``.
    arrays : VisitArrays
        The same patient for ``assess_visits``: shapes ``(visit, lesion)`` and ``(visit,)``,
        target lesions in the order of their first row in ``lesions``.
    criteria : Criteria
        The criteria whose target limits and measurability the baseline respects.
    construction : str
        How the measurements were built (for reading a falsifying example).
    """

    lesions: pd.DataFrame
    visits: pd.DataFrame
    arrays: VisitArrays
    criteria: Criteria
    construction: str

    def __repr__(self) -> str:
        wide = pd.DataFrame(
            self.arrays.sizes,
            index=pd.Index(self.arrays.day, name="day"),
            columns=[f"{'node' if n else 'lesion'}{i}" for i, n in enumerate(self.arrays.nodal)],
        )
        extra = pd.DataFrame(
            {
                "new_lesion": self.arrays.new_lesion,
                "nontarget": [Response(int(c)).name for c in self.arrays.nontarget],
            },
            index=wide.index,
        )
        return (
            f"Patient({self.criteria.name}; {self.construction}; target sizes (mm) by day:\n"
            f"{wide.join(extra).to_string()})"
        )

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        # hypothesis prints falsifying examples with this (IPython's protocol)
        printer.text(repr(self))


@dataclass(frozen=True, eq=False)
class Cohort:
    """Several generated patients stacked into padded arrays.

    Attributes
    ----------
    arrays : VisitArrays
        Shapes ``(patient, visit, lesion)``, ``(patient, lesion)`` and ``(patient, visit)``.
        Padding lesions have ``lesion_mask`` False, padding visits ``visit_mask`` False; both
        hold junk values the classifier must ignore.
    patients : tuple of Patient
    visit_slots : tuple of tuple of int
        ``visit_slots[i][k]``: where patient ``i``'s visit ``k`` sits on the visit axis.
    lesion_slots : tuple of tuple of int
        ``lesion_slots[i][j]``: where patient ``i``'s target ``j`` sits on the lesion axis.
    """

    arrays: VisitArrays
    patients: tuple[Patient, ...]
    visit_slots: tuple[tuple[int, ...], ...]
    lesion_slots: tuple[tuple[int, ...], ...]


# --------------------------------------------------------------------------- building blocks


def baseline_lesions(
    criteria: Criteria = RECIST_1_1,
    *,
    min_targets: int = 1,
    max_targets: int | None = None,
    max_nontargets: int = 3,
) -> st.SearchStrategy[pd.DataFrame]:
    """Baseline lesion tables that respect ``criteria``'s measurability and target limits.

    Targets: at most ``criteria.max_targets`` (RECIST 1.1: 5; 1.0: 10), at most
    ``criteria.max_targets_per_organ`` per organ (1.1: 2; 1.0: 5) with every node in one
    organ under RECIST 1.1; non-nodal targets >= ``criteria.measurable_mm`` (10 mm), nodal
    targets >= ``criteria.node_measurable_mm`` short axis (1.1: 15 mm; 1.0: measured like
    other lesions, >= 10 mm). Non-target lesions: small lesions (< 10 mm), pathological but
    non-measurable nodes (10 to < 15 mm under 1.1) or lesions not measured at all (NaN, e.g.
    bone). A patient without targets has at least one non-target lesion. Rows come in a
    drawn order; sizes shrink towards the measurability floors.

    Parameters
    ----------
    criteria : Criteria
    min_targets, max_targets : int
        Number of target lesions (default 1 to ``criteria.max_targets``).
    max_nontargets : int
        At most this many non-target lesions.

    Returns
    -------
    SearchStrategy of pandas.DataFrame
        Columns ``lesion`` (unique id), ``organ``, ``nodal``, ``target``, ``size_mm``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from simtrial.recist import RECIST_1_0, select_targets
    >>> from simtrial.strategies import baseline_lesions
    >>> @settings(max_examples=30, deadline=None)
    ... @given(baseline_lesions(RECIST_1_0, min_targets=6))
    ... def test_limits(table):
    ...     targets = table[table["target"]]
    ...     assert 6 <= len(targets) <= 10
    ...     assert targets.groupby("organ").size().max() <= 5
    ...     assert (targets["size_mm"] >= 10).all()
    >>> test_limits()
    """
    max_targets = criteria.max_targets if max_targets is None else max_targets
    _check_count("min_targets", min_targets)
    _check_count("max_targets", max_targets)
    _check_count("max_nontargets", max_nontargets)
    _check(
        min_targets <= max_targets <= criteria.max_targets,
        f"need min_targets <= max_targets <= {criteria.max_targets} ({criteria.name}); got "
        f"{min_targets} and {max_targets}",
    )
    _check(
        max_targets > 0 or max_nontargets > 0,
        "a patient needs a lesion: `max_targets` or `max_nontargets` must be > 0",
    )
    return _baseline_lesions(criteria, min_targets, max_targets, max_nontargets)


@st.composite
def _baseline_lesions(draw, criteria, min_targets, max_targets, max_nontargets):
    n_targets = draw(st.integers(min_targets, max_targets))
    n_nontargets = draw(st.integers(0 if n_targets else 1, max_nontargets))
    per_organ: dict[str, int] = {}
    rows = []
    numbering: dict[str, int] = {}

    def new_id(organ: str) -> str:
        numbering[organ] = numbering.get(organ, 0) + 1
        return f"{organ.replace(' ', '-')}-{numbering[organ]}"

    for _ in range(n_targets):
        sites = [(o, False) for o in ORGANS] + [(s, True) for s in NODE_STATIONS]
        free = [
            (organ, nodal)
            for organ, nodal in sites
            if per_organ.get(_organ_key(organ, nodal, criteria), 0) < criteria.max_targets_per_organ
        ]
        organ, nodal = draw(st.sampled_from(free))
        key = _organ_key(organ, nodal, criteria)
        per_organ[key] = per_organ.get(key, 0) + 1
        floor = (
            criteria.node_measurable_mm
            if nodal and criteria.nodes_by_short_axis
            else criteria.measurable_mm
        )
        size = draw(_mm(floor, 60.0 if nodal else 120.0))
        rows.append((new_id(organ), organ, nodal, True, size))
    for _ in range(n_nontargets):
        organ, nodal = draw(
            st.sampled_from([(o, False) for o in ORGANS] + [(s, True) for s in NODE_STATIONS])
        )
        if nodal and criteria.nodes_by_short_axis:
            sizes = _mm(criteria.node_normal_mm, criteria.node_measurable_mm - 0.1)
        else:
            sizes = _mm(1.0, criteria.measurable_mm - 0.1)
        size = draw(st.one_of(sizes, st.just(_NAN)))
        rows.append((new_id(organ), organ, nodal, False, size))
    order = draw(st.permutations(range(len(rows))))
    return pd.DataFrame(
        [rows[i] for i in order], columns=["lesion", "organ", "nodal", "target", "size_mm"]
    )


def visit_days(
    *,
    min_visits: int = 1,
    max_visits: int = 8,
    interval_weeks: tuple[int, int] = (6, 12),
    jitter_days: int = 7,
    confirmation_scans: bool = True,
    confirm_days: int = 28,
) -> st.SearchStrategy[tuple[float, ...]]:
    """Follow-up visit days: a scan every 6-12 weeks (drawn per patient) with jitter.

    Visit ``k`` is on day ``7 * k * weeks + jitter_k`` with ``jitter_k`` in
    ``[-jitter_days, jitter_days]``; with ``confirmation_scans``, some scans are followed by
    an extra scan exactly ``confirm_days`` later (the confirmation boundary). Days are whole
    numbers (as floats), strictly increasing and > 0; baseline (day 0) is not included.

    Parameters
    ----------
    min_visits, max_visits : int
        Number of follow-up visits.
    interval_weeks : (int, int)
        Range of the scan interval, in weeks.
    jitter_days : int
        Visit window: each scan up to this many days early or late. Must be less than half
        the shortest interval.
    confirmation_scans : bool
    confirm_days : int

    Returns
    -------
    SearchStrategy of tuple of float

    Examples
    --------
    The simplest schedule with three visits is every 6 weeks, on time:

    >>> from hypothesis import find
    >>> from simtrial.strategies import visit_days
    >>> find(visit_days(), lambda days: len(days) == 3)
    (42.0, 84.0, 126.0)
    """
    _check_count("min_visits", min_visits, 1)
    _check_count("max_visits", max_visits, 1)
    _check(
        min_visits <= max_visits, f"need min_visits <= max_visits, got {min_visits}, {max_visits}"
    )
    low, high = interval_weeks
    _check_count("interval_weeks[0]", low, 1)
    _check(low <= high, f"`interval_weeks` must be (low, high) with low <= high, got {low}, {high}")
    _check_count("jitter_days", jitter_days)
    _check(
        2 * jitter_days < 7 * low,
        f"`jitter_days` must be < half the shortest interval ({7 * low} days), got {jitter_days}",
    )
    _check_count("confirm_days", confirm_days, 1)
    return _visit_days(
        min_visits, max_visits, low, high, jitter_days, confirmation_scans, confirm_days
    )


@st.composite
def _visit_days(draw, min_visits, max_visits, low, high, jitter, confirmation, confirm_days):
    n = draw(st.integers(min_visits, max_visits))
    weeks = draw(st.integers(low, high))
    scheduled = [
        7 * weeks * k + draw(st.integers(-jitter, jitter), label="jitter") for k in range(1, n + 1)
    ]
    days: list[int] = []
    for k, day in enumerate(scheduled):
        days.append(day)
        if confirmation and draw(st.booleans()):
            extra = day + confirm_days
            if k + 1 == len(scheduled) or extra < scheduled[k + 1]:
                days.append(extra)
    return tuple(float(d) for d in days[:n])


def random_walk_sizes(
    baseline_mm: float, n_visits: int, *, nodal: bool = False
) -> st.SearchStrategy[tuple[float, ...]]:
    """Realistic follow-up sizes of one lesion: a multiplicative random walk.

    Each visit multiplies the previous size by ``1 + (trend + noise) / 100`` with the
    lesion's trend drawn in [-25, 25] % per visit and noise in [-10, 10] %, then rounds to
    0.1 mm. A non-nodal lesion below 2 mm has disappeared (0, and stays 0); a node shrinks
    towards a normal short axis but not below 4 mm.

    Parameters
    ----------
    baseline_mm : float
        Size at baseline.
    n_visits : int
        Number of follow-up visits (the baseline is not repeated).
    nodal : bool

    Returns
    -------
    SearchStrategy of tuple of float
        ``n_visits`` sizes in mm.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from simtrial.strategies import random_walk_sizes
    >>> @settings(max_examples=30, deadline=None)
    ... @given(random_walk_sizes(20.0, 6))
    ... def test_steps_are_bounded(sizes):
    ...     previous = 20.0
    ...     for size in sizes:
    ...         assert size == 0 or 0.6 * previous - 0.1 <= size <= 1.4 * previous + 0.1
    ...         previous = size
    >>> test_steps_are_bounded()
    """
    _check(baseline_mm > 0, f"`baseline_mm` must be > 0, got {baseline_mm!r}")
    _check_count("n_visits", n_visits)
    return _random_walk(float(baseline_mm), n_visits, bool(nodal))


@st.composite
def _random_walk(draw, baseline_mm, n_visits, nodal):
    trend = draw(st.integers(-25, 25))
    size = baseline_mm
    sizes = []
    for _ in range(n_visits):
        size = round(size * (1 + (trend + draw(st.integers(-10, 10))) / 100), 1)
        if nodal:
            size = max(size, 4.0)
        elif size < 2.0:
            size = 0.0
        sizes.append(size)
    return tuple(sizes)


def adversarial_sizes(
    baseline_mm: float, n_visits: int, *, nodal: bool = False, missing: bool = True
) -> st.SearchStrategy[tuple[float, ...]]:
    """Follow-up sizes of one lesion chosen to sit on the rules' edges.

    One of: every visit free among exact 0, sizes near 0 and near 10 mm, any size up to twice
    baseline, and NaN; disappear–reappear (gone for one or more visits, then back: non-nodal
    0 then > 0; a node < 10 mm then >= 10 mm); hovering around the size at which the lesion
    counts as gone (a node 9.8–10.1 mm; a non-nodal lesion 0–0.2 mm). With ``missing``, up to
    two visits are then set to NaN (not measured).

    Parameters
    ----------
    baseline_mm : float
    n_visits : int
    nodal : bool
    missing : bool
        Allow NaN.

    Returns
    -------
    SearchStrategy of tuple of float

    Examples
    --------
    A node can end below 10 mm after having been back above it:

    >>> from hypothesis import find
    >>> from simtrial.strategies import adversarial_sizes
    >>> sizes = find(
    ...     adversarial_sizes(20.0, 3, nodal=True, missing=False),
    ...     lambda s: s[0] < 10 <= s[1] and s[2] < 10,
    ... )
    >>> sizes[0] < 10 <= sizes[1] and sizes[2] < 10
    True
    """
    _check(baseline_mm > 0, f"`baseline_mm` must be > 0, got {baseline_mm!r}")
    _check_count("n_visits", n_visits)
    return _adversarial(float(baseline_mm), n_visits, bool(nodal), bool(missing))


@st.composite
def _adversarial(draw, baseline_mm, n_visits, nodal, missing):
    near_gone = [9.8, 9.9, 10.0, 10.1] if nodal else [0.0, 0.1, 0.2]
    if n_visits == 0:
        return ()
    pattern = draw(st.sampled_from(["free", "disappear-reappear", "hover"]))
    if pattern == "free":
        one = st.one_of(
            st.just(0.0),
            st.sampled_from([0.1, 0.2, 4.9, 5.0, 9.9, 10.0, 10.1]),
            _mm(0.0, 2 * baseline_mm),
            st.just(_NAN) if missing else st.nothing(),
        )
        sizes = [draw(one) for _ in range(n_visits)]
    elif pattern == "hover":
        sizes = [draw(st.sampled_from(near_gone)) for _ in range(n_visits)]
    else:
        gone_from = draw(st.integers(0, n_visits - 1))
        back_at = draw(st.integers(gone_from + 1, n_visits))
        gone = _mm(4.0, 9.9) if nodal else st.just(0.0)
        back = _mm(10.0, 20.0) if nodal else _mm(0.1, 15.0)
        sizes = [
            draw(_mm(0.5 * baseline_mm, 1.5 * baseline_mm))
            if k < gone_from
            else draw(gone)
            if k < back_at
            else draw(back)
            for k in range(n_visits)
        ]
    if missing:
        for k in draw(st.lists(st.integers(0, n_visits - 1), max_size=2, unique=True)):
            sizes[k] = _NAN
    return tuple(sizes)


def nontarget_series(n_visits: int) -> st.SearchStrategy[tuple[str, ...]]:
    """Non-target status per follow-up visit, as ``assess_patient`` spells it.

    All non-CR/non-PD (the common case), all CR, or any sequence of ``"NON_CR_NON_PD"``,
    ``"CR"``, ``"NE"``, ``"PD"``.

    Parameters
    ----------
    n_visits : int

    Returns
    -------
    SearchStrategy of tuple of str

    Examples
    --------
    >>> from hypothesis import find
    >>> from simtrial.strategies import nontarget_series
    >>> find(nontarget_series(3), lambda s: "PD" in s)
    ('NON_CR_NON_PD', 'NON_CR_NON_PD', 'PD')
    """
    _check_count("n_visits", n_visits)
    return st.one_of(
        st.just(("NON_CR_NON_PD",) * n_visits),
        st.just(("CR",) * n_visits),
        st.lists(st.sampled_from(NONTARGET_STATUSES), min_size=n_visits, max_size=n_visits).map(
            tuple
        ),
    )


def new_lesion_series(n_visits: int) -> st.SearchStrategy[tuple[bool, ...]]:
    """Whether a new lesion is found at each follow-up visit.

    None at all (a third of draws, so that responses get a chance), a new lesion from one
    visit on, or any sequence.

    Parameters
    ----------
    n_visits : int

    Returns
    -------
    SearchStrategy of tuple of bool

    Examples
    --------
    >>> from hypothesis import find
    >>> from simtrial.strategies import new_lesion_series
    >>> find(new_lesion_series(4), lambda new: any(new) and not new[0])
    (False, True, True, True)
    """
    _check_count("n_visits", n_visits)
    from_visit = st.integers(0, max(n_visits - 1, 0)).map(
        lambda k: tuple(v >= k for v in range(n_visits))
    )
    return st.one_of(
        st.just((False,) * n_visits),
        from_visit if n_visits else st.nothing(),
        st.lists(st.booleans(), min_size=n_visits, max_size=n_visits).map(tuple),
    )


# ------------------------------------------------------------------------------ patients


def patients(
    criteria: Criteria = RECIST_1_1,
    *,
    min_targets: int = 1,
    max_targets: int | None = None,
    max_nontargets: int = 2,
    min_visits: int = 1,
    max_visits: int = 6,
    adversarial: bool = True,
    missing: bool = True,
    new_lesions: bool = True,
    constructions: tuple[str, ...] | None = None,
) -> st.SearchStrategy[Patient]:
    """Whole patients, as ``assess_patient`` and ``assess_visits`` take them.

    A baseline from :func:`baseline_lesions`, a schedule from :func:`visit_days`, per target
    lesion a series from :func:`random_walk_sizes` or (with ``adversarial``)
    :func:`adversarial_sizes`, non-target statuses and new lesions. With ``adversarial``, a
    patient may also be *constructed*:

    - **threshold**: at one visit the target sum lands exactly on — or 0.1 mm below or
      above — 70% of the baseline sum, 120% of the nadir, or the nadir + 5 mm (RECIST 1.1;
      the visit before is then put at 25 mm, where the 5 mm rule binds), computed in exact
      decimal arithmetic (e.g. baseline 50.0 mm, follow-up 35.0 mm);
    - **CR then reappearance**: every target gone (non-nodal 0, nodes < 10 mm) with
      non-targets CR for one or more visits, then one target back;
    - **response then regrowth**: every target 0-15% smaller than at baseline, then 30-40%
      smaller for one or more visits, then mostly 29% smaller but less than 20% above the
      nadir (continued PR; literally SD), sometimes 10% smaller (PD).

    The tables vary in inessential ways a classifier must ignore: row order (by day or by
    lesion), integer or float days, and a target not measured at a visit either as a NaN row
    or as no row at all.

    To aim a property at one edge, ask for one construction, e.g.
    ``patients(constructions=("threshold",), min_visits=2)``.

    Parameters
    ----------
    criteria : Criteria
    min_targets, max_targets, max_nontargets : int
        As in :func:`baseline_lesions`.
    min_visits, max_visits : int
        Number of follow-up visits.
    adversarial : bool
        Draw adversarial series and constructions too (else random walks only).
    missing : bool
        Allow targets not measured at follow-up visits.
    new_lesions : bool
        Allow new lesions.
    constructions : tuple of str, optional
        Among :data:`CONSTRUCTIONS`; default all with ``adversarial``, else ``("random",)``.
        A patient without targets or follow-up visits is always ``"random"``.

    Returns
    -------
    SearchStrategy of Patient

    Examples
    --------
    The two doors agree on every generated patient:

    >>> from hypothesis import given, settings
    >>> from simtrial.recist import RECIST_1_0, Response, assess_patient, assess_visits
    >>> from simtrial.strategies import patients
    >>> @settings(max_examples=20, deadline=None)
    ... @given(patients(RECIST_1_0))
    ... def test_doors_agree(patient):
    ...     table = assess_patient(patient.lesions, patient.visits, criteria=RECIST_1_0)
    ...     arrays = assess_visits(**patient.arrays.kwargs(), criteria=RECIST_1_0)
    ...     assert table.best == Response(int(arrays.best)).name
    >>> test_doors_agree()
    """
    _check_count("min_visits", min_visits, 1)
    _check_count("max_visits", max_visits, 1)
    _check(
        min_visits <= max_visits, f"need min_visits <= max_visits, got {min_visits}, {max_visits}"
    )
    baseline = baseline_lesions(
        criteria, min_targets=min_targets, max_targets=max_targets, max_nontargets=max_nontargets
    )
    if constructions is None:
        constructions = CONSTRUCTIONS if adversarial else ("random",)
    constructions = tuple(constructions)
    _check(
        len(constructions) > 0 and set(constructions) <= set(CONSTRUCTIONS),
        f"`constructions` must be a non-empty subset of {CONSTRUCTIONS}, got {constructions!r}",
    )
    schedule = visit_days(min_visits=min_visits, max_visits=max_visits)
    return _patients(criteria, baseline, schedule, adversarial, missing, new_lesions, constructions)


def _exact(value: float) -> Fraction:
    """The decimal a float was written as (0.3 -> 3/10)."""
    return Fraction(repr(float(value)))


def _spread(row: list[int | None], total: int) -> list[int]:
    """Sizes (hundredths of mm) summing exactly to ``total``, each at most its old value
    except the last lesion, which takes what is left."""
    out = [0 if s is None else s for s in row]
    remaining = total
    for i in range(len(out) - 1):
        out[i] = min(out[i], remaining)
        remaining -= out[i]
    out[-1] = remaining
    return out


def _land_on_threshold(draw, sizes: list[list[float]], criteria: Criteria) -> str:
    """Make the target sum at one follow-up visit hit a threshold in exact decimal mm."""
    hundredths = [[None if math.isnan(s) else round(s * 100) for s in row] for row in sizes]
    v = draw(st.integers(1, len(sizes) - 1))
    kinds = ["30% below baseline", "20% above nadir"]
    if criteria.pd_min_increase_mm is not None:
        kinds.append("5 mm above nadir")
    kind = draw(st.sampled_from(kinds))
    offset = draw(st.sampled_from([0, 0, -10, 10]))  # hundredths of mm: half exactly on
    note = ""
    if kind == "5 mm above nadir" and v >= 2:
        # the 5 mm rule binds only below a nadir of 5 / 20% = 25 mm: put the visit before
        # at 25 mm, where both rules meet (the nadir is then at most 25 mm)
        meet = math.floor(100 * _exact(criteria.pd_min_increase_mm) / _exact(criteria.pd_increase))
        hundredths[v - 1] = _spread(hundredths[v - 1], meet)
        sizes[v - 1] = [s / 100 for s in hundredths[v - 1]]
        note = f", visit {v - 1} sum {meet / 100:g} mm"
    baseline_sum = sum(hundredths[0])
    nadir = min(sum(row) for row in hundredths[:v] if None not in row)
    if kind == "30% below baseline":
        threshold = (1 - _exact(criteria.pr_decrease)) * baseline_sum
    elif kind == "20% above nadir":
        threshold = (1 + _exact(criteria.pd_increase)) * nadir
    else:
        threshold = nadir + 100 * _exact(criteria.pd_min_increase_mm)
    exact = threshold.denominator == 1
    total = max(math.floor(threshold) + offset, 0)
    sizes[v] = [s / 100 for s in _spread(hundredths[v], total)]
    where = "on" if offset == 0 and exact else f"{offset / 100:+.2f} mm from"
    return f"threshold: visit {v} sum {total / 100:g} mm lands {where} {kind}{note}"


@st.composite
def _patients(
    draw, criteria, baseline_strategy, schedule, adversarial, missing, new_lesions, constructions
):
    baseline = draw(baseline_strategy)
    follow_up = draw(schedule)
    n_visits = len(follow_up) + 1
    targets = baseline[baseline["target"]]
    nodal = targets["nodal"].to_numpy(bool)
    n_targets = len(targets)
    by_short_axis = nodal & criteria.nodes_by_short_axis

    columns = []
    for size, node in zip(targets["size_mm"], nodal, strict=True):
        walk = random_walk_sizes(size, n_visits - 1, nodal=node)
        if adversarial:
            walk = st.one_of(walk, adversarial_sizes(size, n_visits - 1, nodal=node, missing=False))
        columns.append([size, *draw(walk)])
    sizes = [[columns[i][v] for i in range(n_targets)] for v in range(n_visits)]
    if missing and n_targets:
        cells = st.tuples(st.integers(1, n_visits - 1), st.integers(0, n_targets - 1))
        for v, i in draw(st.lists(cells, max_size=3, unique=True)):
            sizes[v][i] = _NAN

    has_nontargets = not baseline["target"].all()
    nontarget = list(draw(nontarget_series(n_visits - 1))) if has_nontargets else None
    new = list(draw(new_lesion_series(n_visits - 1))) if new_lesions else [False] * (n_visits - 1)

    construction = "random"
    if n_targets and n_visits > 1:
        construction = draw(st.sampled_from(constructions))
    if construction == "threshold":
        construction = _land_on_threshold(draw, sizes, criteria)
    elif construction == "CR then reappearance":
        gone_from = draw(st.integers(1, n_visits - 1))
        back_at = draw(st.integers(gone_from + 1, n_visits))
        for v in range(gone_from, min(back_at, n_visits)):
            sizes[v] = [draw(_mm(4.0, 9.9)) if node else 0.0 for node in by_short_axis]
            new[v - 1] = False
            if nontarget is not None:
                nontarget[v - 1] = "CR"
        if back_at < n_visits:
            i = draw(st.integers(0, n_targets - 1))
            sizes[back_at][i] = draw(_mm(10.0, 20.0) if by_short_axis[i] else _mm(0.1, 15.0))
        construction = f"CR from visit {gone_from}, a target back at visit {back_at}"
    elif construction == "response then regrowth":
        # every target shrinks to a PR (>= 30% below baseline) for one or more visits, then
        # regrows to 70-90% of baseline: continued PR, SD or PD depending on the nadir
        respond_from = draw(st.integers(1, max(n_visits - 2, 1)))
        regrow_from = draw(st.integers(respond_from + 1, max(n_visits - 1, respond_from + 1)))
        lowest = 100
        for v in range(1, n_visits):
            if v < respond_from:
                percent = draw(st.integers(85, 100))
            elif v < regrow_from:
                percent = draw(st.integers(60, 70))
                lowest = min(lowest, percent)
            else:  # mostly below the +20% of the nadir: continued PR
                below_pd = st.integers(71, max(71, lowest * 6 // 5 - 1))
                percent = draw(st.one_of(below_pd, below_pd, st.just(90)))
            sizes[v] = [round(b * percent / 100, 1) for b in sizes[0]]
            if v < regrow_from or draw(st.booleans()):
                new[v - 1] = False
                if nontarget is not None and nontarget[v - 1] == "PD":
                    nontarget[v - 1] = "NON_CR_NON_PD"
        construction = f"response from visit {respond_from}, regrowth from visit {regrow_from}"

    # the table door's format
    days = [0.0, *follow_up]
    float_days = draw(st.booleans())
    day_value = float if float_days else int
    drop_missing_rows = draw(st.booleans())
    records = []
    target_index = {lesion: i for i, lesion in enumerate(targets["lesion"])}
    for row in baseline.itertuples(index=False):
        for v, day in enumerate(days):
            if row.target:
                size = sizes[v][target_index[row.lesion]]
                if v > 0 and math.isnan(size) and drop_missing_rows:
                    continue
            else:
                size = row.size_mm if v == 0 else _NAN
            records.append((day_value(day), row.lesion, row.organ, row.nodal, row.target, size, v))
    lesions = pd.DataFrame(
        records, columns=["day", "lesion", "organ", "nodal", "target", "size_mm", "visit"]
    )
    if draw(st.booleans()):  # by day, then lesion; else by lesion, then day
        lesions = lesions.sort_values("visit", kind="stable")
    lesions = lesions.drop(columns="visit").reset_index(drop=True)
    visits = pd.DataFrame(
        {"day": [day_value(d) for d in follow_up], "new_lesion": np.array(new, bool)}
    )
    if nontarget is not None:
        visits["nontarget"] = nontarget

    codes = {name: int(Response[name]) for name in NONTARGET_STATUSES}
    arrays = VisitArrays(
        sizes=np.array(sizes, float).reshape(n_visits, n_targets),
        nodal=nodal.copy(),
        day=np.array(days, float),
        lesion_mask=np.ones(n_targets, bool),
        visit_mask=np.ones(n_visits, bool),
        new_lesion=np.array([False, *new], bool),
        nontarget=np.array(
            [int(Response.NA), *(codes[s] for s in nontarget)]
            if nontarget is not None
            else [int(Response.NA)] * n_visits,
            np.int8,
        ),
    )
    return Patient(
        lesions=lesions, visits=visits, arrays=arrays, criteria=criteria, construction=construction
    )


def cohorts(
    criteria: Criteria = RECIST_1_1,
    *,
    min_patients: int = 1,
    max_patients: int = 6,
    padding: bool = True,
    **patient_options,
) -> st.SearchStrategy[Cohort]:
    """Several patients stacked into one set of padded arrays, for the array door.

    Patients come from :func:`patients` (``patient_options`` are passed on). The lesion axis
    is as long as the largest patient's number of targets (plus, with ``padding``, up to one
    more); with ``padding`` the visit axis also gets up to two extra slots, so that a
    patient's visits may be separated by visits not held. Padding holds junk (NaN, 0 or
    999 mm; days NaN, negative or out of order; new lesions; non-target PD) which
    ``lesion_mask`` and ``visit_mask`` tell the classifier to ignore.

    Parameters
    ----------
    criteria : Criteria
    min_patients, max_patients : int
    padding : bool
    **patient_options
        Passed to :func:`patients`.

    Returns
    -------
    SearchStrategy of Cohort

    Examples
    --------
    Assessing a stack of patients at once gives each patient's own assessment:

    >>> from hypothesis import given, settings
    >>> from simtrial.recist import assess_visits
    >>> from simtrial.strategies import cohorts
    >>> @settings(max_examples=20, deadline=None)
    ... @given(cohorts(max_patients=3))
    ... def test_batching(cohort):
    ...     together = assess_visits(**cohort.arrays.kwargs())
    ...     for i, patient in enumerate(cohort.patients):
    ...         alone = assess_visits(**patient.arrays.kwargs())
    ...         assert together.best[i] == alone.best
    >>> test_batching()
    """
    _check_count("min_patients", min_patients, 1)
    _check_count("max_patients", max_patients, 1)
    _check(
        min_patients <= max_patients,
        f"need min_patients <= max_patients, got {min_patients}, {max_patients}",
    )
    one = patients(criteria, **patient_options)
    return _cohorts(one, min_patients, max_patients, bool(padding))


@st.composite
def _cohorts(draw, one, min_patients, max_patients, padding):
    members = draw(st.lists(one, min_size=min_patients, max_size=max_patients))
    n_patients = len(members)
    n_visits = max(p.arrays.sizes.shape[0] for p in members) + (
        draw(st.integers(0, 2)) if padding else 0
    )
    n_lesions = max(p.arrays.sizes.shape[1] for p in members) + (
        draw(st.integers(0, 1)) if padding else 0
    )
    junk_size = draw(st.sampled_from([_NAN, 0.0, 999.0]))
    junk_day = draw(st.sampled_from([_NAN, -1.0, 0.0, 1e9]))
    junk_nontarget = draw(st.sampled_from([int(Response.PD), int(Response.NE)]))
    sizes = np.full((n_patients, n_visits, n_lesions), junk_size)
    nodal = np.ones((n_patients, n_lesions), bool)
    day = np.full((n_patients, n_visits), junk_day)
    lesion_mask = np.zeros((n_patients, n_lesions), bool)
    visit_mask = np.zeros((n_patients, n_visits), bool)
    new_lesion = np.ones((n_patients, n_visits), bool)
    nontarget = np.full((n_patients, n_visits), junk_nontarget, np.int8)
    visit_slots, lesion_slots = [], []
    for i, patient in enumerate(members):
        a = patient.arrays
        nv, nl = a.sizes.shape
        follow = draw(
            st.lists(st.integers(1, n_visits - 1), min_size=nv - 1, max_size=nv - 1, unique=True)
        )
        vs = (0, *sorted(follow))
        ls = tuple(
            sorted(
                draw(st.lists(st.integers(0, n_lesions - 1), min_size=nl, max_size=nl, unique=True))
            )
        )
        sizes[np.ix_([i], vs, ls)] = a.sizes[None]
        nodal[i, list(ls)] = a.nodal
        lesion_mask[i, list(ls)] = True
        day[i, list(vs)] = a.day
        visit_mask[i, list(vs)] = True
        new_lesion[i, list(vs)] = a.new_lesion
        nontarget[i, list(vs)] = a.nontarget
        visit_slots.append(vs)
        lesion_slots.append(ls)
    arrays = VisitArrays(
        sizes=sizes,
        nodal=nodal,
        day=day,
        lesion_mask=lesion_mask,
        visit_mask=visit_mask,
        new_lesion=new_lesion,
        nontarget=nontarget,
    )
    return Cohort(
        arrays=arrays,
        patients=tuple(members),
        visit_slots=tuple(visit_slots),
        lesion_slots=tuple(lesion_slots),
    )


def visit_arrays(
    shape: tuple[int, ...] = (),
    *,
    min_visits: int = 1,
    max_visits: int = 6,
    min_lesions: int = 0,
    max_lesions: int = 5,
    masks: bool = False,
) -> st.SearchStrategy[VisitArrays]:
    """Raw array-door input with leading axes ``shape``, drawn element by element.

    Built with :func:`hypothesis.extra.numpy.arrays`: sizes on a 0.1 mm grid (baseline
    0.1–100 mm, follow-ups 0–150 mm or NaN), any lesion nodal or not, visit intervals of
    1–120 days, any new lesions and any non-target codes (``NA`` included). Nothing
    clinical is enforced beyond what :func:`simtrial.recist.assess_visits` requires, so this
    reaches corners :func:`patients` does not (e.g. a node of 5 mm at baseline). With
    ``masks``, ``lesion_mask`` and ``visit_mask`` are drawn too (baseline always held).

    Parameters
    ----------
    shape : tuple of int
        Leading axes, e.g. ``()`` for one patient or ``(rep, patient)``.
    min_visits, max_visits : int
        Number of visits, baseline included.
    min_lesions, max_lesions : int
    masks : bool

    Returns
    -------
    SearchStrategy of VisitArrays

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from simtrial.recist import assess_visits
    >>> from simtrial.strategies import visit_arrays
    >>> @settings(max_examples=20, deadline=None)
    ... @given(visit_arrays((2, 3), masks=True))
    ... def test_shapes(arrays):
    ...     result = assess_visits(**arrays.kwargs())
    ...     assert result.overall.shape == arrays.day.shape
    ...     assert result.best.shape == (2, 3)
    >>> test_shapes()
    """
    _check(
        isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape),
        f"`shape` must be a tuple of non-negative ints, got {shape!r}",
    )
    _check_count("min_visits", min_visits, 1)
    _check_count("min_lesions", min_lesions)
    _check(
        min_visits <= max_visits, f"need min_visits <= max_visits, got {min_visits}, {max_visits}"
    )
    _check(
        min_lesions <= max_lesions,
        f"need min_lesions <= max_lesions, got {min_lesions}, {max_lesions}",
    )
    return _visit_arrays(shape, min_visits, max_visits, min_lesions, max_lesions, bool(masks))


@st.composite
def _visit_arrays(draw, shape, min_visits, max_visits, min_lesions, max_lesions, masks):
    n_visits = draw(st.integers(min_visits, max_visits))
    n_lesions = draw(st.integers(min_lesions, max_lesions))
    baseline = draw(hnp.arrays(float, (*shape, 1, n_lesions), elements=_mm(0.1, 100.0)))
    follow_up = draw(
        hnp.arrays(
            float,
            (*shape, n_visits - 1, n_lesions),
            elements=st.one_of(_mm(0.0, 150.0), st.just(_NAN)),
        )
    )
    gaps = draw(hnp.arrays(np.int64, (*shape, n_visits - 1), elements=st.integers(1, 120)))
    zeros = np.zeros((*shape, 1))
    new_lesion = draw(hnp.arrays(bool, (*shape, n_visits - 1)))
    nontarget = draw(
        hnp.arrays(np.int8, (*shape, n_visits - 1), elements=st.sampled_from(_NONTARGET_CODES))
    )
    if masks:
        lesion_mask = draw(hnp.arrays(bool, (*shape, n_lesions)))
        visit_mask = np.concatenate(
            [np.ones((*shape, 1), bool), draw(hnp.arrays(bool, (*shape, n_visits - 1)))], axis=-1
        )
    else:
        lesion_mask = np.ones((*shape, n_lesions), bool)
        visit_mask = np.ones((*shape, n_visits), bool)
    return VisitArrays(
        sizes=np.concatenate([baseline, follow_up], axis=-2),
        nodal=draw(hnp.arrays(bool, (*shape, n_lesions))),
        day=np.concatenate([zeros, np.cumsum(gaps, axis=-1, dtype=float)], axis=-1),
        lesion_mask=lesion_mask,
        visit_mask=visit_mask,
        new_lesion=np.concatenate([zeros.astype(bool), new_lesion], axis=-1),
        nontarget=np.concatenate([zeros.astype(np.int8), nontarget], axis=-1),
    )
