"""The scan stage: lesion dynamics at each scan, what readers record, and RECIST, visit block
by visit block, stopping a patient's scans at progression.

A trial stops assessing a patient by RECIST at progression (DECISION unblinded and offered
crossover at PD; Pitoia withdrew patients at confirmed PD), and nothing after the first PD
changes a patient's PFS or best response. So the scans are simulated in blocks of visits:
each block computes lesion volumes, readings, non-target status, new lesions and the
per-visit RECIST responses of the patients still without PD, carrying forward what the next
block needs (the RECIST nadir, the non-target nadir, the reader's bias, the new-lesion
hazard). Scans after a patient's first PD are marked as not held. With the study option
``scan_after_progression = true`` every scan is simulated.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import expit

from simtrial._compiled import JIT
from simtrial.dosing import LevelIntegrals
from simtrial.imaging import read_targets, reader_bias
from simtrial.recist import RecistState, Response, classify_block, decimal_sizes
from simtrial.streams import for_rows
from simtrial.tumour import burden_weights, diameters, relative_volume, weighted_burden

__all__ = ["BLOCK_VISITS", "ScanResults", "exposure_integrals", "reduce_visits", "scan_group"]

_PD = int(Response.PD)

#: Follow-up visits simulated together before patients with PD are dropped.
BLOCK_VISITS = 4


class ScanResults:
    """Per-visit arrays of every row, filled group by group and block by block."""

    def __init__(self, n: int, n_visits: int, n_lesions: int, *, keep_lesions: bool = True):
        shape = (n, n_visits, n_lesions)
        self.true_mm = np.zeros(shape, np.float32) if keep_lesions else None
        self.measured_mm = np.zeros(shape, np.float32) if keep_lesions else None
        self.new_lesion = np.zeros((n, n_visits), bool)
        self.nontarget = np.zeros((n, n_visits), np.int8)
        self.target = np.zeros((n, n_visits), np.int8)
        self.overall = np.zeros((n, n_visits), np.int8)
        self.target_sum = np.full((n, n_visits), np.nan)
        self.nadir = np.full((n, n_visits), np.nan)
        self.scanned_to = np.zeros(n, np.intp)  # visits before this one were simulated

    @property
    def scanned(self) -> np.ndarray:
        """Which visits were simulated, shape (row, visit) (each row's first ones)."""
        return np.arange(self.nadir.shape[1]) < self.scanned_to[:, None]


def exposure_integrals(scenario, doses, rows) -> LevelIntegrals:
    """Cumulative exposure (function 0) and the new-lesion shielding integral (function 1) of
    the dose histories of ``rows``, set up once for the scans and the Tg draws of a group."""
    tumour = scenario.tumour
    effect = tumour.new_lesion_exposure_effect * tumour.drug_effect_scale
    shielding = np.exp(-effect * doses.exposure_by_level)
    return LevelIntegrals(
        doses.change_day[rows],
        doses.change_level[rows],
        [doses.exposure_by_level, shielding],
        [0.0, 1.0],
    )


def scan_group(scenario, cohort, integrals, rows, k, day, held, out, rng) -> None:
    """Simulate the scans of ``rows`` (patients with at most ``k`` targets) into ``out``.

    ``integrals`` is :func:`exposure_integrals` of ``rows``; ``rng`` draws one leading entry
    per element of ``rows``.
    """
    study, tumour, imaging = scenario.study, scenario.tumour, scenario.imaging
    n_visits = day.shape[1]
    m = rows.size
    columns = [*range(k), -1]  # the k targets (first columns) and the non-target disease
    group_day, group_held = day[rows], held[rows]
    bias = reader_bias(scenario, m, k, rng=rng)
    # per-patient values of the patients still scanned (``active``, indices into ``rows``),
    # compacted after each block as patients leave at PD: each is gathered once per block.
    # Per-lesion values are kept as (lesion, patient) and used through their transpose: the
    # lesion arrays of a block are then laid out patients fastest, so that numpy's inner
    # loops run over patients, not over a handful of lesions or visits (several times
    # faster for the operations that broadcast per-lesion values over visits)
    p = {
        "growth": cohort.growth[rows][:, columns].T.copy(),
        "kill": cohort.kill[rows][:, columns].T.copy(),
        "resistant": cohort.resistant[rows][:, columns].T.copy(),
        "size_mm": cohort.size_mm[rows, :k].T.copy(),
        "nodal": cohort.nodal[rows, :k].T.copy(),
        "lesion_mask": cohort.lesion_mask[rows, :k].T.copy(),
        "nontarget_volume": cohort.nontarget_volume[rows],
        "new_growth": cohort.growth[rows, -1],
        "burden_weight": burden_weights(
            cohort.size_mm[rows, :k],
            cohort.nodal[rows, :k],
            cohort.nontarget_volume[rows],
            tumour.node_normal_mm,
        ).T.copy(),
        "bias": bias.T.copy(),
        "appearance_target": rng.standard_exponential(m),
        "nontarget_nadir": np.full(m, np.inf),
        "hazard": np.zeros(m),
        "last_burden": np.ones(m),
        "last_shielded": np.zeros(m),
        "last_day": np.zeros(m),
        "appearance": np.full(m, np.inf),
        "segment": np.zeros(m, np.intp),  # dose segment at the previous block's last scan
    }
    recist = RecistState.at_baseline(np.zeros(m))  # set from the baseline reading below

    block = n_visits - 1 if study.scan_after_progression else BLOCK_VISITS
    active = np.arange(m)
    start = 0
    while start < n_visits and active.size:
        stop = min(n_visits, start + block + (1 if start == 0 else 0))
        draw = for_rows(rng, active)
        span = slice(start, stop)
        d = group_day[active, span]
        h = group_held[active, span]
        nodal, lesion_mask = p["nodal"].T, p["lesion_mask"].T
        nontarget_volume = p["nontarget_volume"]
        # cumulative exposure, and its shielding integral for new lesions, at the block's scans
        # a patient's dose segment at the block's scans, searched from the previous block's
        known = np.where(reduce_visits(np.minimum, d) >= p["last_day"], p["segment"], 0)
        segment = np.empty(d.shape, np.intp)
        exposure, shielded = integrals.at(d, active, start=known, segment=segment)
        p["segment"] = segment[:, -1]
        volume = relative_volume(
            p["growth"].T,
            p["kill"].T,
            p["resistant"].T,
            _patients_fastest(d),
            _patients_fastest(exposure),
        )
        true_mm = diameters(p["size_mm"].T, nodal, volume[:, :, :k], tumour.node_normal_mm)
        # one draw per block: the reader's errors (targets) and the non-target reading
        normal = draw.standard_normal((active.size, stop - start, k + 1), dtype=np.float32)
        measured = read_targets(
            scenario,
            true_mm,
            nodal,
            bias=p["bias"].T,
            noise=_patients_fastest(normal[:, :, :k]),
            rng=draw,
        )
        measured = np.where(lesion_mask[:, None, :], measured, np.float32(0.0))
        as_read = decimal_sizes(measured)  # what RECIST compares (float32 read as decimals)
        # einsum's order of summation depends on the layout: row-major operands, as always
        relative_burden = weighted_burden(
            np.ascontiguousarray(volume), np.ascontiguousarray(p["burden_weight"].T)
        )

        # non-target disease: read by eye, progression against the smallest reading so far
        noise = np.exp(tumour.nontarget_read_log_sd * normal[:, :, k].astype(float))
        nontarget_now = np.ascontiguousarray(volume[:, :, -1])
        read = np.where(h, nontarget_now * noise, np.inf)
        running = _accumulate(np.minimum, read)
        nadir = p["nontarget_nadir"][:, None]
        nadir_before = np.concatenate([nadir, np.minimum(running[:, :-1], nadir)], axis=1)
        gone = np.cbrt(nontarget_now * nontarget_volume[:, None]) < imaging.disappeared_mm
        code = np.full(read.shape, Response.NON_CR_NON_PD, np.int8)  # by increasing precedence
        code[gone] = Response.CR
        code[read >= tumour.nontarget_pd_volume_ratio * nadir_before] = Response.PD
        code[~((nontarget_volume[:, None] > 0) & h)] = Response.NA
        if start == 0:
            code[:, 0] = Response.NA  # baseline
        p["nontarget_nadir"] = np.minimum(p["nontarget_nadir"], running[:, -1])

        # new lesions: cumulative hazard between scans, appearance, size-dependent detection
        hazard, appearance = p["hazard"], p["appearance"]
        step_shield = np.diff(
            np.concatenate([p["last_shielded"][:, None], shielded], axis=1),
            axis=1,
        )
        both = np.concatenate([p["last_burden"][:, None], relative_burden], axis=1)
        mean_burden = 0.5 * (both[:, 1:] + both[:, :-1])
        increments = tumour.new_lesion_rate_per_day * mean_burden * step_shield
        cumulative = hazard[:, None] + _accumulate(np.add, increments)
        crossed = (cumulative >= p["appearance_target"][:, None]) & ~np.isfinite(appearance)[
            :, None
        ]
        first = np.argmax(crossed, axis=1)
        found = crossed.any(axis=1)
        if found.any():
            j = first[found]
            low_hazard = np.where(j > 0, cumulative[found, np.maximum(j - 1, 0)], hazard[found])
            high_hazard = cumulative[found, j]
            low_day = np.where(j > 0, d[found, np.maximum(j - 1, 0)], p["last_day"][found])
            fraction = (p["appearance_target"][found] - low_hazard) / np.maximum(
                high_hazard - low_hazard, 1e-300
            )
            appearance[found] = low_day + np.clip(fraction, 0, 1) * (d[found, j] - low_day)
        age = np.maximum(d - appearance[:, None], 0.0)
        size = tumour.new_lesion_initial_mm * np.exp(
            np.minimum(p["new_growth"][:, None] * age / 3.0, 10.0)
        )
        p_detect = expit((size - imaging.new_lesion_detect_mm) / imaging.new_lesion_detect_scale_mm)
        seen = h & (d >= appearance[:, None]) & (draw.random(d.shape) < p_detect)
        seen = _accumulate(np.logical_or, seen)
        p["hazard"] = cumulative[:, -1]
        p["last_burden"], p["last_shielded"] = relative_burden[:, -1], shielded[:, -1]
        p["last_day"] = d[:, -1]

        # RECIST on the block's follow-up visits, from the state the earlier blocks left
        if start == 0:
            baseline = _sum_lesions(np.where(lesion_mask, as_read[:, 0, :], 0))
            recist = RecistState.at_baseline(baseline)
            follow = slice(1, None)
        else:
            follow = slice(None)
        result = classify_block(
            as_read[:, follow],
            lesion_mask=lesion_mask,
            nodal=nodal,
            visit_mask=h[:, follow],
            new_lesion=seen[:, follow],
            nontarget=code[:, follow],
            criteria=study.recist,
            state=recist,
        )

        target_rows = rows[active]
        if out.true_mm is not None:
            out.true_mm[target_rows, span, :k] = np.where(
                lesion_mask[:, None, :], true_mm, np.float32(0.0)
            )
            out.measured_mm[target_rows, span, :k] = measured
        # the block's per-visit results into their rows of ``out``, in one pass
        first_follow = 1 if start == 0 else 0  # baseline has no response
        keep = np.empty(active.size, bool)
        _store_block(
            target_rows,
            start,
            first_follow,
            seen,
            code,
            result.target,
            result.overall,
            result.target_sum,
            result.nadir,
            out.new_lesion,
            out.nontarget,
            out.target,
            out.overall,
            out.target_sum,
            out.nadir,
            keep,
        )
        out.scanned_to[target_rows] = stop
        if start == 0:
            has_targets = lesion_mask.any(axis=1)
            out.target_sum[target_rows, 0] = np.where(has_targets, recist.baseline_sum, np.nan)
            out.nadir[target_rows, 0] = out.target_sum[target_rows, 0]
        recist = result.state
        if not keep.all():
            active = active[keep]
            kept = np.flatnonzero(keep)
            p = {name: np.take(value, kept, axis=-1) for name, value in p.items()}
            recist = recist.rows(keep)
        start = stop


@njit(**JIT)
def _store_block(
    rows,
    start,
    first_follow,
    seen,
    code,
    target,
    overall,
    target_sum,
    nadir,
    out_new_lesion,
    out_nontarget,
    out_target,
    out_overall,
    out_target_sum,
    out_nadir,
    keep,
):
    """Write a block's visits (columns ``start`` onwards of ``out_*``; the RECIST results
    from its visit ``first_follow`` on) into ``rows``; ``keep`` the rows without PD."""
    for i in range(rows.size):
        r = rows[i]
        for v in range(seen.shape[1]):
            out_new_lesion[r, start + v] = seen[i, v]
            out_nontarget[r, start + v] = code[i, v]
        for v in range(target.shape[1]):
            column = start + first_follow + v
            out_target[r, column] = target[i, v]
            out_overall[r, column] = overall[i, v]
            out_target_sum[r, column] = target_sum[i, v]
            out_nadir[r, column] = nadir[i, v]
    for i in range(rows.size):  # a loop of its own: fused with the stores it runs 2x slower
        keep[i] = True
        for v in range(overall.shape[1]):
            if overall[i, v] == _PD:
                keep[i] = False


def reduce_visits(ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(values, axis=-1)`` (minimum, maximum, fmin ...), visit by visit: numpy
    reduces a short last axis one row at a time, several times more slowly."""
    out = values[..., 0].copy()
    for visit in range(1, values.shape[-1]):
        ufunc(out, values[..., visit], out=out)
    return out


def _accumulate(ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc.accumulate(values, axis=-1)``, visit by visit: numpy accumulates along a short
    last axis one row at a time, several times more slowly. Same results to the bit."""
    out = np.empty_like(values)
    if values.shape[-1]:
        out[..., 0] = values[..., 0]
    for visit in range(1, values.shape[-1]):
        ufunc(out[..., visit - 1], values[..., visit], out=out[..., visit])
    return out


def _sum_lesions(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=-1)`` over a float64 lesion axis, added lesion by lesion in order, as
    the RECIST kernels add a target sum (numpy's own sum adds 8 or more terms in pairwise
    lanes, which can differ in the last bit)."""
    if values.shape[-1] == 0:
        return np.zeros(values.shape[:-1])
    total = values[..., 0].copy()
    for j in range(1, values.shape[-1]):
        total += values[..., j]
    return total


def _patients_fastest(values: np.ndarray) -> np.ndarray:
    """The same array, copied so that the leading (patient) axis varies fastest in memory."""
    axes = tuple(range(values.ndim))[::-1]
    return np.ascontiguousarray(values.transpose(axes)).transpose(axes)
