"""Tumour dynamics: each lesion's drug-sensitive and resistant cells under exposure.

Relative volume of a lesion at time t (Stein et al.'s regression-growth model generalised to
a sensitive and a resistant component):

    V(t) / V(0) = (1 - r) exp(g t - k C(t)) + r exp(g t)

with growth rate g, kill rate k at full exposure, resistant fraction r, and C(t) the
cumulative exposure (full-dose days) of the dose history. With piecewise-constant exposure
this is exact — no ODE solver. Diameters follow volume^(1/3); a node shrinks towards its
normal short axis, not to zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["burden", "burden_weights", "diameters", "relative_volume", "weighted_burden"]

#: Exponents are capped so that extreme growth never overflows (a lesion 1e21 times its
#: volume has long since progressed by any rule).
_MAX_LOG_GROWTH = np.float32(48.0)


def relative_volume(growth, kill, resistant, days, cumulative_exposure) -> np.ndarray:
    """Lesion volumes relative to baseline.

    Parameters
    ----------
    growth, kill, resistant : ndarray, shape (row, lesion)
        Volume growth rate (/day), kill rate at full exposure (/day), resistant fraction.
    days, cumulative_exposure : ndarray, shape (row, time)
        Days since baseline and the cumulative exposure up to them (full-dose days).

    Returns
    -------
    ndarray of float32, shape (row, time, lesion)

    Examples
    --------
    >>> import numpy as np
    >>> from simtrial.tumour import relative_volume
    >>> v = relative_volume(np.array([[0.01]]), np.array([[0.03]]), np.array([[0.2]]),
    ...                     np.array([[0.0, 100.0]]), np.array([[0.0, 100.0]]))
    >>> np.round(v[0, :, 0], 3).tolist()   # 0.8 e^(1 - 3) + 0.2 e^1
    [1.0, 0.652]
    """
    f32 = np.float32
    g = growth.astype(f32)[:, None, :]
    k = kill.astype(f32)[:, None, :]
    r = resistant.astype(f32)[:, None, :]
    log_growth = np.minimum(g * days.astype(f32)[:, :, None], _MAX_LOG_GROWTH)
    killed = np.exp(-k * cumulative_exposure.astype(f32)[:, :, None])
    return np.exp(log_growth) * ((1 - r) * killed + r)


def diameters(size_mm, nodal, volume, node_normal_mm: float) -> np.ndarray:
    """True diameters of target lesions from their relative volumes.

    Non-nodal lesions scale with volume^(1/3); a node's excess over its normal short axis
    does, so that a node whose tumour is gone returns to ``node_normal_mm``.

    Parameters
    ----------
    size_mm, nodal : ndarray, shape (row, lesion)
        Baseline size and nodal flag of each target.
    volume : ndarray, shape (row, time, lesion)
        Relative volumes (targets only).
    node_normal_mm : float

    Returns
    -------
    ndarray of float32, shape (row, time, lesion)
    """
    scale = np.cbrt(volume)
    base = size_mm.astype(np.float32)[:, None, :]
    normal = np.where(nodal, np.minimum(node_normal_mm, size_mm), 0.0).astype(np.float32)
    normal = normal[:, None, :]
    return normal + (base - normal) * scale


def burden(size_mm, nodal, nontarget_volume, volume, node_normal_mm: float) -> np.ndarray:
    """Total tumour volume relative to baseline (targets and non-target disease).

    Parameters
    ----------
    size_mm, nodal : ndarray, shape (row, lesion)
    nontarget_volume : ndarray, shape (row,)
        Baseline non-target volume (mm^3, diameter cubed).
    volume : ndarray, shape (row, time, lesion + 1)
        Relative volumes; the last column is the non-target disease.
    node_normal_mm : float

    Returns
    -------
    ndarray of float32, shape (row, time)
    """
    return weighted_burden(volume, burden_weights(size_mm, nodal, nontarget_volume, node_normal_mm))


def burden_weights(size_mm, nodal, nontarget_volume, node_normal_mm: float) -> np.ndarray:
    """Each lesion's share of the baseline tumour volume, for :func:`weighted_burden`.

    Parameters are those of :func:`burden`; the result, float32 of shape (row, lesion + 1),
    has the non-target disease last. A simulation that evaluates the burden at many times
    computes it once.
    """
    tumour_mm = size_mm - np.where(nodal, np.minimum(node_normal_mm, size_mm), 0.0)
    weight = np.concatenate([tumour_mm**3, nontarget_volume[:, None]], axis=1)
    return (weight / weight.sum(axis=1, keepdims=True)).astype(np.float32)


def weighted_burden(volume, weight) -> np.ndarray:
    """Total tumour volume relative to baseline from relative volumes, shape (row, time,
    lesion + 1), and :func:`burden_weights`: shape (row, time)."""
    return np.einsum("rtl,rl->rt", volume, weight)
