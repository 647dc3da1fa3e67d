"""Calibration: fit free scenario parameters to published targets by simulated method of
moments with common random numbers.

Each evaluation simulates ``n_sims`` trials with the same seed (so the loss is a smooth,
deterministic function of the parameters), compares every chosen target's simulated mean
with its published value, and scores ``sum(((mean - published) / tolerance) ** 2)``: each
target weighted by its tolerance from ../shared/TARGETS.md. Parameters are searched inside
their bounds (on a log scale when both bounds are positive) by Nelder–Mead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from simtrial.engine import _progress_bar, run
from simtrial.scenario import Scenario, ScenarioError, load_scenario
from simtrial.validation import check_targets

__all__ = ["CalibrationResult", "calibrate"]


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted values and how well the targets are met with them.

    Attributes
    ----------
    values : dict
        Fitted value per dotted key path.
    start : dict
        The scenario's values before fitting.
    loss, start_loss : float
        Weighted squared distance to the targets, after and before.
    evaluations : int
    targets : pandas.DataFrame
        :func:`~simtrial.validation.check_targets` at the fitted values (all of the
        scenario's targets, fitted or not).
    scenario : Scenario
        The scenario with the fitted values.
    fitted_to : list of str
        The targets in the loss.
    """

    values: dict
    start: dict
    loss: float
    start_loss: float
    evaluations: int
    targets: pd.DataFrame
    scenario: Scenario
    fitted_to: list

    def to_toml(self) -> str:
        """The fitted values as TOML lines to paste into a scenario (with their provenance)."""
        fitted = ", ".join(self.fitted_to)
        lines = [f"# calibrated by simtrial calibrate to: {fitted}"]
        for path, value in self.values.items():
            lines.append(f"# {path} = {value:.6g}    (was {self.start[path]:.6g})")
        return "\n".join(lines)


def _bounds(free: Mapping[str, tuple[float, float]]) -> list[tuple[str, float, float, bool]]:
    out = []
    for path, (low, high) in free.items():
        if not low < high:
            raise ValueError(f"bounds of {path}: need low < high, got {low!r}, {high!r}")
        out.append((path, float(low), float(high), low > 0))
    return out


def _to_value(x: float, low: float, high: float, log: bool) -> float:
    share = 1.0 / (1.0 + math.exp(-x))
    if log:
        return math.exp(math.log(low) + share * (math.log(high) - math.log(low)))
    return low + share * (high - low)


def _to_x(value: float, low: float, high: float, log: bool) -> float:
    if log:
        share = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    else:
        share = (value - low) / (high - low)
    share = min(max(share, 1e-6), 1 - 1e-6)
    return math.log(share / (1 - share))


def _current(scenario: Scenario, path: str) -> float:
    """The scenario's value at a dotted key path (lists by position or by name)."""
    node = scenario.value_at(path)
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise ScenarioError(f"{path}: not a number ({node!r}); only numbers can be calibrated")
    return float(node)


def calibrate(
    scenario: Scenario | str | os.PathLike,
    free: Mapping[str, tuple[float, float]],
    *,
    targets: Sequence[str] | None = None,
    n_sims: int = 200,
    seed: int = 2014,
    workers: int = 1,
    max_evaluations: int = 200,
    progress: bool | None = None,
) -> CalibrationResult:
    """Fit ``free`` parameters (dotted key path -> (low, high)) to published targets.

    Parameters
    ----------
    scenario : Scenario or path
        Its ``targets`` give the published values and tolerances.
    free : mapping
        The parameters to fit and their bounds, e.g.
        ``{"toxicity.dlt_rate_per_day": (0.001, 0.02)}``; the search starts at the
        scenario's current values.
    targets : sequence of str, optional
        Target metrics in the loss (default: every target with a tolerance).
    n_sims : int
        Trials per evaluation (the same seed each time: common random numbers).
    seed, workers, progress
        As in :func:`simtrial.run`.
    max_evaluations : int
        Budget of loss evaluations.

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> from simtrial.calibrate import calibrate
    >>> fit = calibrate("scenarios/pitoia2014.toml",
    ...                 {"thyroglobulin.direct_effect": (0.1, 2.0)},
    ...                 targets=["tg_change_4wk.mean"], n_sims=20, max_evaluations=12,
    ...                 progress=False)
    >>> fit.loss <= fit.start_loss
    True
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not free:
        raise ValueError("give at least one free parameter")
    bounds = _bounds(free)
    chosen = (
        list(targets)
        if targets is not None
        else [name for name, target in scenario.targets.items() if target.tolerance is not None]
    )
    unknown = [name for name in chosen if name not in scenario.targets]
    if unknown:
        raise ValueError(f"targets {unknown} are not in the scenario's targets")
    tolerance = {
        name: scenario.targets[name].tolerance or scenario.targets[name].published * 0.1 or 1.0
        for name in chosen
    }
    start = {path: _current(scenario, path) for path, *_ in bounds}
    for path, low, high, _ in bounds:
        if not low <= start[path] <= high:
            raise ValueError(f"{path} = {start[path]:g} is outside its bounds [{low:g}, {high:g}]")

    def values_of(x) -> dict:
        return {
            path: _to_value(float(xi), low, high, log)
            for xi, (path, low, high, log) in zip(x, bounds, strict=True)
        }

    cache: dict[tuple, float] = {}
    bar = _progress_bar(max_evaluations, os.isatty(2) if progress is None else progress)

    def loss(x) -> float:
        key = tuple(np.round(x, 12))
        if key in cache:
            return cache[key]
        candidate = scenario.with_values(values_of(x))
        result = run(candidate, n_sims, seed=seed, workers=workers, progress=False)
        means = result.summary()["mean"]
        total = 0.0
        for name in chosen:
            mean = means.get(name, np.nan)
            distance = (mean - scenario.targets[name].published) / tolerance[name]
            total += distance * distance if np.isfinite(distance) else 1e6
        cache[key] = total
        bar.update(1)
        return total

    x0 = np.array([_to_x(start[path], low, high, log) for path, low, high, log in bounds])
    try:
        start_loss = loss(x0)
        fit = optimize.minimize(
            loss,
            x0,
            method="Nelder-Mead",
            options={
                "maxfev": max_evaluations,
                "xatol": 1e-3,
                "fatol": 1e-3,
                "initial_simplex": x0 + np.vstack([np.zeros(len(x0)), 0.5 * np.eye(len(x0))]),
            },
        )
    finally:
        bar.close()
    values = values_of(fit.x)
    fitted = scenario.with_values(values)
    table = check_targets(run(fitted, n_sims, seed=seed, workers=workers, progress=False))
    return CalibrationResult(
        values=values,
        start=start,
        loss=float(fit.fun),
        start_loss=float(start_loss),
        evaluations=len(cache),
        targets=table,
        scenario=fitted,
        fitted_to=chosen,
    )
