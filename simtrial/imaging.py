"""Imaging: the scan calendar and what a reader records at each scan.

- **Calendar**: baseline at day 0, then the scenario's first scan and interval, each scan
  jittered uniformly within its visit window; follow-up scans are missed with a fixed
  probability.
- **Target lesions**: the reader measures true size x exp(reader bias + error) (log-normal;
  the bias is per lesion and reader, the error per scan). A lesion below ``disappeared_mm`` is
  read as gone (0 mm); one seen but smaller than ``too_small_mm`` is recorded as that size
  (RECIST 1.1: "too small to measure" = 5 mm); values are rounded to ``rounding_mm``. Under
  RECIST 1.0 nodes are measured by their long axis.
- **Non-target disease**: read by eye from its volume (log-normal error); unequivocal
  progression when it reaches ``nontarget_pd_volume_ratio`` times its smallest reading so far;
  CR when it is gone.
- **New lesions**: appear with hazard ``new_lesion_rate x relative burden x exp(-effect x
  exposure)`` and grow from ``new_lesion_initial_mm`` at the patient's growth rate; each scan
  detects one with a probability rising with its size (logistic, 1/2 at
  ``new_lesion_detect_mm``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from simtrial.recist import Response
from simtrial.scenario import Scenario
from simtrial.streams import as_rng

__all__ = ["detect_new_lesions", "read_nontarget", "read_targets", "scan_calendar"]


def scan_calendar(scenario: Scenario, n_rows: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Scan days and which scans took place.

    Returns
    -------
    day : ndarray, shape (row, visit)
        Day of each scan; visit 0 is baseline (day 0).
    held : ndarray of bool, shape (row, visit)
        False for missed scans.

    Examples
    --------
    >>> from simtrial.scenario import load_scenario
    >>> from simtrial.imaging import scan_calendar
    >>> day, held = scan_calendar(load_scenario("scenarios/pitoia2014.toml"), 2, rng=0)
    >>> day.shape, bool(held[:, 0].all())
    ((2, 5), True)
    """
    rng = as_rng(rng)
    imaging = scenario.imaging
    horizon = scenario.study.follow_up_days
    n_follow_up = int(np.floor((horizon - imaging.first_scan_day) / imaging.interval_days)) + 1
    planned = imaging.first_scan_day + imaging.interval_days * np.arange(max(n_follow_up, 0))
    jitter = rng.uniform(-imaging.window_days, imaging.window_days, (n_rows, planned.size))
    day = np.concatenate([np.zeros((n_rows, 1)), planned + jitter], axis=1)
    held = np.ones(day.shape, bool)
    held[:, 1:] = rng.random((n_rows, planned.size)) >= imaging.missed_scan_probability
    return day, held


def read_targets(
    scenario: Scenario, true_mm: np.ndarray, nodal: np.ndarray, *, rng=None
) -> np.ndarray:
    """What the reader records for each target lesion at each scan.

    Parameters
    ----------
    scenario : Scenario
    true_mm : ndarray, shape (row, visit, lesion)
        True sizes (non-nodal longest diameter, nodal short axis).
    nodal : ndarray of bool, shape (row, lesion)
    rng : numpy.random.Generator, int, SeedSequence or None

    Returns
    -------
    ndarray of float32, shape (row, visit, lesion)
        Recorded sizes (mm); 0 = gone.
    """
    rng = as_rng(rng)
    imaging = scenario.imaging
    f32 = np.float32
    shape = true_mm.shape
    if not scenario.study.recist.nodes_by_short_axis:
        long_axis = np.where(nodal, scenario.tumour.node_long_to_short_axis, 1.0).astype(f32)
        true_mm = true_mm * long_axis[:, None, :]
    log_error = f32(imaging.reader_error_log_sd) * rng.standard_normal(shape, dtype=f32)
    if imaging.reader_bias_log_sd > 0:
        bias = rng.standard_normal((shape[0], shape[2]), dtype=f32)
        log_error += f32(imaging.reader_bias_log_sd) * bias[:, None, :]
    measured = true_mm * np.exp(log_error)
    gone = (true_mm < f32(imaging.disappeared_mm)) & ~nodal[:, None, :]
    measured = np.maximum(measured, f32(imaging.too_small_mm))
    if imaging.rounding_mm > 0:
        step = f32(imaging.rounding_mm)
        measured = np.round(measured / step) * step
    return np.where(gone, f32(0.0), measured)


def read_nontarget(
    scenario: Scenario,
    volume: np.ndarray,
    baseline_volume: np.ndarray,
    held: np.ndarray,
    *,
    rng=None,
) -> np.ndarray:
    """Non-target response code per scan (:class:`~simtrial.recist.Response`).

    Parameters
    ----------
    volume : ndarray, shape (row, visit)
        Non-target volume relative to baseline.
    baseline_volume : ndarray, shape (row,)
        Baseline non-target volume (mm^3); 0 = no non-target disease (code ``NA``).
    held : ndarray of bool, shape (row, visit)

    Returns
    -------
    ndarray of int8, shape (row, visit)
    """
    rng = as_rng(rng)
    tumour, imaging = scenario.tumour, scenario.imaging
    noise = np.exp(tumour.nontarget_read_log_sd * rng.standard_normal(volume.shape))
    read = np.where(held, volume * noise, np.inf)
    nadir = np.minimum.accumulate(read, axis=1)
    previous_nadir = np.concatenate([read[:, :1], nadir[:, :-1]], axis=1)
    progressed = read >= tumour.nontarget_pd_volume_ratio * previous_nadir
    gone = np.cbrt(volume * baseline_volume[:, None]) < imaging.disappeared_mm
    code = np.select([progressed, gone], [Response.PD, Response.CR], Response.NON_CR_NON_PD).astype(
        np.int8
    )
    code[:, 0] = Response.NA
    return np.where(baseline_volume[:, None] > 0, code, np.int8(Response.NA))


def detect_new_lesions(
    scenario: Scenario,
    day: np.ndarray,
    held: np.ndarray,
    relative_burden: np.ndarray,
    shielded_days: np.ndarray,
    growth: np.ndarray,
    *,
    rng=None,
) -> np.ndarray:
    """Whether a new lesion has been seen by each scan.

    The appearance hazard between two scans is integrated exactly in exposure
    (``shielded_days`` = integral of exp(-effect x exposure)) and with the burden taken as the
    mean of its values at the two scans.

    Parameters
    ----------
    day, held : ndarray, shape (row, visit)
    relative_burden : ndarray, shape (row, visit)
        Tumour volume relative to baseline at each scan.
    shielded_days : ndarray, shape (row, visit)
        Integral from day 0 of exp(-new_lesion_exposure_effect x exposure).
    growth : ndarray, shape (row,)
        Volume growth rate of new lesions (/day).

    Returns
    -------
    ndarray of bool, shape (row, visit)
        True from the first scan that detects a new lesion on.
    """
    rng = as_rng(rng)
    tumour, imaging = scenario.tumour, scenario.imaging
    step = np.diff(shielded_days, axis=1)
    mean_burden = 0.5 * (relative_burden[:, 1:] + relative_burden[:, :-1])
    hazard = np.zeros(day.shape)
    np.cumsum(tumour.new_lesion_rate_per_day * mean_burden * step, axis=1, out=hazard[:, 1:])
    target = rng.standard_exponential(day.shape[0])
    after = (hazard < target[:, None]).sum(axis=1)  # first scan at or after appearance
    appeared = after < day.shape[1]
    rows = np.arange(day.shape[0])
    k = np.minimum(after, day.shape[1] - 1)
    low, high = hazard[rows, k - 1], hazard[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(high > low, (target - low) / (high - low), 1.0)
    appearance = np.where(
        appeared, day[rows, k - 1] + fraction * (day[rows, k] - day[rows, k - 1]), np.inf
    )

    age = np.maximum(day - appearance[:, None], 0.0)
    log_size = np.minimum(growth[:, None] * age / 3.0, 10.0)
    size = tumour.new_lesion_initial_mm * np.exp(log_size)
    p_detect = expit((size - imaging.new_lesion_detect_mm) / imaging.new_lesion_detect_scale_mm)
    seen = held & (day >= appearance[:, None]) & (rng.random(day.shape) < p_detect)
    return np.logical_or.accumulate(seen, axis=1)
