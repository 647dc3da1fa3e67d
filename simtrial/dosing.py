"""Dosing and toxicity: adverse events arriving on drug, and the label's rules turning them
into a dose history.

The model is event-driven: instead of a Bernoulli draw per patient per week, each loop
iteration draws, for every patient still on treatment at once, the time of that patient's
next dose-relevant event by inverting a piecewise-constant hazard, then which event it was:

- a **dose-limiting episode** (hazard ``dlt_rate x multiplier(cycle) x susceptibility x
  (dose / top dose) ** dose_exponent``), attributed to an adverse-event type by its
  ``dlt_share`` and given a grade; the type's rules (or the general ones) say what happens:
  continue, interrupt, reduce, interrupt then reduce (one or two levels), or stop;
- **stopping for an unrelated adverse event** (``background_stop_rate``, any arm).

Hazards are constant within each treatment cycle between events, so each draw is exact; a
patient's clock jumps over an interruption (the drug's hazards are zero while it lasts).
Doses only move down the ladder (no re-escalation); after ``dosing.max_dose_events``
dose-limiting episodes no more are drawn.

Once the dose history is known, the **first onset** of each adverse-event type at any grade
is drawn by inverting its cumulative hazard ``onset_rate x susceptibility x integral of
(multiplier x dose factor)`` + ``placebo_rate x t`` along that history (exact: the integrand
is piecewise constant); a dose-limiting episode of a type is also an onset of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy.special import ndtri

from simtrial._compiled import JIT, kernel_array
from simtrial.scenario import Scenario
from simtrial.streams import as_rng, for_rows

__all__ = ["ACTIONS", "DoseHistory", "LevelIntegrals", "integrate_levels", "simulate_dosing"]

#: Dose-modification actions, by code.
ACTIONS = ("continue", "interrupt", "reduce", "interrupt_reduce", "interrupt_reduce2", "stop")
_ACTION = {name: code for code, name in enumerate(ACTIONS)}
_LEVEL_STEP = np.array([0, 0, 1, 1, 2, 0])
_INTERRUPTS = np.array([False, True, False, True, True, False])
OFF = -1  # level code while the drug is not taken


@dataclass(frozen=True)
class DoseHistory:
    """Dose over time and adverse events, per row (replicate x patient).

    Attributes
    ----------
    change_day, change_level : ndarray, shape (row, change)
        The dose changes at ``change_day`` to ladder level ``change_level`` (0 = top, -1 =
        off). Column 0 is day 0. Unused columns have day +inf.
    ladder_mg : ndarray, shape (level,)
    exposure_by_level : ndarray, shape (level,)
        Exposure at each level relative to the top (0 off drug).
    stop_day : ndarray, shape (row,)
        Day treatment stopped for an adverse event (+inf if it did not).
    stop_related : ndarray of bool, shape (row,)
        The stop was for a drug-related episode (else an unrelated adverse event).
    onset_day : ndarray, shape (row, event)
        First onset of each adverse-event type, any grade (+inf if none).
    episode_day, episode_type, episode_grade, episode_action : ndarray, shape (row, episode)
        Dose-limiting episodes in order (day +inf, type -1 where unused); action codes index
        :data:`ACTIONS`.
    event_names : tuple of str
    """

    change_day: np.ndarray
    change_level: np.ndarray
    ladder_mg: np.ndarray
    exposure_by_level: np.ndarray
    stop_day: np.ndarray
    stop_related: np.ndarray
    onset_day: np.ndarray
    episode_day: np.ndarray
    episode_type: np.ndarray
    episode_grade: np.ndarray
    episode_action: np.ndarray
    event_names: tuple[str, ...]

    def segment_index(self, times: np.ndarray) -> np.ndarray:
        """Per time, the column of the last change at or before it, shape (row, time)."""
        return _segment_index(self.change_day, times)

    def integrate(self, times: np.ndarray, by_level, off_value=0.0) -> np.ndarray:
        """Integral from day 0 to ``times`` of a function of the dose level.

        Parameters
        ----------
        times : ndarray, shape (row, time)
        by_level : array_like, shape (level,) or (function, level)
            The integrand at each ladder level; several integrands share one segment search.
        off_value : float or array_like, shape (function,)
            The integrand while off drug.

        Returns
        -------
        ndarray, shape (row, time), or (function, row, time) for 2-D ``by_level``
        """
        return integrate_levels(self.change_day, self.change_level, times, by_level, off_value)

    def level_at(self, times: np.ndarray) -> np.ndarray:
        """Ladder level (-1 off) in force at ``times``, shape (row, time)."""
        return np.take_along_axis(self.change_level, self.segment_index(times), axis=1)

    def dose_at(self, times: np.ndarray) -> np.ndarray:
        """Daily dose (mg) in force at ``times``, shape (row, time)."""
        table = np.append(self.ladder_mg, 0.0)
        return table[self.level_at(times)]


def _segment_index(change_day, times, rows=None, start=None) -> np.ndarray:
    """Per time, the column of the last change at or before it, shape (row, time); see
    :meth:`LevelIntegrals.segment`."""
    change_day = kernel_array(change_day, np.float64)
    times, rows, start = _search_arguments(change_day, times, rows, start)
    index = np.empty(times.shape, np.intp)
    _segment_kernel(change_day, rows, times, start, index)
    return index


def _search_arguments(change_day, times, rows, start) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``times`` (row, time), ``rows`` (which history each row of times is; default all, in
    order) and ``start`` (a change column per row; default 0) as the kernels take them,
    checked: the kernels index without bounds checks."""
    times = kernel_array(times, np.float64)
    if times.ndim != 2:
        raise ValueError(f"`times` must have shape (row, time); got {times.shape}")
    n_histories, width = change_day.shape
    if rows is None:
        if len(times) != n_histories:
            raise ValueError(f"`times` has {len(times)} rows; the histories have {n_histories}")
        rows = np.arange(n_histories)
    rows = kernel_array(rows, np.intp)
    if rows.shape != times.shape[:1]:
        raise ValueError(f"`rows` has shape {rows.shape}; expected ({len(times)},)")
    if rows.size and not (0 <= rows.min() and rows.max() < n_histories):
        raise ValueError(f"`rows` must index the {n_histories} rows of the histories")
    start = np.zeros(len(times), np.intp) if start is None else kernel_array(start, np.intp)
    if start.shape != rows.shape or (start.size and not (0 <= start.min() and start.max() < width)):
        raise ValueError("`start` must be a change column for each row of `times`")
    return times, rows, start


@njit(**JIT)
def _segment_kernel(change_day, rows, times, start, out):
    """Per (row, time), the last change column at or before the time, stepping forward from
    ``start`` (a column at or before every time of the row); a row's changes are in time
    order, unused columns +inf."""
    width = change_day.shape[1]
    for i in range(times.shape[0]):
        r = rows[i]
        for j in range(times.shape[1]):
            column = start[i]
            while column + 1 < width and change_day[r, column + 1] <= times[i, j]:
                if not np.isfinite(change_day[r, column + 1]):
                    break
                column += 1
            out[i, j] = column


@njit(**JIT)
def _integrals_kernel(change_day, change_level, table, rows, times, start, segment, out):
    """Integrals from day 0 of the piecewise-constant functions ``table`` (function, level,
    with the value off drug last) at ``times``: shape (function, row, time). Each time's
    segment is searched from ``start`` (see :func:`_segment_kernel`) into ``segment``; the
    segments before it are summed in order, each as value x length (a row's running sums
    carry over from one time to a later one)."""
    off = table.shape[1] - 1
    _segment_kernel(change_day, rows, times, start, segment)
    # function by function, the running sum in a local (not an array the stores may alias)
    for f in range(table.shape[0]):
        for i in range(times.shape[0]):
            r = rows[i]
            summed = 0  # segments already in ``total``
            total = 0.0
            for j in range(times.shape[1]):
                last = segment[i, j]
                if last < summed:
                    summed = 0
                    total = 0.0
                for column in range(summed, last):
                    level = change_level[r, column]
                    length = change_day[r, column + 1] - change_day[r, column]
                    total += table[f, level if level >= 0 else off] * length
                summed = last
                level = change_level[r, last]
                value = table[f, level if level >= 0 else off]
                elapsed = times[i, j] - change_day[r, last]
                if value == 0.0 and np.isinf(elapsed):  # nothing more accrues, ever
                    elapsed = 0.0
                out[f, i, j] = value * elapsed + total


class LevelIntegrals:
    """Integrals from day 0 of functions of the dose level, for evaluation at many times.

    Parameters
    ----------
    change_day, change_level : ndarray, shape (row, change)
        As in :class:`DoseHistory`.
    by_level : array_like, shape (function, level)
        Each integrand's value at each ladder level.
    off_value : array_like, shape (function,)
        Each integrand's value while off drug.
    """

    def __init__(self, change_day, change_level, by_level, off_value):
        by_level = np.atleast_2d(np.asarray(by_level, float))
        off_value = np.broadcast_to(np.asarray(off_value, float), by_level.shape[:1])
        self.day = kernel_array(change_day, np.float64)
        self.level = kernel_array(change_level, np.intp)
        if self.day.ndim != 2 or self.level.shape != self.day.shape:
            raise ValueError(
                f"`change_day` and `change_level` must be of one shape (row, change); got "
                f"{self.day.shape} and {self.level.shape}"
            )
        n_levels = by_level.shape[1]
        if self.level.size and not (OFF <= self.level.min() and self.level.max() < n_levels):
            raise ValueError(
                f"`change_level` must be a ladder level 0..{n_levels - 1} or {OFF} (off)"
            )
        self.table = np.ascontiguousarray(np.concatenate([by_level, off_value[:, None]], axis=1))

    def segment(
        self, times: np.ndarray, rows: np.ndarray | None = None, *, start: np.ndarray | None = None
    ) -> np.ndarray:
        """Per time (shape (row, time), for ``rows`` if given), the column of the last change
        at or before it.

        ``start``, shape (row,), is a column known to be at or before every time of its row
        (the segment of an earlier time): the search then steps forward from it. Only real
        changes count (unused +inf columns never do), so a time of +inf is in the last one;
        a NaN time is in column ``start``.
        """
        return _segment_index(self.day, times, rows, start)

    def at(
        self,
        times: np.ndarray,
        rows: np.ndarray | None = None,
        *,
        start: np.ndarray | None = None,
        segment: np.ndarray | None = None,
    ) -> np.ndarray:
        """The integrals at ``times`` (shape (row, time), for ``rows`` if given):
        shape (function, row, time).

        ``start`` is as in :meth:`segment`; ``segment``, if given, an integer array of the
        times' shape, receives :meth:`segment` of the times.
        """
        times, rows, start = _search_arguments(self.day, times, rows, start)
        if segment is None:
            segment = np.empty(times.shape, np.intp)
        elif not (
            isinstance(segment, np.ndarray)
            and segment.shape == times.shape
            and segment.dtype == np.intp
            and segment.flags.c_contiguous
            and segment.flags.writeable
        ):
            raise ValueError(
                "`segment` must be a writable C-ordered intp array of the times' shape"
            )
        out = np.empty((len(self.table), *times.shape))
        _integrals_kernel(self.day, self.level, self.table, rows, times, start, segment, out)
        return out


def integrate_levels(change_day, change_level, times, by_level, off_value=0.0) -> np.ndarray:
    """Integral from day 0 to ``times`` of functions of the dose level, given the change
    points of each row (see :meth:`DoseHistory.integrate`)."""
    several = np.ndim(by_level) == 2
    result = LevelIntegrals(change_day, change_level, by_level, off_value).at(times)
    return result if several else result[0]


def _rule_table(scenario: Scenario, names: list[str], depth: int) -> np.ndarray:
    """Action code by (event type, grade 2/3/4, occurrence), the last action repeating."""
    tox = scenario.toxicity
    table = np.zeros((len(names), 3, depth), np.int8)
    for k, name in enumerate(names):
        rules = tox.events[name].rules or tox.rules
        for g, grade in enumerate(("2", "3", "4")):
            actions = rules.get(grade, tox.rules[grade])
            codes = [_ACTION[a] for a in actions]
            codes += [codes[-1]] * max(depth - len(codes), 0)
            table[k, g] = codes[:depth]
    return table


def simulate_dosing(
    scenario: Scenario,
    *,
    on_drug: np.ndarray,
    start_level: np.ndarray,
    susceptibility: np.ndarray,
    horizon_days: float,
    draw_onsets: bool = True,
    rng=None,
) -> DoseHistory:
    """Simulate adverse events and the resulting dose history of every row.

    Parameters
    ----------
    scenario : Scenario
    on_drug : ndarray of bool, shape (row,)
        False on placebo: no drug, no drug-related toxicity; background events still occur.
    start_level : ndarray of int, shape (row,)
        Ladder index of the starting dose (ignored off drug).
    susceptibility : ndarray, shape (row,)
        Multiplier of the drug-related hazards.
    horizon_days : float
        Nothing is simulated after this day.
    draw_onsets : bool
        Also draw each adverse event's first onset (``onset_day``; else it is left empty).
    rng : numpy.random.Generator, int, SeedSequence or None

    Returns
    -------
    DoseHistory

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.scenario import load_scenario
    >>> from simtrial.dosing import simulate_dosing
    >>> scenario = load_scenario("scenarios/decision.toml")
    >>> history = simulate_dosing(scenario, on_drug=np.array([True, False]),
    ...     start_level=np.array([0, 0]), susceptibility=np.ones(2), horizon_days=365, rng=4)
    >>> history.dose_at(np.array([[0.0], [0.0]])).ravel().tolist()
    [800.0, 0.0]
    """
    rng = as_rng(rng)
    tox, dosing = scenario.toxicity, scenario.dosing
    names = list(tox.events)
    n_events = len(names)
    max_episodes = dosing.max_dose_events
    n = len(on_drug)
    ladder = np.asarray(dosing.ladder_mg_per_day, float)
    n_levels = len(ladder)
    dose_factor = np.append((ladder / ladder[0]) ** tox.dose_exponent, 0.0)  # -1 -> off
    share = np.cumsum([tox.events[k].dlt_share for k in names])
    grade_cdf = np.cumsum(
        [[tox.events[k].grade_probabilities.get(g, 0.0) for g in ("2", "3", "4")] for k in names],
        axis=1,
    )
    rules = _rule_table(scenario, names, max_episodes)
    multipliers = np.asarray(tox.cycle_multipliers, float)
    cycle_start = tox.cycle_days * np.arange(len(multipliers))
    cycle_end = np.append(cycle_start[1:], np.inf)

    on_drug = np.asarray(on_drug, bool)
    level = np.where(on_drug, np.asarray(start_level), OFF).astype(np.int64)
    susceptibility = np.asarray(susceptibility, float)
    t = np.zeros(n)
    on_treatment = np.ones(n, bool)
    episodes = np.zeros(n, np.int64)
    occurrences = np.zeros((n, n_events), np.int64)

    n_changes = 1 + 2 * max_episodes + 1
    change_day = np.full((n, n_changes), np.inf)
    change_level = np.full((n, n_changes), OFF, np.int8)
    change_day[:, 0] = 0.0
    change_level[:, 0] = level
    used = np.ones(n, np.int64)
    stop_day = np.full(n, np.inf)
    stop_related = np.zeros(n, bool)
    episode_day = np.full((n, max_episodes), np.inf)
    episode_type = np.full((n, max_episodes), -1, np.int8)
    episode_grade = np.zeros((n, max_episodes), np.int8)
    episode_action = np.zeros((n, max_episodes), np.int8)

    def append_change(rows, day, new_level):
        change_day[rows, used[rows]] = day
        change_level[rows, used[rows]] = new_level
        used[rows] += 1

    background_stop = tox.background_stop_rate_per_day
    live = np.flatnonzero(on_drug | (background_stop > 0))
    for _ in range(max_episodes + 2):
        # hazards per cycle of the rows still at risk: dose-limiting episode + unrelated stop
        dlt = susceptibility[live] * dose_factor[level[live]] * tox.dlt_rate_per_day
        dlt = np.where(episodes[live] < max_episodes, dlt, 0.0)
        rate = dlt[:, None] * multipliers + background_stop
        # one draw per row and iteration: the event's time (inverse CDF), whether it is a
        # dose-limiting episode, its type, grade, a stop regardless, the interruption length
        u = for_rows(rng, live).random((live.size, 6))
        tau, piece = _next_event(-np.log1p(-u[:, 0]), rate, t[live], cycle_start, cycle_end)
        happens = tau < horizon_days
        live, tau, piece, dlt, u = (
            live[happens],
            tau[happens],
            piece[happens],
            dlt[happens],
            u[happens],
        )
        if live.size == 0:
            break
        t[live] = tau
        is_dlt = u[:, 1] * (dlt * multipliers[piece] + background_stop) < (dlt * multipliers[piece])
        _stop(live[~is_dlt], tau[~is_dlt], on_treatment, stop_day, level, append_change)
        rows, when, draws = live[is_dlt], tau[is_dlt], u[is_dlt, 2:]
        kind = np.searchsorted(share / share[-1], draws[:, 0], "right")
        kind = np.minimum(kind, n_events - 1)
        u = draws[:, 1:2] * grade_cdf[kind, -1:]
        grade = np.minimum((grade_cdf[kind] <= u).sum(axis=1), 2)
        occurrence = np.minimum(occurrences[rows, kind], max_episodes - 1)
        action = rules[kind, grade, occurrence].astype(np.int64)
        action[draws[:, 2] < tox.stop_probability] = _ACTION["stop"]
        action[level[rows] + _LEVEL_STEP[action] >= n_levels] = _ACTION["stop"]
        occurrences[rows, kind] += 1
        slot = episodes[rows]
        episode_day[rows, slot] = when
        episode_type[rows, slot] = kind
        episode_grade[rows, slot] = grade + 2
        episode_action[rows, slot] = action
        episodes[rows] += 1

        stops = action == _ACTION["stop"]
        _stop(rows[stops], when[stops], on_treatment, stop_day, level, append_change)
        stop_related[rows[stops]] = True
        changes = ~stops & (action != _ACTION["continue"])
        rows, when, action = rows[changes], when[changes], action[changes]
        new_level = level[rows] + _LEVEL_STEP[action]
        pause = _INTERRUPTS[action]
        duration = tox.interruption_median_days * np.exp(
            tox.interruption_log_sd * ndtri(draws[changes, 3])
        )
        append_change(rows[pause], when[pause], OFF)
        resume = np.where(pause, when + duration, when)
        append_change(rows, resume, new_level)
        level[rows] = new_level
        t[rows] = resume
        live = live[on_treatment[live]]

    last = int(used.max())
    kept = max(int(episodes.max()), 1)
    episode_day, episode_type = episode_day[:, :kept], episode_type[:, :kept]
    episode_grade, episode_action = episode_grade[:, :kept], episode_action[:, :kept]
    history = DoseHistory(
        change_day=change_day[:, :last],
        change_level=change_level[:, :last],
        ladder_mg=ladder,
        exposure_by_level=(ladder / ladder[0]) ** dosing.exposure_exponent,
        stop_day=stop_day,
        stop_related=stop_related,
        onset_day=np.empty((n, 0)),
        episode_day=episode_day,
        episode_type=episode_type,
        episode_grade=episode_grade,
        episode_action=episode_action,
        event_names=tuple(names),
    )
    if not draw_onsets:
        return history
    onset_day = _draw_onsets(rng, history, scenario, susceptibility, dose_factor, horizon_days)
    return replace(history, onset_day=onset_day)


def _next_event(target, rate, now, cycle_start, cycle_end) -> tuple[np.ndarray, np.ndarray]:
    """Time of the next event under hazards constant within each cycle, and its cycle.

    ``target`` is a unit-exponential draw per row; ``rate`` has shape (row, cycle); the last
    cycle lasts for ever. Rows with no event get +inf (and cycle 0).
    """
    tau = np.empty(len(now))
    piece = np.empty(len(now), np.intp)
    _next_event_kernel(
        kernel_array(target, np.float64),
        kernel_array(rate, np.float64),
        kernel_array(now, np.float64),
        kernel_array(cycle_start, np.float64),
        kernel_array(cycle_end, np.float64),
        tau,
        piece,
    )
    return tau, piece


@njit(**JIT)
def _next_event_kernel(target, rate, now, cycle_start, cycle_end, tau, piece):
    """:func:`_next_event` row by row: the hazard mass of the cycles from ``now`` on, summed
    in order until it reaches the target, then inverted within that cycle."""
    for i in range(now.size):
        tau[i] = np.inf
        piece[i] = 0
        total = 0.0
        for c in range(cycle_start.size):
            start = max(cycle_start[c], now[i])
            length = max(cycle_end[c] - start, 0.0)
            before = total
            if rate[i, c] > 0:
                total += rate[i, c] * length
            if total >= target[i]:
                tau[i] = start + (target[i] - before) / rate[i, c]
                piece[i] = c
                break


def _draw_onsets(rng, history, scenario, susceptibility, dose_factor, horizon_days):
    """First onset of each adverse-event type, by inverting its cumulative hazard exactly."""
    tox = scenario.toxicity
    names = history.event_names
    onset_rate = np.array([tox.events[k].onset_rate_per_day for k in names])
    placebo_rate = np.array([tox.events[k].placebo_rate_per_day for k in names])
    n = len(susceptibility)
    kinds = np.flatnonzero((onset_rate > 0) | (placebo_rate > 0))
    onset = np.full((n, len(names)), np.inf)
    target = rng.standard_exponential((n, len(names)))[:, kinds].T.copy()  # (type, row)
    a, b = onset_rate[kinds][:, None], placebo_rate[kinds][:, None]
    # rows never on drug (placebo): a constant hazard, inverted directly
    drug = (history.change_level != OFF).any(axis=1)
    with np.errstate(divide="ignore"):
        onset[np.ix_(~drug, kinds)] = (target[:, ~drug] / b).T
    rows = np.flatnonzero(drug)
    if rows.size:
        onset[np.ix_(rows, kinds)] = _invert_drug_hazard(
            history.change_day[rows],
            history.change_level[rows],
            susceptibility[rows],
            dose_factor,
            np.asarray(tox.cycle_multipliers, float),
            tox.cycle_days,
            target[:, rows],
            a,
            b,
        ).T
    onset[onset >= horizon_days] = np.inf
    # a dose-limiting episode of a type is also its onset
    for column in range(history.episode_day.shape[1]):
        kind = history.episode_type[:, column]
        has = np.flatnonzero(kind >= 0)
        onset[has, kind[has]] = np.minimum(onset[has, kind[has]], history.episode_day[has, column])
    return onset


def _invert_drug_hazard(
    change_day, change_level, susceptibility, dose_factor, multipliers, cycle_days, target, a, b
):
    """Onset days, shape (type, row), for hazards ``a x density(t) + b``, the drug density
    (susceptibility x dose factor x cycle multiplier) piecewise constant between dose
    changes and cycle starts: exact inversion of the cumulative hazard at the ``target``
    unit-exponential draws, shape (type, row). ``dose_factor`` by level, -1 (off) last."""
    out = np.empty(target.shape)
    _invert_drug_hazard_kernel(
        kernel_array(change_day, np.float64),
        kernel_array(change_level, np.intp),
        kernel_array(susceptibility, np.float64),
        kernel_array(dose_factor, np.float64),
        kernel_array(multipliers, np.float64),
        cycle_days * np.arange(len(multipliers), dtype=float),
        kernel_array(target, np.float64),
        kernel_array(a, np.float64).ravel(),
        kernel_array(b, np.float64).ravel(),
        out,
    )
    return out


@njit(**JIT)
def _invert_drug_hazard_kernel(
    change_day,
    change_level,
    susceptibility,
    dose_factor,
    multipliers,
    cycle_start,
    target,
    a,
    b,
    out,
):
    """:func:`_invert_drug_hazard` row by row. The breakpoints are the dose changes and the
    cycle starts merged in time order (a change first on a tie); unused ones sit at a far
    day instead of +inf, so no arithmetic needs masking."""
    far = 1e9
    n_changes, n_cycles = change_day.shape[1], cycle_start.size
    n_points = n_changes + n_cycles - 1
    day = np.empty(n_points)
    density = np.empty(n_points)
    load = np.empty(n_points)  # integral of the drug density up to each breakpoint
    for r in range(change_day.shape[0]):
        change, cycle_point, cycle, level = 0, 1, 0, 0
        for point in range(n_points):
            if n_cycles <= cycle_point or (
                change < n_changes and change_day[r, change] <= cycle_start[cycle_point]
            ):
                day[point] = min(change_day[r, change], far)
                level = change_level[r, change]  # a cycle start keeps the level in force
                change += 1
            else:
                day[point] = min(cycle_start[cycle_point], far)
                cycle_point += 1
            while cycle + 1 < n_cycles and cycle_start[cycle + 1] <= day[point]:
                cycle += 1
            factor = dose_factor[level if level >= 0 else dose_factor.size - 1]
            density[point] = susceptibility[r] * factor * multipliers[cycle]
            load[point] = (
                0.0
                if point == 0
                else load[point - 1] + density[point - 1] * (day[point] - day[point - 1])
            )
        for kind in range(a.size):
            # the crossing piece: the last breakpoint where the cumulative hazard is still
            # below the target
            below = 0
            for point in range(n_points):
                below += a[kind] * load[point] + b[kind] * day[point] < target[kind, r]
            index = max(below - 1, 0)
            start = day[index]
            reached = a[kind] * load[index] + b[kind] * start
            slope = a[kind] * density[index] + b[kind]
            out[kind, r] = start + (target[kind, r] - reached) / slope


def _stop(rows, when, on_treatment, stop_day, level, append_change) -> None:
    """End treatment permanently (drug rows get an 'off' change point)."""
    drug_rows = level[rows] != OFF
    append_change(rows[drug_rows], when[drug_rows], OFF)
    on_treatment[rows] = False
    stop_day[rows] = when
    level[rows] = OFF
