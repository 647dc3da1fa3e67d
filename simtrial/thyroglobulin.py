"""Serum thyroglobulin (Tg): made by tumour cells, cut directly by the drug, cleared in days.

Production is proportional to tumour volume times the patient's production factor and falls
by ``exp(-effect x exposure)`` on drug (the fast, direct fall seen within 4 weeks); serum Tg
relaxes to production with first-order elimination (half-life about 65 h), so after a change
of exposure at day c it is ``P(t) + (P_before - P(t)) exp(-ln 2 (t - c) / half-life)``. The
relaxation is applied to the latest exposure change; tumour volume changes over weeks, far
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
    exposure = np.append(history.exposure_by_level, 0.0)
    index = history._segment_index(days)
    now = exposure[np.take_along_axis(history.change_level, index, axis=1)]
    before = exposure[np.take_along_axis(history.change_level, np.maximum(index - 1, 0), 1)]
    before = np.where(index > 0, before, 0.0)  # no drug before day 0
    since = days - np.take_along_axis(history.change_day, index, axis=1)
    decay = np.exp(-np.log(2) * since * 24.0 / half_life_hours)
    effect = direct_effect[:, None]
    production = np.exp(-effect * now)
    relaxing = (np.exp(-effect * before) - production) * decay
    true_tg = baseline_ng_ml[:, None] * relative_burden * (production + relaxing)
    return true_tg * np.exp(assay_log_sd * rng.standard_normal(days.shape))
