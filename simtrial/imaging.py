"""Imaging: the scan calendar and what a reader records at each scan.

- **Calendar**: baseline at day 0, then the scenario's first scan and interval, each scan
  jittered uniformly within its visit window; follow-up scans are missed with a fixed
  probability.
- **Target lesions**: the reader measures true size x exp(reader bias + error) (log-normal;
  the bias is per lesion and reader, the error per scan). A lesion below ``disappeared_mm`` is
  read as gone (0 mm); one seen but smaller than ``too_small_mm`` is recorded as that size
  (RECIST 1.1: "too small to measure" = 5 mm); values are rounded to ``rounding_mm``. Under
  RECIST 1.0 nodes are measured by their long axis.
The last two are simulated visit block by visit block in :mod:`simtrial.scans`:

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

from simtrial.scenario import Scenario
from simtrial.streams import as_rng

__all__ = ["reader_bias", "read_targets", "scan_calendar"]


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
    ((2, 7), True)
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


def reader_bias(scenario: Scenario, n_rows: int, n_lesions: int, *, rng=None) -> np.ndarray:
    """The reader's log-scale bias for each lesion, shape (row, lesion), float32.

    A reader who over- or under-calls a lesion does so at every scan (Yoon et al. 2016:
    inter-reader limits wider than intra-reader ones).
    """
    rng = as_rng(rng)
    sd = scenario.imaging.reader_bias_log_sd
    if sd == 0:
        return np.zeros((n_rows, n_lesions), np.float32)
    return np.float32(sd) * rng.standard_normal((n_rows, n_lesions), dtype=np.float32)


def read_targets(
    scenario: Scenario,
    true_mm: np.ndarray,
    nodal: np.ndarray,
    *,
    bias=None,
    noise=None,
    rng=None,
) -> np.ndarray:
    """What the reader records for each target lesion at each scan.

    Parameters
    ----------
    scenario : Scenario
    true_mm : ndarray, shape (row, visit, lesion)
        True sizes (non-nodal longest diameter, nodal short axis).
    nodal : ndarray of bool, shape (row, lesion)
    bias : ndarray, shape (row, lesion), optional
        The reader's log-scale bias (:func:`reader_bias`); drawn here if not given.
    noise : ndarray of float32, shape (row, visit, lesion), optional
        Standard normal draws for the measurement errors; drawn here if not given.
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
    if bias is None:
        bias = reader_bias(scenario, shape[0], shape[2], rng=rng)
    if not scenario.study.recist.nodes_by_short_axis:
        long_axis = np.where(nodal, scenario.tumour.node_long_to_short_axis, 1.0).astype(f32)
        true_mm = true_mm * long_axis[:, None, :]
    if noise is None:
        noise = rng.standard_normal(shape, dtype=f32)
    log_error = f32(imaging.reader_error_log_sd) * noise
    log_error += bias.astype(f32)[:, None, :]
    measured = true_mm * np.exp(log_error)
    gone = (true_mm < f32(imaging.disappeared_mm)) & ~nodal[:, None, :]
    measured = np.maximum(measured, f32(imaging.too_small_mm))
    if imaging.rounding_mm > 0:
        step = f32(imaging.rounding_mm)
        measured = np.round(measured / step) * step
    return np.where(gone, f32(0.0), measured)
