"""Cohort: who is enrolled — metastatic sites, baseline lesions and patient random effects.

Arrays carry a flat leading axis of ``n_reps * n_patients`` rows (replicate-major): row
``rep * n_patients + patient``. :func:`simulate_cohort` is a pure function of the scenario
and the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri

from simtrial.scenario import Scenario
from simtrial.streams import as_rng, for_rows

__all__ = ["Cohort", "simulate_cohort"]


@dataclass(frozen=True)
class Cohort:
    """Baseline state of every simulated patient; rows are (replicate, patient) pairs.

    Attributes
    ----------
    n_reps, n_patients : int
    arm : ndarray of int, shape (patient,)
        Index into ``scenario.arms``.
    on_drug : ndarray of bool, shape (patient,)
    histology : ndarray of int, shape (row,)
        Index into the scenario's histology names.
    size_mm : ndarray, shape (row, lesion)
        True baseline size of each target lesion (non-nodal longest diameter, nodal short
        axis); 0 where ``lesion_mask`` is False.
    lesion_mask, nodal : ndarray of bool, shape (row, lesion)
    site : ndarray of int, shape (row, lesion)
        Index into the scenario's site names (-1 for padding).
    nontarget_volume : ndarray, shape (row,)
        Baseline volume of all non-target disease (sum of diameter cubes, mm^3); 0 if none.
    growth, kill, resistant : ndarray, shape (row, lesion + 1)
        Per lesion (the last column is the non-target burden): volume growth rate (/day),
        kill rate at full exposure (/day), resistant fraction.
    tg_baseline : ndarray, shape (row,)
        Serum Tg at baseline (ng/mL).
    tg_direct_effect : ndarray, shape (row,)
        Log-fold fall of Tg production at full exposure.
    susceptibility : ndarray, shape (row,)
        Multiplier of every drug-related toxicity hazard.
    """

    n_reps: int
    n_patients: int
    arm: np.ndarray
    on_drug: np.ndarray
    histology: np.ndarray
    size_mm: np.ndarray
    lesion_mask: np.ndarray
    nodal: np.ndarray
    site: np.ndarray
    nontarget_volume: np.ndarray
    growth: np.ndarray
    kill: np.ndarray
    resistant: np.ndarray
    tg_baseline: np.ndarray
    tg_direct_effect: np.ndarray
    susceptibility: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.n_reps * self.n_patients

    @property
    def row_arm(self) -> np.ndarray:
        """Arm index per row, shape (row,)."""
        return np.tile(self.arm, self.n_reps)

    @property
    def row_on_drug(self) -> np.ndarray:
        """Whether each row's arm gets the drug, shape (row,)."""
        return np.tile(self.on_drug, self.n_reps)


def _truncated_lognormal(rng, median, log_sd, floor, size) -> np.ndarray:
    """Log-normal draws conditioned on being >= floor (inverse CDF, one uniform each)."""
    median = np.asarray(median, float)
    log_sd = np.asarray(log_sd, float)
    safe_sd = np.where(log_sd > 0, log_sd, 1.0)
    lower = np.where(log_sd > 0, ndtr((np.log(floor) - np.log(median)) / safe_sd), 0.0)
    u = lower + (1.0 - lower) * rng.random(size)
    draws = np.exp(np.log(median) + log_sd * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
    return np.maximum(draws, floor)


def simulate_cohort(scenario: Scenario, n_reps: int, *, rng=None) -> Cohort:
    """Draw ``n_reps`` cohorts of the scenario's patients at baseline.

    Per patient: involved sites (independent, with the scenario's frequencies; at least one,
    and at least one measurable lesion, as trials require measurable disease), measurable
    lesions per site (1 + Poisson), their true sizes (log-normal above the measurability
    threshold), target selection (each organ's largest before any organ's second, at most
    the criteria's targets in all and per organ; lymph nodes one organ), the rest of the
    disease as one non-target burden, and the random effects of growth, drug kill, resistant
    fraction, thyroglobulin and toxicity susceptibility.

    Parameters
    ----------
    scenario : Scenario
    n_reps : int
        Number of replicate cohorts.
    rng : numpy.random.Generator, int, SeedSequence or None

    Returns
    -------
    Cohort

    Examples
    --------
    >>> from simtrial.scenario import load_scenario
    >>> from simtrial.cohort import simulate_cohort
    >>> cohort = simulate_cohort(load_scenario("scenarios/pitoia2014.toml"), 3, rng=1)
    >>> cohort.size_mm.shape[0], bool(cohort.lesion_mask.any(axis=1).all())
    (24, True)
    """
    rng = as_rng(rng)
    if not isinstance(n_reps, int | np.integer) or n_reps < 1:
        raise ValueError(f"`n_reps` must be a positive integer, got {n_reps!r}")
    criteria = scenario.study.recist
    arms = scenario.arms
    arm = np.repeat(np.arange(len(arms)), [a.n for a in arms])
    on_drug = np.array([arms[i].drug for i in arm])
    n_patients = len(arm)
    n = n_reps * n_patients

    sites = list(scenario.cohort.sites.values())
    n_sites = len(sites)
    p_site = np.array([s.probability for s in sites])
    p_measurable = np.array([s.measurable_probability for s in sites])
    is_nodal = np.array([s.nodal for s in sites])

    extra_mean = np.array([s.extra_lesions_mean for s in sites])
    nt_mean = np.array([s.nontarget_lesions_mean for s in sites])
    # few wide draws: every per-patient uniform, count and normal in one call each
    uniform = rng.random((n, 2 * n_sites + 2))
    counts = rng.poisson(np.concatenate([extra_mean, nt_mean]), (n, 2 * n_sites))
    normal = rng.standard_normal((n, 6 + n_sites))
    involved = uniform[:, :n_sites] < p_site
    measurable_site = involved & (uniform[:, n_sites : 2 * n_sites] < p_measurable)
    per_site = criteria.max_targets_per_organ
    n_lesions_site = np.where(involved, 1 + counts[:, :n_sites], 0)
    median = np.array([s.median_size_mm for s in sites])
    log_sd = np.array([s.size_log_sd for s in sites])
    # measurability threshold in simulated size: nodes are simulated by short axis
    node_axis = scenario.tumour.node_long_to_short_axis
    if criteria.nodes_by_short_axis:
        floor = np.where(is_nodal, criteria.node_measurable_mm, criteria.measurable_mm)
    else:
        floor = np.where(is_nodal, criteria.measurable_mm / node_axis, criteria.measurable_mm)

    # up to `per_site` lesions per site are simulated one by one, largest first
    z = rng.standard_normal((n, n_sites, per_site), dtype=np.float32)
    size = np.exp(
        np.log(median).astype(np.float32)[:, None] + log_sd.astype(np.float32)[:, None] * z
    )
    exists = np.arange(per_site) < n_lesions_site[:, :, None]
    measurable = exists & measurable_site[:, :, None] & (size >= floor[:, None])
    # trials enrol patients with measurable disease: those without get one measurable lesion
    lacking = np.flatnonzero(~measurable.any(axis=(1, 2)))
    if lacking.size:
        weight = p_site * p_measurable
        if not weight.any():
            raise ValueError("no metastatic site can carry a measurable lesion")
        chosen = np.searchsorted(
            np.cumsum(weight) / weight.sum(), for_rows(rng, lacking).random(lacking.size)
        )
        chosen = np.minimum(chosen, n_sites - 1)
        involved[lacking, chosen] = True
        exists[lacking, chosen, 0] = True
        measurable[lacking, chosen, 0] = True
        size[lacking, chosen, 0] = _truncated_lognormal(
            for_rows(rng, lacking), median[chosen], log_sd[chosen], floor[chosen], lacking.size
        )
    measurable_size = np.where(measurable, size, 0.0)
    measurable_size = _sort_descending(measurable_size)  # rank within the site (organ)
    rank = np.broadcast_to(np.arange(per_site), measurable_size.shape)
    key = np.where(measurable_size > 0, rank * 1e6 - measurable_size, np.inf).reshape(n, -1)
    picked = np.argsort(key, axis=1)[:, : criteria.max_targets]
    flat_size = measurable_size.reshape(n, -1)
    size_mm = np.take_along_axis(flat_size, picked, axis=1).astype(float)
    lesion_mask = size_mm > 0
    flat_site = np.repeat(np.arange(n_sites), per_site)
    site = np.where(lesion_mask, flat_site[picked], -1)
    nodal = lesion_mask & is_nodal[np.maximum(site, 0)]

    # non-target disease: every simulated lesion not chosen, lesions beyond `per_site`, and
    # the non-target lesions of each involved site
    existing = np.where(exists, size, np.float32(0.0))
    all_volume = (existing * existing * existing).sum(axis=(1, 2), dtype=float)
    unchosen_volume = np.maximum(all_volume - (size_mm * size_mm * size_mm).sum(axis=1), 0.0)
    n_nontarget = np.where(involved, counts[:, n_sites:], 0)
    n_nontarget += np.maximum(n_lesions_site - per_site, 0)
    nontarget_volume = unchosen_volume + _lognormal_cube_sums(
        normal[:, 6:], n_nontarget, median, log_sd
    )

    histology_names = list(scenario.cohort.histology)
    p_histology = np.array([scenario.cohort.histology[h] for h in histology_names])
    histology = np.minimum(
        np.searchsorted(np.cumsum(p_histology), uniform[:, -2], side="right"),
        len(histology_names) - 1,
    )
    multiplier = np.array(
        [scenario.cohort.histology_growth_multiplier.get(h, 1.0) for h in histology_names]
    )

    tumour = scenario.tumour
    n_lesions = size_mm.shape[1] + 1
    growth_patient = tumour.growth_rate_per_day * np.exp(tumour.growth_log_sd * normal[:, 0])
    growth_patient *= multiplier[histology]
    regressing = uniform[:, -1] < tumour.regressing_fraction
    growth_patient = np.where(regressing, -tumour.regressing_rate_per_day, growth_patient)
    kill_patient = (tumour.kill_rate_per_day * tumour.drug_effect_scale) * np.exp(
        tumour.kill_log_sd * normal[:, 1]
    )
    resistant_logit = logit(tumour.resistant_fraction) + tumour.resistant_logit_sd * (normal[:, 2])
    # lesion-level heterogeneity (targets, then the non-target disease)
    noise = rng.standard_normal((n, 3, n_lesions), dtype=np.float32).transpose(1, 0, 2)
    growth = growth_patient[:, None] * np.exp(tumour.lesion_growth_log_sd * noise[0])
    growth = np.minimum(growth, tumour.max_growth_rate_per_day)
    kill = kill_patient[:, None] * np.exp(tumour.lesion_kill_log_sd * noise[1])
    resistant = expit(resistant_logit[:, None] + tumour.lesion_resistant_logit_sd * noise[2])

    tg = scenario.thyroglobulin
    tg_baseline = tg.baseline_median_ng_ml * np.exp(tg.baseline_log_sd * normal[:, 3])
    tg_direct_effect = tg.direct_effect * np.exp(tg.direct_effect_log_sd * normal[:, 4])
    susceptibility = np.exp(scenario.toxicity.susceptibility_log_sd * normal[:, 5])

    return Cohort(
        n_reps=int(n_reps),
        n_patients=n_patients,
        arm=arm,
        on_drug=on_drug,
        histology=histology,
        size_mm=size_mm,
        lesion_mask=lesion_mask,
        nodal=nodal,
        site=site,
        nontarget_volume=nontarget_volume,
        growth=growth,
        kill=kill,
        resistant=resistant,
        tg_baseline=tg_baseline,
        tg_direct_effect=tg_direct_effect,
        susceptibility=susceptibility,
    )


def _sort_descending(values: np.ndarray) -> np.ndarray:
    """``values`` in decreasing order along the last axis, by odd-even transposition (a
    sorting network of maxima and minima over whole columns): np.sort would sort each short
    row in a call of its own, several times more slowly."""
    columns = [values[..., j] for j in range(values.shape[-1])]
    for step in range(len(columns)):
        for i in range(step % 2, len(columns) - 1, 2):
            high = np.maximum(columns[i], columns[i + 1])
            columns[i + 1] = np.minimum(columns[i], columns[i + 1])
            columns[i] = high
    return np.stack(columns, axis=-1)


def _lognormal_cube_sums(normal, counts, median, log_sd) -> np.ndarray:
    """Sum over sites of ``counts`` lesion volumes (diameter cubed, log-normal diameters).

    The sum of c log-normal volumes is drawn as one log-normal with the same mean and
    variance (Fenton-Wilkinson), one draw per site instead of one per lesion.
    """
    mu = 3 * np.log(median)
    sigma = 3 * log_sd
    mean_one = np.exp(mu + sigma**2 / 2)
    var_one = (np.exp(sigma**2) - 1) * np.exp(2 * mu + sigma**2)
    total_mean = counts * mean_one
    total_var = counts * var_one
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.log1p(np.where(counts > 0, total_var / total_mean**2, 0.0))
        m = np.log(np.where(counts > 0, total_mean, 1.0)) - s2 / 2
    draws = np.exp(m + np.sqrt(s2) * normal)
    return np.where(counts > 0, draws, 0.0).sum(axis=1)
