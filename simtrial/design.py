"""Design tools for trial designers: power curves, sample size, and parameter sweeps, by
simulating the full lesion-level model rather than assuming exponential PFS measured
continuously.

**Common random numbers.** A power curve simulates each replicate once, at the largest
design, and analyses every design point on nested subsets of the same patients: the first
``n`` patients of each arm, enrolled at the scenario's accrual rate (so a smaller trial
accrues for a shorter time), with the event target scaled to keep the scenario's ratio of
events to patients (or, for an events curve, all patients and the given event target). The
design points then differ only by design, not by chance, and the curve is smooth and
monotone within Monte-Carlo error. Replicate ``r`` draws from its own streams, so results do
not depend on chunking or workers either.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from simtrial.engine import ProcessBackend, SerialBackend, _progress_bar, run
from simtrial.patients import simulate_patients
from simtrial.scenario import Scenario, ScenarioError, load_scenario
from simtrial.streams import ReplicateStreams, root_seed
from simtrial.trial import DAYS_PER_MONTH, TrialDraws, analyse_two_arms_of, evaluate_trial

__all__ = [
    "PowerCurve",
    "SampleSize",
    "freedman_events",
    "power_curve",
    "sample_size",
    "schoenfeld_events",
    "sweep",
]


@dataclass(frozen=True)
class PowerCurve:
    """Simulated power at each design point.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per design point: ``n_per_arm`` (patients per arm) and ``events`` (PFS
        events at the analysis), ``power``, ``se`` (Monte-Carlo standard error),
        ``ci_low`` / ``ci_high`` (95% Wilson interval), ``hazard_ratio`` (geometric mean of
        the simulated Cox estimates), ``median_pfs_months.<arm>`` (mean over replicates).
    n_sims : int
    seed : int
    alpha : float
    test : str
    """

    frame: pd.DataFrame
    n_sims: int
    seed: int
    alpha: float
    test: str

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


@dataclass(frozen=True)
class SampleSize:
    """Patients per arm (or events) for a target power, with formula comparisons.

    Attributes
    ----------
    target_power : float
    n_per_arm : float
        Interpolated on the simulated curve (NaN if the target is not reached in range).
    se : float
        Its Monte-Carlo standard error (delta method: the power's error over the curve's
        slope).
    events : float
        PFS events at that size.
    hazard_ratio : float
        The simulated hazard ratio the formulas use.
    schoenfeld_events, freedman_events : float
        Events the formulas ask for at that hazard ratio (two-sided ``alpha``).
    schoenfeld_n_per_arm, freedman_n_per_arm : float
        The same in patients per arm, at the simulated ratio of events to patients.
    curve : PowerCurve
    """

    target_power: float
    n_per_arm: float
    se: float
    events: float
    hazard_ratio: float
    schoenfeld_events: float
    freedman_events: float
    schoenfeld_n_per_arm: float
    freedman_n_per_arm: float
    curve: PowerCurve

    def to_frame(self) -> pd.DataFrame:
        rows = [
            ("simulation", self.n_per_arm, self.events),
            ("Schoenfeld", self.schoenfeld_n_per_arm, self.schoenfeld_events),
            ("Freedman", self.freedman_n_per_arm, self.freedman_events),
        ]
        return pd.DataFrame(rows, columns=["method", "n_per_arm", "events"])


def _two_arms(scenario: Scenario) -> tuple[int, int]:
    if len(scenario.arms) != 2 or scenario.control is None:
        raise ValueError("power and sample size need a two-arm scenario with a control arm")
    control = scenario.arms.index(scenario.control)
    return 1 - control, control


def _design_chunk(scenario, seed, first, count, designs, largest, alpha, test) -> list[dict]:
    """One chunk of replicates at the largest design, analysed at every design point."""
    trial = scenario.trial
    event_ratio = (trial.cutoff_events or 0) / scenario.n_patients
    resize = {f"arms.{arm.name}.n": n for arm, n in zip(scenario.arms, largest, strict=True)}
    if trial.cutoff == "events":
        resize["trial.cutoff_events"] = max(1, round(event_ratio * sum(largest)))
    big = scenario.with_values(resize)
    n_big = big.n_patients
    streams = ReplicateStreams(seed, first, count, rows_per_replicate=n_big)
    patients = simulate_patients(big, count, rng=streams, keep_lesions=False)
    trial_streams = ReplicateStreams(seed, first, count, rows_per_replicate=n_big, stream=1)
    draws = TrialDraws.draw(trial_streams, n_big * count)
    rate = scenario.n_patients / trial.accrual_days  # patients per day
    out = []
    for sizes, events in designs:
        keep = np.concatenate([np.arange(sizes[0]), largest[0] + np.arange(sizes[1])])
        subset = patients.select(keep)
        rows = (np.arange(count)[:, None] * n_big + keep[None, :]).ravel()
        n_total = sum(sizes)
        accrual_days = n_total / rate
        target = events if events is not None else max(1, round(event_ratio * n_total))
        cutoff_day = None
        if trial.cutoff == "calendar":
            cutoff_day = trial.cutoff_day - trial.accrual_days + accrual_days
        crossover_rng = ReplicateStreams(seed, first, count, rows_per_replicate=n_total, stream=2)
        resize = {f"arms.{arm.name}.n": n for arm, n in zip(big.arms, sizes, strict=True)}
        if trial.cutoff == "events":
            resize["trial.cutoff_events"] = target
        result = evaluate_trial(
            big.with_values(resize),
            subset,
            draws.rows(rows),
            crossover_rng,
            accrual_days=accrual_days,
            cutoff_events=target,
            cutoff_day=cutoff_day,
        )
        # only the PFS comparison is needed here, not every trial metric
        pfs = analyse_two_arms_of(result, "pfs")
        pvalue = pfs.logrank.pvalue if test == "logrank" else pfs.cox.pvalue
        treatment, control = _two_arms(scenario)
        names = [arm.name for arm in scenario.arms]
        shape = (count, n_total)
        enrolled_events = (result.pfs_event & result.enrolled).reshape(shape).sum(axis=1)
        out.append(
            {
                "n_per_arm": sizes[treatment],
                "events_target": target,
                "significant": (np.asarray(pvalue) < alpha).astype(float),
                "log_hr": np.log(np.asarray(pfs.cox.hazard_ratio)),
                "events": enrolled_events,
                f"median_pfs_months.{names[treatment]}": np.asarray(pfs.km_treatment.median)
                / DAYS_PER_MONTH,
                f"median_pfs_months.{names[control]}": np.asarray(pfs.km_control.median)
                / DAYS_PER_MONTH,
            }
        )
    return out


def power_curve(
    scenario: Scenario | str | os.PathLike,
    *,
    n_per_arm=None,
    events=None,
    n_sims: int = 1000,
    seed: int | None = None,
    alpha: float = 0.05,
    test: str = "logrank",
    chunk_size: int = 25,
    workers: int = 1,
    progress: bool | None = None,
) -> PowerCurve:
    """Simulated power of the PFS comparison at each design point.

    Parameters
    ----------
    scenario : Scenario or path
        A two-arm scenario (its arms are resized to each design point).
    n_per_arm : sequence of int, optional
        Patients per arm (the event target scales with them).
    events : sequence of int, optional
        PFS events at the analysis, at the scenario's size (event-driven cut-off).
    n_sims : int
        Replicate trials per design point (the same ones: common random numbers).
    seed : int, optional
    alpha : float
        Two-sided significance level.
    test : {"logrank", "cox"}
        Log-rank test, or the Cox model's Wald test.
    chunk_size, workers, progress
        As in :func:`simtrial.run`.

    Returns
    -------
    PowerCurve

    Examples
    --------
    >>> from simtrial.design import power_curve
    >>> curve = power_curve("scenarios/decision.toml", n_per_arm=[60, 120], n_sims=20,
    ...                     seed=1, progress=False)
    >>> list(curve.frame["n_per_arm"]), bool((curve.frame["power"].diff().dropna() >= 0).all())
    ([60, 120], True)
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    _two_arms(scenario)
    if (n_per_arm is None) == (events is None):
        raise ValueError("give exactly one of `n_per_arm` and `events`")
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    if test not in ("logrank", "cox"):
        raise ValueError(f"`test` must be 'logrank' or 'cox', got {test!r}")
    if not isinstance(n_sims, int | np.integer) or n_sims < 2:
        raise ValueError(f"`n_sims` must be an integer >= 2, got {n_sims!r}")
    if n_per_arm is not None:
        sizes = sorted({int(n) for n in n_per_arm})
        if sizes[0] < 2:
            raise ValueError(f"`n_per_arm` values must be >= 2, got {sizes[0]}")
        designs = [((n, n), None) for n in sizes]
        largest = (sizes[-1], sizes[-1])
    else:
        counts = sorted({int(e) for e in events})
        if scenario.trial.cutoff != "events":
            raise ValueError("an events curve needs an event-driven scenario (cutoff = 'events')")
        if counts[0] < 1 or counts[-1] > scenario.n_patients:
            raise ValueError(
                f"`events` must lie in [1, {scenario.n_patients}] (the scenario's patients), "
                f"got {counts[0]}..{counts[-1]}"
            )
        largest = tuple(arm.n for arm in scenario.arms)
        designs = [(largest, e) for e in counts]
    seed = root_seed(seed)
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be an integer >= 1, got {chunk_size!r}")
    backend = SerialBackend() if workers == 1 else ProcessBackend(workers)
    tasks = [
        (scenario, int(seed), first, min(chunk_size, n_sims - first), designs, largest, alpha, test)
        for first in range(0, n_sims, chunk_size)
    ]
    bar = _progress_bar(n_sims, os.isatty(2) if progress is None else progress)
    parts: list[list[dict]] = []
    try:
        for part in backend.map(_design_chunk_indexed, enumerate(tasks)):
            parts.append(part)
            bar.update(part[1][0]["significant"].size)
    finally:
        bar.close()
    parts.sort(key=lambda p: p[0])
    rows = []
    treatment, _ = _two_arms(scenario)
    for d, (size, _) in enumerate(designs):
        collected = {
            key: np.concatenate([p[1][d][key] for p in parts])
            for key in parts[0][1][d]
            if isinstance(parts[0][1][d][key], np.ndarray)
        }
        significant = collected.pop("significant")
        power = float(significant.mean())
        low, high = _wilson(power, n_sims)
        row = {
            "n_per_arm": size[treatment],
            "events": float(np.mean(collected.pop("events"))),
            "power": power,
            "se": math.sqrt(power * (1 - power) / n_sims),
            "ci_low": low,
            "ci_high": high,
            "hazard_ratio": float(np.exp(np.nanmean(collected.pop("log_hr")))),
        }
        row.update({key: float(np.nanmean(value)) for key, value in collected.items()})
        rows.append(row)
    return PowerCurve(pd.DataFrame(rows), n_sims, int(seed), alpha, test)


def _design_chunk_indexed(index, task):
    return index, _design_chunk(*task)


def _wilson(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exact arithmetic puts p = 0 or 1 on the bound; floating point may not
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def sample_size(
    scenario: Scenario | str | os.PathLike,
    *,
    target_power: float = 0.9,
    alpha: float = 0.05,
    n_per_arm=None,
    n_sims: int = 1000,
    seed: int | None = None,
    workers: int = 1,
    progress: bool | None = None,
) -> SampleSize:
    """Patients per arm for a target power: interpolated on a simulated power curve.

    The curve (common random numbers, :func:`power_curve`) is simulated on ``n_per_arm``
    (default: 8 sizes from a quarter of the scenario's arm size to twice it); the answer is
    linear interpolation between the two design points that bracket the target, with its
    Monte-Carlo standard error. Schoenfeld's and Freedman's formulas, at the hazard ratio the
    simulation produced and the simulated ratio of events to patients, are given beside it:
    they assume proportional hazards and continuously observed PFS, which a scan every 8
    weeks and a heterogeneous response are not.

    Examples
    --------
    >>> from simtrial.design import sample_size
    >>> answer = sample_size("scenarios/decision.toml", target_power=0.8, n_per_arm=[40, 80, 160],
    ...                      n_sims=20, seed=3, progress=False)
    >>> answer.to_frame()["method"].tolist()
    ['simulation', 'Schoenfeld', 'Freedman']
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not 0 < target_power < 1:
        raise ValueError(f"`target_power` must be in (0, 1), got {target_power!r}")
    if n_per_arm is None:
        base = max(arm.n for arm in scenario.arms)
        n_per_arm = np.unique(np.round(np.geomspace(base / 4, 2 * base, 8)).astype(int))
    curve = power_curve(
        scenario,
        n_per_arm=n_per_arm,
        n_sims=n_sims,
        seed=seed,
        alpha=alpha,
        workers=workers,
        progress=progress,
    )
    frame = curve.frame
    power = np.maximum.accumulate(frame["power"].to_numpy())  # monotone envelope of the CRN curve
    sizes = frame["n_per_arm"].to_numpy(float)
    above = np.flatnonzero(power >= target_power)
    n_star, se, events = np.nan, np.nan, np.nan
    if above.size and above[0] > 0:
        j = above[0]
        slope = (power[j] - power[j - 1]) / (sizes[j] - sizes[j - 1])
        n_star = sizes[j - 1] + (target_power - power[j - 1]) / slope
        se = math.sqrt(target_power * (1 - target_power) / n_sims) / slope
        fraction = frame["events"].to_numpy() / (2 * sizes)
        events = float(np.interp(n_star, sizes, fraction) * 2 * n_star)
    elif above.size:
        n_star = sizes[0]  # already powered at the smallest size
        events = float(frame["events"].iloc[0])
    hazard_ratio = float(np.exp(np.mean(np.log(frame["hazard_ratio"]))))
    schoenfeld = schoenfeld_events(hazard_ratio, alpha=alpha, power=target_power)
    freedman = freedman_events(hazard_ratio, alpha=alpha, power=target_power)
    event_fraction = float(np.mean(frame["events"] / (2 * frame["n_per_arm"])))
    return SampleSize(
        target_power=target_power,
        n_per_arm=float(n_star),
        se=float(se),
        events=events,
        hazard_ratio=hazard_ratio,
        schoenfeld_events=schoenfeld,
        freedman_events=freedman,
        schoenfeld_n_per_arm=schoenfeld / (2 * event_fraction),
        freedman_n_per_arm=freedman / (2 * event_fraction),
        curve=curve,
    )


def schoenfeld_events(hazard_ratio: float, *, alpha: float = 0.05, power: float = 0.9) -> float:
    """Events for a two-sided log-rank test, 1:1 allocation (Schoenfeld, Biometrika 1981).

    ``4 (z_{1-alpha/2} + z_{power})^2 / log(HR)^2``.

    Examples
    --------
    >>> from simtrial.design import schoenfeld_events
    >>> round(schoenfeld_events(0.5, alpha=0.05, power=0.8), 1)
    65.3
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(4 * z * z / math.log(hazard_ratio) ** 2)


def freedman_events(hazard_ratio: float, *, alpha: float = 0.05, power: float = 0.9) -> float:
    """Events for a two-sided log-rank test, 1:1 allocation (Freedman, Stat Med 1982).

    ``(z_{1-alpha/2} + z_{power})^2 (1 + HR)^2 / (1 - HR)^2``.

    Examples
    --------
    >>> from simtrial.design import freedman_events
    >>> round(freedman_events(0.5, alpha=0.05, power=0.8), 1)
    70.6
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * z * ((1 + hazard_ratio) / (1 - hazard_ratio)) ** 2)


def sweep(
    scenario: Scenario | str | os.PathLike,
    parameter: str,
    values,
    *,
    n_sims: int = 500,
    seed: int | None = None,
    workers: int = 1,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Every metric of the trial at each value of one scenario parameter.

    Parameters
    ----------
    scenario : Scenario or path
    parameter : str
        Dotted key path, e.g. ``"imaging.interval_days"``, ``"tumour.drug_effect_scale"``,
        ``"trial.dropout_rate_per_day"``, ``"arms.placebo.n"``.
    values : sequence
        Values to try; each gives a re-validated scenario (a bad one raises
        :class:`~simtrial.scenario.ScenarioError` naming the key and the value).
    n_sims, seed, workers, progress
        As in :func:`simtrial.run`; every value uses the same seed.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per (value, metric) with ``mean``, ``se``, ``q025``, ``q975``, and
        ``power`` rows (``significant_pfs``) among the metrics.

    Examples
    --------
    >>> from simtrial.design import sweep
    >>> table = sweep("scenarios/pitoia2014.toml", "imaging.interval_days", [56, 84],
    ...               n_sims=10, seed=1, progress=False)
    >>> sorted(int(v) for v in table["value"].unique())
    [56, 84]
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    seed = root_seed(seed)
    frames = []
    for value in values:
        try:
            changed = scenario.with_values({parameter: value})
        except ScenarioError as error:
            raise ScenarioError(f"sweep {parameter} = {value!r}: {error}") from None
        summary = run(changed, n_sims, seed=seed, workers=workers, progress=progress).summary()
        summary = summary.drop(columns="published").reset_index()
        summary.insert(0, "value", value)
        summary.insert(0, "parameter", parameter)
        frames.append(summary)
    return pd.concat(frames, ignore_index=True)
