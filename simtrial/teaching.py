"""For teachers: how much of a small series' result is chance.

:func:`chance` answers "one 8-patient series reported 1 PR, 5 SD and 2 PD: how often would
that happen if the same treatment were given to another 8 patients?" from many simulated
cohorts of the scenario's size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simtrial.engine import run
from simtrial.imaging import read_targets
from simtrial.patients import simulate_patients
from simtrial.recist import RESPONSE_NAMES, Response, assess_visits
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import ReplicateStreams, root_seed

__all__ = ["ChanceResult", "ReaderResult", "chance", "readers"]

CATEGORIES = ("CR", "PR", "SD", "PD", "NE")


@dataclass(frozen=True)
class ChanceResult:
    """Distribution of best-response counts over simulated cohorts.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per simulated cohort, one column per category (``CR``, ``PR``, ``SD``,
        ``PD``, ``NE``): how many patients had that best response.
    distribution : pandas.DataFrame
        Index: count (0 .. cohort size); columns: categories; values: the probability that
        a cohort has exactly that count (each column sums to 1).
    published : dict
        The published counts, where the scenario cites them (e.g. ``{"PR": 1, "SD": 5,
        "PD": 2}``).
    p_published : float
        Probability of exactly the published counts together (NaN if none are cited).
    p_at_least_one_responder : float
        Probability of at least one CR or PR.
    se_published : float
        Monte-Carlo standard error of ``p_published``.
    n_patients, n_sims, seed : int
    """

    counts: pd.DataFrame
    distribution: pd.DataFrame
    published: dict
    p_published: float
    se_published: float
    p_at_least_one_responder: float
    n_patients: int
    n_sims: int
    seed: int

    def summary(self) -> str:
        """A few lines to read aloud."""
        lines = [
            f"{self.n_sims} simulated cohorts of {self.n_patients} patients (seed {self.seed})"
        ]
        if self.published:
            shown = ", ".join(f"{k} {v}" for k, v in self.published.items())
            lines.append(
                f"published result ({shown}) exactly: {self.p_published:.1%} of cohorts "
                f"(+/- {self.se_published:.1%} Monte-Carlo s.e.)"
            )
        lines.append(f"at least one response (CR or PR): {self.p_at_least_one_responder:.1%}")
        for category in CATEGORIES:
            column = self.distribution[category]
            if column.index[column > 0].max() == 0:
                continue
            likely = column.idxmax()
            lines.append(
                f"{category}: most often {likely} of {self.n_patients} ({column[likely]:.0%}); "
                f"central 95% of cohorts {self._interval(category)}"
            )
        return "\n".join(lines)

    def _interval(self, category: str) -> str:
        low, high = np.quantile(self.counts[category], [0.025, 0.975])
        return f"{low:.0f} to {high:.0f}"


def chance(
    scenario: Scenario | str | os.PathLike,
    n_sims: int = 2000,
    *,
    seed: int | None = None,
    workers: int = 1,
    progress: bool | None = None,
) -> ChanceResult:
    """Best-response counts over ``n_sims`` simulated cohorts of a one-arm scenario.

    Parameters
    ----------
    scenario : Scenario or path
        A one-arm scenario; its size is the cohort size (Pitoia 2014: 8).
    n_sims : int
    seed, workers, progress
        As in :func:`simtrial.run`.

    Returns
    -------
    ChanceResult

    Examples
    --------
    >>> from simtrial.teaching import chance
    >>> result = chance("scenarios/pitoia2014.toml", n_sims=50, seed=1, progress=False)
    >>> result.published
    {'PR': 1, 'SD': 5, 'PD': 2}
    >>> bool(abs(result.distribution.sum() - 1).max() < 1e-12)
    True
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if len(scenario.arms) != 1:
        raise ValueError(
            f"chance needs a one-arm scenario (a small series); {scenario.study.name} has "
            f"{len(scenario.arms)} arms"
        )
    result = run(scenario, n_sims, seed=seed, workers=workers, progress=progress)
    frame = result.replicates
    counts = pd.DataFrame(
        {c: frame[f"bor_count.{c}"].to_numpy(int) for c in CATEGORIES}, index=frame["rep"]
    )
    # NON_CR_NON_PD (no target disease) is reported with SD, as case series do
    counts["SD"] += frame["bor_count.NON_CR_NON_PD"].to_numpy(int)
    n = scenario.n_patients
    distribution = pd.DataFrame(
        {c: np.bincount(counts[c], minlength=n + 1)[: n + 1] / n_sims for c in CATEGORIES},
        index=pd.RangeIndex(n + 1, name="count"),
    )
    published = {
        c: int(scenario.targets[f"bor_count.{c}"].published)
        for c in CATEGORIES
        if f"bor_count.{c}" in scenario.targets
    }
    if published:
        match = np.all([counts[c].to_numpy() == v for c, v in published.items()], axis=0)
        p_published = float(match.mean())
        se = float(np.sqrt(p_published * (1 - p_published) / n_sims))
    else:
        p_published, se = float("nan"), float("nan")
    responders = (counts["CR"] + counts["PR"]) > 0
    return ChanceResult(
        counts=counts,
        distribution=distribution,
        published=published,
        p_published=p_published,
        se_published=se,
        p_at_least_one_responder=float(responders.mean()),
        n_patients=n,
        n_sims=n_sims,
        seed=result.seed,
    )


@dataclass(frozen=True)
class ReaderResult:
    """The same scans read by several simulated readers.

    Attributes
    ----------
    best : pandas.DataFrame
        Best overall response per patient (rows) and reader (columns ``reader_1`` ...), plus
        ``truth``: RECIST applied to the true sizes as a reader without error records them.
    percent_agreement : float
        Over all pairs of readers and all patients, the share of pairs that give the same
        best response.
    fleiss_kappa : float
        Fleiss' kappa of the readers' best responses.
    false_pd : float
        Among patients whose true tumours never progress by RECIST, the share of readings
        that call PD.
    missed_response : float
        Among patients whose true best response is CR or PR, the share of readings that do
        not find one.
    pd_disagreement : float
        Over held follow-up scans and pairs of readers, the share where one reader has called
        progression by that scan and the other has not.
    lesion_limits_pct : tuple of float
        95% limits of agreement (percent) of one lesion's diameter between two readers on
        the same scan.
    repeat_scan_pd : float
        Share of patients meeting PD by the study's sum rule (RECIST 1.1: +20% and +5 mm;
        1.0: +20%) on two scans of unchanged tumours read by one reader (re-imaging alone).
    published : dict
        The published figures these compare with (../shared/TARGETS.md).
    """

    best: pd.DataFrame
    percent_agreement: float
    fleiss_kappa: float
    false_pd: float
    missed_response: float
    pd_disagreement: float
    lesion_limits_pct: tuple[float, float]
    repeat_scan_pd: float
    published: dict

    def summary(self) -> str:
        low, high = self.lesion_limits_pct
        readers = self.best.shape[1] - 1
        return "\n".join(
            [
                f"{len(self.best)} patients, {readers} readers",
                f"agreement on best response: {self.percent_agreement:.1%} of reader pairs; "
                f"Fleiss' kappa {self.fleiss_kappa:.2f}",
                f"PD called although the true tumour never progressed: {self.false_pd:.1%} "
                "of readings",
                f"a true response (CR/PR) missed: {self.missed_response:.1%} of readings",
                f"readers disagree on progression at a scan: {self.pd_disagreement:.1%} of "
                "reader pairs "
                f"(published: {self.published['pd_disagreement']:.0%}, Erasmus et al. 2003)",
                f"one lesion, two readers, 95% limits of agreement: {low:+.0f}% to {high:+.0f}% "
                f"(published: -22% to +25%, Yoon et al. 2016)",
                f"PD by re-imaging alone: {self.repeat_scan_pd:.1%} of patients (published: "
                f"{self.published['repeat_scan_pd']:.0%}, Oxnard et al. 2011)",
            ]
        )


def _fleiss_kappa(ratings: np.ndarray) -> float:
    """Fleiss' kappa for ratings of shape (subject, rater), categories as integers."""
    n_subjects, n_raters = ratings.shape
    categories = np.unique(ratings)
    counts = (ratings[:, :, None] == categories[None, None, :]).sum(axis=1)
    share = counts.sum(axis=0) / (n_subjects * n_raters)
    per_subject = ((counts * counts).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    observed, expected = per_subject.mean(), float((share * share).sum())
    if expected == 1.0:
        return 1.0
    return float((observed - expected) / (1 - expected))


def readers(
    scenario: Scenario | str | os.PathLike,
    n_readers: int = 5,
    *,
    n_patients: int | None = None,
    seed: int | None = None,
) -> ReaderResult:
    """One simulated cohort's scans read by ``n_readers`` independent simulated readers.

    The tumours, scan days, new lesions and non-target readings are simulated once; each
    reader measures the target lesions with their own bias and errors (the scenario's
    reader model) and classifies by the study's RECIST, scanning until the end of follow-up.

    Parameters
    ----------
    scenario : Scenario or path
    n_readers : int
        At least 2.
    n_patients : int, optional
        Patients to read (default: the scenario's cohort; more give steadier figures).
    seed : int, optional

    Returns
    -------
    ReaderResult

    Examples
    --------
    >>> from simtrial.teaching import readers
    >>> result = readers("scenarios/pitoia2014.toml", n_readers=3, n_patients=40, seed=1)
    >>> list(result.best.columns)
    ['truth', 'reader_1', 'reader_2', 'reader_3']
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(n_readers, int) or n_readers < 2:
        raise ValueError(f"`n_readers` must be an integer >= 2, got {n_readers!r}")
    seed = root_seed(seed)
    arm = scenario.arms[0]
    size = arm.n if n_patients is None else int(n_patients)
    if size < 1:
        raise ValueError(f"`n_patients` must be >= 1, got {n_patients!r}")
    # the first arm's patients, scanned to the end of follow-up (other arms kept minimal)
    resize = {f"arms.{arm.name}.n": size, "study.scan_after_progression": True}
    resize |= {f"arms.{other.name}.n": 1 for other in scenario.arms[1:]}
    if scenario.trial.cutoff == "events":
        resize["trial.cutoff_events"] = 1
    cohort_scenario = scenario.with_values(resize)
    streams = ReplicateStreams(seed, 0, 1, rows_per_replicate=cohort_scenario.n_patients)
    sim = simulate_patients(cohort_scenario, 1, rng=streams, keep_lesions=True)
    rows = np.flatnonzero(sim.cohort.row_arm == 0)
    cohort, study = sim.cohort, cohort_scenario.study
    mask = cohort.lesion_mask[rows]
    nodal = cohort.nodal[rows]
    true_mm = sim.true_mm[rows]

    def classify(measured):
        return assess_visits(
            np.where(mask[:, None, :], measured, 0.0),
            nodal=nodal,
            day=sim.scan_day[rows],
            lesion_mask=mask,
            visit_mask=sim.scan_held[rows],
            new_lesion=sim.new_lesion[rows],
            nontarget=sim.nontarget[rows],
            criteria=study.recist,
            confirm=study.confirm_response,
            confirm_days=study.confirm_days,
            min_sd_days=study.min_sd_days,
        )

    perfect = cohort_scenario.with_values(
        {"imaging.reader_error_log_sd": 0.0, "imaging.reader_bias_log_sd": 0.0}
    )
    truth = classify(read_targets(perfect, true_mm, nodal, rng=0))
    readings, first_pd = [], []
    for k in range(n_readers):
        stream = ReplicateStreams(seed, 0, 1, rows_per_replicate=rows.size, stream=10 + k)
        result = classify(read_targets(cohort_scenario, true_mm, nodal, rng=stream))
        readings.append(result.best)
        first_pd = [*first_pd, np.where(result.pd_visit >= 0, result.pd_visit, np.inf)]
    ratings = np.column_stack(readings)
    progressed = np.column_stack([p < np.inf for p in first_pd])
    # at each held follow-up scan: has the patient progressed by then, in each reader's view
    visit = np.arange(sim.scan_day.shape[1])
    assessed = sim.scan_held[rows] & (visit >= 1)
    by_then = [visit[None, :] >= p[:, None] for p in first_pd]
    best = pd.DataFrame({"truth": RESPONSE_NAMES[truth.best]})
    for k in range(n_readers):
        best[f"reader_{k + 1}"] = RESPONSE_NAMES[ratings[:, k]]
    pairs = [(i, j) for i in range(n_readers) for j in range(i + 1, n_readers)]
    agree = np.mean([(ratings[:, i] == ratings[:, j]).mean() for i, j in pairs])
    pd_disagree = np.mean([(by_then[i] != by_then[j])[assessed].mean() for i, j in pairs])
    never = truth.pd_visit < 0
    false_pd = progressed[never].mean() if never.any() else np.nan
    responders = np.isin(truth.best, (Response.CR, Response.PR))
    found = np.isin(ratings[responders], (Response.CR, Response.PR))
    missed = (~found).mean() if responders.any() else np.nan

    # one lesion, two readers, same scan: the log ratio has sd sqrt(2 (error^2 + bias^2))
    imaging = scenario.imaging
    between = np.sqrt(2.0) * np.hypot(imaging.reader_error_log_sd, imaging.reader_bias_log_sd)
    low, high = 100 * (np.exp(np.array([-1.959964, 1.959964]) * between) - 1)
    # one reader, two scans of unchanged tumours (re-imaging alone)
    baseline = np.where(mask, true_mm[:, 0, :], np.float32(0.0))
    twice = read_targets(
        cohort_scenario,
        np.stack([baseline, baseline], axis=1),
        nodal,
        rng=ReplicateStreams(seed, 0, 1, rows_per_replicate=rows.size, stream=9),
    )
    first = np.where(mask, twice[:, 0, :], 0).sum(axis=1)
    second = np.where(mask, twice[:, 1, :], 0).sum(axis=1)
    criteria = study.recist  # the study's own PD rule (RECIST 1.0 has no 5 mm rule)
    increase = second - first
    repeat_pd = (increase > 0) & (second >= (1 + criteria.pd_increase) * first)
    if criteria.pd_min_increase_mm is not None:
        repeat_pd &= increase >= criteria.pd_min_increase_mm
    repeat_pd = float(repeat_pd.mean())
    return ReaderResult(
        best=best,
        percent_agreement=float(agree),
        fleiss_kappa=_fleiss_kappa(ratings),
        false_pd=float(false_pd),
        missed_response=float(missed),
        pd_disagreement=float(pd_disagree),
        lesion_limits_pct=(float(low), float(high)),
        repeat_scan_pd=repeat_pd,
        published={"pd_disagreement": 0.30, "repeat_scan_pd": 0.03},
    )
