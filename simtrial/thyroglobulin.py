"""Serum thyroglobulin (Tg): made by tumour cells, cut directly by the drug, cleared in days.

Production is proportional to tumour volume times the patient's production factor and falls
by ``exp(-effect x exposure)`` on drug (the fast, direct fall seen within 4 weeks); serum Tg
relaxes to production with first-order elimination (half-life about 65 h), so after a change
of exposure at day c it is ``P(t) + (Tg(c) - P(t)) exp(-ln 2 (t - c) / half-life)``, solved
exactly from one change to the next (a short interruption leaves Tg only part of the way to
its off-drug level). Tumour volume enters at the draw's day: it changes over weeks, far
slower than elimination. Measurements carry log-normal assay noise.
"""

from __future__ import annotations

import numpy as np

from simtrial.dosing import DoseHistory
from simtrial.streams import as_rng

__all__ = ["serum_tg"]


def serum_tg(
    history: DoseHistory,
    days: np.ndarray,
    relative_burden: np.ndarray,
    baseline_ng_ml: np.ndarray,
    direct_effect: np.ndarray,
    *,
    half_life_hours: float,
    assay_log_sd: float,
    rng=None,
) -> np.ndarray:
    """Measured serum Tg at ``days``.

    Parameters
    ----------
    history : DoseHistory
    days : ndarray, shape (row, time)
        Days of the blood draws (day 0 = baseline).
    relative_burden : ndarray, shape (row, time)
        Tumour volume relative to baseline at those days.
    baseline_ng_ml, direct_effect : ndarray, shape (row,)
        True baseline Tg and log-fold fall of production at full exposure.
    half_life_hours, assay_log_sd : float
    rng : numpy.random.Generator, int, SeedSequence or None

    Returns
    -------
    ndarray, shape (row, time)
        Measured Tg (ng/mL).

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.scenario import load_scenario
    >>> from simtrial.dosing import simulate_dosing
    >>> from simtrial.thyroglobulin import serum_tg
    >>> scenario = load_scenario("scenarios/pitoia2014.toml")
    >>> history = simulate_dosing(scenario, on_drug=np.array([True]), start_level=np.array([0]),
    ...     susceptibility=np.array([0.0]), horizon_days=60, rng=0)
    >>> tg = serum_tg(history, np.array([[0.0, 28.0]]), np.ones((1, 2)), np.array([100.0]),
    ...     np.array([np.log(2)]), half_life_hours=65, assay_log_sd=0.0)
    >>> np.round(tg, 1).tolist()   # production halved on full exposure, steady by day 28
    [[100.0, 50.0]]
    """
    rng = as_rng(rng)
    exposure = np.append(history.exposure_by_level, 0.0)  # level -1 (off) -> 0
    rate = np.log(2) * 24.0 / half_life_hours
    effect = direct_effect[:, None]
    day = history.change_day
    production = np.exp(-effect * exposure[history.change_level])  # per dose segment
    # serum Tg over production's steady state off drug, at each change: 1 at day 0 (no drug
    # before), then relaxing towards each segment's production for the segment's length
    at_change = np.ones(day.shape)
    for j in range(1, day.shape[1]):
        finite = np.isfinite(day[:, j])
        length = np.subtract(day[:, j], day[:, j - 1], out=np.zeros(len(day)), where=finite)
        relaxed = production[:, j - 1] + (at_change[:, j - 1] - production[:, j - 1]) * np.exp(
            -rate * length
        )
        at_change[:, j] = np.where(finite, relaxed, at_change[:, j - 1])
    index = history.segment_index(days)
    start = np.take_along_axis(at_change, index, axis=1)
    level = np.take_along_axis(production, index, axis=1)
    since = days - np.take_along_axis(day, index, axis=1)
    ratio = level + (start - level) * np.exp(-rate * since)
    true_tg = baseline_ng_ml[:, None] * relative_burden * ratio
    return true_tg * np.exp(assay_log_sd * rng.standard_normal(days.shape))
