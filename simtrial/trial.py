"""The trial around the patients: accrual, drop-out, death, crossover, data cut-off,
endpoints per patient and metrics per replicate.

Calendar time starts with accrual (day 0 = first possible enrolment); a patient's own time
starts at randomisation (day 0 = baseline scan). Per replicate:

1. the patients are simulated (:func:`simtrial.patients.simulate_patients`) over the
   study's full follow-up;
2. enrolment days, drop-out and death are drawn (death has one hazard before progression and
   another after it; on crossover drug the latter is multiplied by a hazard ratio);
3. the cut-off is a calendar day, or the calendar day of the ``cutoff_events``-th PFS event
   (progression at a scan, or death), so an event-driven analysis has exactly that many;
4. everything after the cut-off, a drop-out or a death is unseen: PFS is censored at the last
   evaluable scan before it, best response is recomputed from the scans seen, treatment ends
   by then at the latest;
5. control patients who progress may cross over to open-label drug; it changes dosing and
   survival after progression, never PFS (it draws from a stream of its own).

Metrics per replicate use :mod:`simtrial.survival` (Kaplan-Meier medians, Cox hazard ratio,
log-rank test) and proportions among the enrolled patients of each arm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from simtrial.dosing import simulate_dosing
from simtrial.patients import PatientSimulation, simulate_patients
from simtrial.recist import RESPONSE_NAMES, Response, best_overall_response
from simtrial.scans import reduce_visits
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import ReplicateStreams, for_rows
from simtrial.survival import analyse_two_arms, kaplan_meier

__all__ = [
    "ALPHA",
    "DAYS_PER_MONTH",
    "TrialDraws",
    "TrialSimulation",
    "analyse_two_arms_of",
    "evaluate_trial",
    "replicate_metrics",
    "simulate_trial",
]

#: Days per month for reporting medians in months (365.25 / 12).
DAYS_PER_MONTH = 30.4375
#: Two-sided significance level behind ``significant_pfs`` (so the power estimate).
ALPHA = 0.05
_RESPONDER = (Response.CR, Response.PR)
_STABLE = (Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD)
_BOR_NAMES = ("CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE")
#: Day of the blood draw behind ``tg_change_4wk``.
TG_CHANGE_DAY = 28.0


@dataclass(frozen=True)
class TrialSimulation:
    """Simulated trials: per-patient endpoints and per-replicate metrics.

    Attributes
    ----------
    patients : PatientSimulation
        The untruncated patient simulation.
    enrol_day : ndarray, shape (row,)
        Calendar day of randomisation.
    cutoff_day : ndarray, shape (rep,)
        Calendar day of the data cut-off.
    enrolled : ndarray of bool, shape (row,)
        Randomised by the cut-off.
    follow_up_days : ndarray, shape (row,)
        Days followed for response and PFS (to cut-off or drop-out).
    observed_days : ndarray, shape (row,)
        Days up to which scans and blood draws are seen (follow-up, or death if earlier).
    scan_seen : ndarray of bool, shape (row, visit)
        Scans held by then.
    pfs_days, os_days : ndarray, shape (row,)
    pfs_event, os_event : ndarray of bool, shape (row,)
    best : ndarray of int8, shape (row,)
        Best overall response seen by the cut-off.
    sd_6mo : ndarray of bool, shape (row,)
    crossover : ndarray of bool, shape (row,)
        Control patients who started open-label drug by the cut-off.
    end_of_treatment : ndarray, shape (row,)
    """

    scenario: Scenario
    patients: PatientSimulation
    enrol_day: np.ndarray
    cutoff_day: np.ndarray
    enrolled: np.ndarray
    follow_up_days: np.ndarray
    observed_days: np.ndarray
    scan_seen: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    os_days: np.ndarray
    os_event: np.ndarray
    best: np.ndarray
    sd_6mo: np.ndarray
    crossover: np.ndarray
    end_of_treatment: np.ndarray
    events_reached: np.ndarray

    @property
    def n_reps(self) -> int:
        return self.patients.cohort.n_reps

    def patient_frame(self) -> pd.DataFrame:
        """One row per (replicate, patient), as the trial sees it at the cut-off.

        The engine's columns (see :meth:`PatientSimulation.to_frame`) with what the cut-off,
        a drop-out or a death hides removed: ``bor``, ``pd_day`` (first PD seen),
        ``best_pct_change`` (over the scans seen up to it), ``tg_change_4wk`` (NaN unless the
        4-week draw is seen) and the treatment counts (up to the end of treatment); plus
        ``enrol_day``, ``enrolled``, ``follow_up_days``, ``pfs_days``, ``pfs_event``,
        ``os_days``, ``os_event``, ``sd_6mo``, ``crossover``.
        """
        return pd.DataFrame(self._patient_columns())

    def _patient_columns(self) -> dict[str, np.ndarray]:
        sim, a = self.patients, self.patients.assessment
        table = sim._patient_columns(self.end_of_treatment, self.scan_seen)
        table["bor"] = RESPONSE_NAMES[self.best]
        table["pd_day"] = np.where(a.pd_day <= self.observed_days, a.pd_day, np.nan)
        table["tg_change_4wk"] = np.where(
            self.observed_days >= TG_CHANGE_DAY, table["tg_change_4wk"], np.nan
        )
        table["enrol_day"] = self.enrol_day
        table["enrolled"] = self.enrolled
        table["follow_up_days"] = self.follow_up_days
        table["pfs_days"] = self.pfs_days
        table["pfs_event"] = self.pfs_event
        table["os_days"] = self.os_days
        table["os_event"] = self.os_event
        table["sd_6mo"] = self.sd_6mo
        table["crossover"] = self.crossover
        return table

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per replicate, one column per metric (see :func:`simulate_trial`)."""
        return replicate_metrics(
            self.scenario, self._patient_columns(), self.cutoff_day, self.events_reached
        )

    def to_frame(self) -> pd.DataFrame:
        """The per-replicate metrics (a copy), with a ``rep`` column."""
        return self.metrics.copy()


def _three_streams(rng, n_reps: int, n_patients: int):
    """Independent streams for the patients, the trial and crossover."""
    if isinstance(rng, ReplicateStreams):
        make = [
            ReplicateStreams(
                rng.root, rng.first, len(rng.generators), rows_per_replicate=n_patients, stream=k
            )
            for k in (1, 2)
        ]
        return rng, make[0], make[1]
    return tuple(np.random.default_rng(rng).spawn(3))


def simulate_trial(
    scenario: Scenario | str, n_reps: int = 1, *, rng=None, keep_lesions: bool = False
) -> TrialSimulation:
    """Simulate ``n_reps`` trials of the scenario, cut-off and endpoints included.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the path of a scenario file; its ``[trial]`` section sets accrual,
        cut-off, drop-out, death and crossover.
    n_reps : int
    rng : ReplicateStreams, numpy.random.Generator, int, SeedSequence or None
        With :class:`~simtrial.streams.ReplicateStreams` (stream 0), replicate ``r`` draws
        the same numbers whatever else is simulated with it.
    keep_lesions : bool
        Keep every lesion's size at every scan (see :func:`simulate_patients`).

    Returns
    -------
    TrialSimulation
        ``.metrics`` has, per replicate: ``cutoff_months``, ``median_follow_up_months``,
        ``events_reached``; per arm (suffix ``.<arm>`` when there are two arms)
        ``n_enrolled``, ``pfs_events``, ``median_pfs_months``, ``median_os_months``,
        ``orr``, ``dcr``, ``sd_6mo``, ``bor_count.<response>``, ``dose_interruption``,
        ``dose_reduction``, ``ae_discontinuation``, ``mean_daily_dose_mg``,
        ``<event>_any``, ``<event>_grade3``, ``tg_change_4wk.mean`` / ``.sd``,
        ``tg_fell_4wk.all``, ``crossover``; with two arms also ``hazard_ratio_pfs`` (with
        ``_ci_low`` / ``_ci_high``), ``logrank_pvalue_pfs``, ``hazard_ratio_os``,
        ``logrank_pvalue_os``.

    Examples
    --------
    >>> from simtrial.trial import simulate_trial
    >>> trials = simulate_trial("scenarios/decision.toml", n_reps=2, rng=1)
    >>> trials.metrics["pfs_events.sorafenib"].add(trials.metrics["pfs_events.placebo"]).tolist()
    [267, 267]
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    patients_rng, trial_rng, crossover_rng = _three_streams(rng, n_reps, scenario.n_patients)
    sim = simulate_patients(scenario, n_reps, rng=patients_rng, keep_lesions=keep_lesions)
    draws = TrialDraws.draw(trial_rng, sim.cohort.n_rows)
    trial = scenario.trial
    return evaluate_trial(
        scenario,
        sim,
        draws,
        crossover_rng,
        accrual_days=trial.accrual_days,
        cutoff_events=trial.cutoff_events,
    )


@dataclass(frozen=True)
class TrialDraws:
    """The trial's own random numbers, one per patient row (unit-free, so that a design with
    fewer patients or another accrual period reuses them: common random numbers)."""

    accrual: np.ndarray  # uniform: position in a uniform accrual period
    gap: np.ndarray  # unit exponential: gap before a Poisson arrival
    order: np.ndarray  # uniform: keys ordering the Poisson arrivals among patients
    dropout: np.ndarray  # unit exponential
    death: np.ndarray  # unit exponential
    progression: np.ndarray  # unit exponential, for the exponential PFS model

    @classmethod
    def draw(cls, rng, n: int) -> TrialDraws:
        uniforms, exponentials = rng.random((n, 2)), rng.standard_exponential((n, 4))
        return cls(uniforms[:, 0], exponentials[:, 0], uniforms[:, 1], *exponentials[:, 1:].T)

    def rows(self, rows: np.ndarray) -> TrialDraws:
        return TrialDraws(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))


def evaluate_trial(
    scenario: Scenario,
    sim: PatientSimulation,
    draws: TrialDraws,
    crossover_rng,
    *,
    accrual_days: float,
    cutoff_events: int | None,
    cutoff_day: float | None = None,
) -> TrialSimulation:
    """Run the trial on simulated patients: enrolment, cut-off, endpoints, crossover.

    The step of :func:`simulate_trial` after the patients and the trial's random numbers
    are drawn; design tools call it on subsets of the same patients with their own accrual
    period and event target (``crossover_rng`` must draw per row of ``sim``).
    """
    trial, study = scenario.trial, scenario.study
    cohort, a = sim.cohort, sim.assessment
    n_reps, n_patients, n = cohort.n_reps, cohort.n_patients, cohort.n_rows
    horizon = study.follow_up_days

    # calendar: enrolment; patient time: drop-out, and death before progression
    if trial.accrual == "uniform":
        enrol = draws.accrual * accrual_days
    else:
        gaps = draws.gap * (accrual_days / n_patients)
        arrivals = np.cumsum(gaps.reshape(n_reps, n_patients), axis=1)
        order = np.argsort(draws.order.reshape(n_reps, n_patients), axis=1)
        enrol = np.take_along_axis(arrivals, order, axis=1).ravel()
    dropout = _exponential(draws.dropout, trial.dropout_rate_per_day)
    if trial.pfs_model == "exponential":
        medians = np.array([trial.exponential_median_months[arm.name] for arm in scenario.arms])
        progression = draws.progression * (medians * DAYS_PER_MONTH / np.log(2))[cohort.row_arm]
    else:
        progression = np.where(np.isnan(a.pd_day), np.inf, a.pd_day)
    death_before = _exponential(draws.death, trial.death_rate_per_day)
    dies_first = death_before < progression
    first_event = np.where(dies_first, death_before, progression)
    seen = (first_event <= dropout) & (first_event <= horizon)

    # cut-off
    if trial.cutoff == "calendar":
        day = trial.cutoff_day if cutoff_day is None else cutoff_day
        cutoff = np.full(n_reps, float(day))
        reached = np.ones(n_reps, bool)
    else:
        calendar_event = np.where(seen, enrol + first_event, np.inf).reshape(n_reps, n_patients)
        k = min(int(cutoff_events), n_patients) - 1
        kth = np.partition(calendar_event, k, axis=1)[:, k]
        reached = np.isfinite(kth)
        end_of_study = enrol.reshape(n_reps, n_patients).max(axis=1) + horizon
        cutoff = np.where(reached, kth, end_of_study)
    cutoff_row = np.repeat(cutoff, n_patients)
    enrolled = enrol <= cutoff_row
    followed = np.clip(cutoff_row - enrol, 0.0, horizon)
    followed = np.where(enrolled, np.minimum(followed, dropout), 0.0)

    # PFS: event if progression or death is seen in follow-up, else censored at the last
    # evaluable scan seen; compared in calendar time, as the cut-off was found, so an
    # event-driven analysis has exactly cutoff_events events
    pfs_event = enrolled & seen & (enrol + first_event <= cutoff_row)
    observed = np.minimum(followed, death_before)  # scans and draws seen up to this day
    visible = sim.scan_held & (sim.scan_day <= observed[:, None])
    evaluable = visible & (a.overall != Response.NE) & (np.arange(sim.scan_day.shape[1]) >= 1)
    last_scan = reduce_visits(np.maximum, np.where(evaluable, sim.scan_day, 0.0))
    if trial.pfs_model == "exponential":
        last_scan = followed  # observed continuously: censored at the end of follow-up
    pfs_days = np.where(pfs_event, first_event, last_scan)

    response = best_overall_response(
        a.overall,
        sim.scan_day,
        visit_mask=visible,
        has_targets=cohort.lesion_mask.any(axis=1),
        confirm=study.confirm_response,
        confirm_days=study.confirm_days,
        min_sd_days=study.min_sd_days,
    )
    best = response.best
    sd_6mo = _stable_six_months(sim, trial, visible, best, response.pd_visit, pfs_event, pfs_days)
    end_of_treatment = np.minimum(sim.end_of_treatment, np.minimum(followed, death_before))

    # crossover and overall survival
    control = scenario.control
    is_control = (
        np.zeros(n, bool) if control is None else cohort.row_arm == scenario.arms.index(control)
    )
    progressed = pfs_event & ~dies_first
    wants = crossover_rng.random(n) < trial.crossover_probability
    crossover = is_control & progressed & wants
    on_crossover_drug = np.zeros(n)
    rows = np.flatnonzero(crossover)
    if rows.size:
        doses = simulate_dosing(
            scenario,
            on_drug=np.ones(rows.size, bool),
            start_level=np.zeros(rows.size, int),
            susceptibility=cohort.susceptibility[rows],
            horizon_days=horizon,
            draw_onsets=False,  # only when the drug stops matters here
            rng=for_rows(crossover_rng, rows),
        )
        on_crossover_drug[rows] = np.minimum(doses.stop_day, horizon)
    death = _death_day(draws.death, progression, on_crossover_drug, trial)
    os_limit = np.where(enrolled, np.minimum(cutoff_row - enrol, dropout), 0.0)
    os_event = enrolled & (death <= os_limit)
    os_days = np.where(os_event, death, os_limit)

    return TrialSimulation(
        scenario=scenario,
        patients=sim,
        enrol_day=enrol,
        cutoff_day=cutoff,
        enrolled=enrolled,
        follow_up_days=followed,
        observed_days=observed,
        scan_seen=visible,
        pfs_days=pfs_days,
        pfs_event=pfs_event,
        os_days=os_days,
        os_event=os_event,
        best=best,
        sd_6mo=sd_6mo & enrolled,
        crossover=crossover,
        end_of_treatment=end_of_treatment,
        events_reached=reached,
    )


def _exponential(draw: np.ndarray, rate: float) -> np.ndarray:
    """Event times from unit-exponential draws at a constant rate (+inf at rate 0)."""
    return draw / rate if rate > 0 else np.full(draw.shape, np.inf)


def _death_day(draw, progression, on_drug_after, trial) -> np.ndarray:
    """Invert the piecewise-constant death hazard: before progression, then on crossover
    drug for ``on_drug_after`` days, then off drug."""
    before = trial.death_rate_per_day
    after = trial.post_progression_death_rate_per_day
    on_drug = after * trial.crossover_death_hazard_ratio
    finite_progression = np.where(np.isfinite(progression), progression, 0.0)
    pre_mass = np.where(np.isfinite(progression), before * finite_progression, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        pre = np.where(before > 0, draw / before, np.inf)
        left = draw - pre_mass
        drug_mass = on_drug * on_drug_after
        during = finite_progression + np.where(on_drug > 0, left / on_drug, np.inf)
        later = (
            finite_progression
            + on_drug_after
            + np.where(after > 0, (left - drug_mass) / after, np.inf)
        )
    return np.where(draw <= pre_mass, pre, np.where(left <= drug_mass, during, later))


def _stable_six_months(sim, trial, visible, best, pd_visit, pfs_event, pfs_days) -> np.ndarray:
    """'SD lasting at least 6 months' by the scenario's definition."""
    not_responder = ~np.isin(best, _RESPONDER)
    if trial.sd_definition == "progression_free":
        return not_responder & (best != Response.PD) & (pfs_days >= trial.sd_days)
    late = visible & (sim.scan_day >= trial.sd_days)
    first_late = np.argmax(late, axis=1)
    has_late = late.any(axis=1)
    code = sim.assessment.overall[np.arange(len(best)), first_late]
    before_pd = (pd_visit < 0) | (pd_visit > first_late)
    return has_late & np.isin(code, _STABLE) & before_pd & not_responder


def replicate_metrics(
    scenario: Scenario,
    patients: pd.DataFrame | Mapping[str, np.ndarray],
    cutoff_day: np.ndarray,
    events_reached: np.ndarray,
) -> pd.DataFrame:
    """Per-replicate metrics from a per-patient trial frame.

    The one definition of every metric, whichever engine simulated the patients (the
    vectorised one, :meth:`TrialSimulation.patient_frame`, or :func:`simtrial.des.simulate`).

    Parameters
    ----------
    scenario : Scenario
    patients : pandas.DataFrame or mapping of column name to array
        One row per (replicate, patient), sorted by ``rep`` then ``patient``, every replicate
        with all the scenario's patients; the columns of
        :meth:`TrialSimulation.patient_frame`.
    cutoff_day : ndarray, shape (rep,)
        Calendar day of each replicate's data cut-off.
    events_reached : ndarray of bool, shape (rep,)
        The event-driven cut-off's target number of events was reached.

    Returns
    -------
    pandas.DataFrame
        One row per replicate (see :func:`simulate_trial` for the columns).

    Examples
    --------
    >>> from simtrial.trial import replicate_metrics, simulate_trial
    >>> trials = simulate_trial("scenarios/pitoia2014.toml", n_reps=3, rng=1)
    >>> again = replicate_metrics(trials.scenario, trials.patient_frame(),
    ...                           trials.cutoff_day, trials.events_reached)
    >>> again.equals(trials.metrics)
    True
    """
    n_patients = scenario.n_patients
    n_rows = len(patients["rep"])
    n_reps = n_rows // n_patients
    if n_reps * n_patients != n_rows or len(cutoff_day) != n_reps:
        raise ValueError(
            f"a patient frame of {n_rows} rows is not {len(cutoff_day)} replicates of "
            f"{n_patients} patients"
        )
    # best response by code (index into _BOR_NAMES): cheaper to compare than names
    derived = {"bor_code": pd.Categorical(patients["bor"], categories=_BOR_NAMES).codes}

    def per_rep(column: str) -> np.ndarray:
        values = derived[column] if column in derived else patients[column]
        return np.asarray(values).reshape(n_reps, n_patients)

    enrolled = per_rep("enrolled").astype(bool)
    followed = np.where(enrolled, per_rep("follow_up_days"), np.nan)
    out: dict[str, np.ndarray] = {
        "rep": np.arange(n_reps),
        "cutoff_months": np.asarray(cutoff_day, float) / DAYS_PER_MONTH,
        "median_follow_up_months": np.nanmedian(followed, axis=1) / DAYS_PER_MONTH,
        "events_reached": np.asarray(events_reached, bool),
    }
    survival = {
        endpoint: (per_rep(f"{endpoint}_days"), per_rep(f"{endpoint}_event").astype(bool))
        for endpoint in ("pfs", "os")
    }
    arm_names = [arm.name for arm in scenario.arms]
    arm = np.asarray(pd.Categorical(patients["arm"], categories=arm_names).codes).reshape(
        n_reps, n_patients
    )
    if len(scenario.arms) != 2:
        medians = {
            endpoint: kaplan_meier(days, event, mask=enrolled).median
            for endpoint, (days, event) in survival.items()
        }
        out.update(_arm_metrics(scenario, per_rep, enrolled & (arm == 0), 0, "", medians))
        return pd.DataFrame({k: np.atleast_1d(v) for k, v in out.items()})

    control = scenario.arms.index(scenario.control)
    group = (arm != control).astype(int)
    analyses = {
        endpoint: analyse_two_arms(days, event, group, mask=enrolled)
        for endpoint, (days, event) in survival.items()
    }
    for index, arm_spec in enumerate(scenario.arms):
        # each arm's Kaplan-Meier medians come with the two-arm analysis
        km = "km_control" if index == control else "km_treatment"
        medians = {e: getattr(analysis, km).median for e, analysis in analyses.items()}
        mask = enrolled & (arm == index)
        out.update(_arm_metrics(scenario, per_rep, mask, index, f".{arm_spec.name}", medians))
    pfs, overall = analyses["pfs"], analyses["os"]
    out["hazard_ratio_pfs"] = pfs.cox.hazard_ratio
    out["hazard_ratio_pfs_ci_low"] = pfs.cox.ci_low
    out["hazard_ratio_pfs_ci_high"] = pfs.cox.ci_high
    out["logrank_pvalue_pfs"] = pfs.logrank.pvalue
    out["significant_pfs"] = pfs.logrank.pvalue < ALPHA
    out["cox_pvalue_pfs"] = pfs.cox.pvalue
    out["hazard_ratio_os"] = overall.cox.hazard_ratio
    out["logrank_pvalue_os"] = overall.logrank.pvalue
    return pd.DataFrame({k: np.atleast_1d(v) for k, v in out.items()})


def _arm_metrics(scenario, per_rep, mask, arm_index: int, suffix: str, medians: dict) -> dict:
    """One arm's metrics; ``mask`` (rep, patient) marks its enrolled patients and
    ``medians`` holds its PFS and OS Kaplan-Meier medians (days)."""
    count = mask.sum(axis=1)

    def share(flag) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.asarray(flag, bool) & mask).sum(axis=1) / count

    def name(base: str) -> str:
        return f"{base}{suffix}"

    best = per_rep("bor_code")
    out = {
        name("n_enrolled"): count,
        name("pfs_events"): (per_rep("pfs_event").astype(bool) & mask).sum(axis=1),
        name("median_pfs_months"): np.asarray(medians["pfs"]) / DAYS_PER_MONTH,
        name("median_os_months"): np.asarray(medians["os"]) / DAYS_PER_MONTH,
        name("orr"): share(np.isin(best, [_BOR_NAMES.index(r.name) for r in _RESPONDER])),
        name("dcr"): share(np.isin(best, [_BOR_NAMES.index(r.name) for r in _STABLE])),
        name("sd_6mo"): share(per_rep("sd_6mo")),
    }
    for code, bor in enumerate(_BOR_NAMES):
        out[name(f"bor_count.{bor}")] = ((best == code) & mask).sum(axis=1)

    if scenario.arms[arm_index].drug:
        out[name("dose_interruption")] = share(per_rep("dose_interruptions") > 0)
        out[name("dose_reduction")] = share(per_rep("dose_reductions") > 0)
        dose = per_rep("mean_daily_dose_mg").astype(float)
        with np.errstate(invalid="ignore"):
            out[name("mean_daily_dose_mg")] = np.nanmean(np.where(mask, dose, np.nan), axis=1)
    out[name("ae_discontinuation")] = share(per_rep("ae_discontinuation"))
    for event in scenario.toxicity.events:
        out[name(f"{event}_any")] = share(per_rep(f"{event}_any"))
        out[name(f"{event}_grade3")] = share(per_rep(f"{event}_grade3"))
    tg = np.where(mask, per_rep("tg_change_4wk").astype(float), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[name("tg_change_4wk.mean")] = _nan_reduce(np.nanmean, tg)
        out[name("tg_change_4wk.sd")] = _nan_reduce(
            lambda x, axis: np.nanstd(x, axis=axis, ddof=1), tg
        )
        # among the patients whose 4-week draw was seen (none: NaN, e.g. no draw on day 28)
        measured = np.isfinite(tg)
        out[name("tg_fell_4wk.all")] = np.where(
            measured.any(axis=1), ((tg < 0) | ~measured).all(axis=1), np.nan
        )
    if scenario.control is not None and scenario.arms[arm_index] == scenario.control:
        out[name("crossover")] = share(per_rep("crossover"))
    return out


def _nan_reduce(function, values: np.ndarray) -> np.ndarray:
    """A nan-aware reduction over patients that gives NaN, silently, for empty rows."""
    result = np.full(values.shape[0], np.nan)
    enough = np.isfinite(values).sum(axis=1) >= 2
    if enough.any():
        result[enough] = function(values[enough], axis=1)
    return result


def analyse_two_arms_of(trial_sim: TrialSimulation, endpoint: str):
    """Kaplan-Meier per arm, log-rank and Cox (treatment vs control) for ``endpoint``
    (``"pfs"`` or ``"os"``) in every replicate, enrolled patients only."""
    scenario, cohort = trial_sim.scenario, trial_sim.patients.cohort
    shape = (cohort.n_reps, cohort.n_patients)
    control = scenario.arms.index(scenario.control)
    days = getattr(trial_sim, f"{endpoint}_days").reshape(shape)
    event = getattr(trial_sim, f"{endpoint}_event").reshape(shape)
    group = (cohort.row_arm != control).astype(int).reshape(shape)
    return analyse_two_arms(days, event, group, mask=trial_sim.enrolled.reshape(shape))
