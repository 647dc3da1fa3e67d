"""Simulated patients: every stage from cohort to RECIST, and tidy views of the result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from simtrial.cohort import Cohort, simulate_cohort
from simtrial.dosing import ACTIONS, DoseHistory, simulate_dosing
from simtrial.imaging import scan_calendar
from simtrial.recist import RESPONSE_NAMES, Response, VisitAssessment, finish_assessment
from simtrial.scans import ScanResults, exposure_integrals, reduce_visits, scan_group
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import as_rng, for_rows
from simtrial.thyroglobulin import serum_tg
from simtrial.tumour import burden, relative_volume

__all__ = ["PatientSimulation", "check_vectorised", "simulate_patients"]

_REDUCING = np.isin(np.arange(len(ACTIONS)), [2, 3, 4])
_INTERRUPTING = np.isin(np.arange(len(ACTIONS)), [1, 3, 4])


@dataclass(frozen=True)
class PatientSimulation:
    """Everything simulated for ``n_reps`` cohorts; arrays have a leading row axis
    (``rep * n_patients + patient``).

    Attributes
    ----------
    scenario : Scenario
    cohort : Cohort
    doses : DoseHistory
    scan_day, scan_held : ndarray, shape (row, visit)
    true_mm, measured_mm : ndarray of float32, shape (row, visit, lesion), or None
        Target lesions' true and recorded sizes (None unless ``keep_lesions``).
    new_lesion : ndarray of bool, shape (row, visit)
    nontarget : ndarray of int8, shape (row, visit)
    assessment : VisitAssessment
        RECIST per visit and best response, from the array door.
    tg_day, tg_ng_ml : ndarray, shape (row, draw)
        Thyroglobulin draws (day 0 = baseline) and measured values.
    end_of_treatment : ndarray, shape (row,)
        Day treatment ended: first PD, stop for an adverse event, or end of follow-up.
    """

    scenario: Scenario
    cohort: Cohort
    doses: DoseHistory
    scan_day: np.ndarray
    scan_held: np.ndarray
    true_mm: np.ndarray
    measured_mm: np.ndarray
    new_lesion: np.ndarray
    nontarget: np.ndarray
    assessment: VisitAssessment
    tg_day: np.ndarray
    tg_ng_ml: np.ndarray
    end_of_treatment: np.ndarray

    def select(self, patients: np.ndarray) -> PatientSimulation:
        """The same simulation restricted to some patients of every replicate.

        Parameters
        ----------
        patients : ndarray of int, shape (patient,)
            Patient indices (within a replicate) to keep, in the order to keep them.

        Returns
        -------
        PatientSimulation
            With ``n_patients = len(patients)``; every array keeps those patients' rows.
        """
        patients = np.asarray(patients)
        cohort = self.cohort
        rows = (np.arange(cohort.n_reps)[:, None] * cohort.n_patients + patients[None, :]).ravel()
        return _select_rows(self, rows, cohort.n_rows, patients, cohort.n_patients)

    @cached_property
    def patients(self) -> pd.DataFrame:
        """One row per simulated patient (see :meth:`to_frame`)."""
        return self._patient_table()

    def to_frame(self) -> pd.DataFrame:
        """One row per (replicate, patient).

        Columns: ``rep``, ``patient``, ``arm``, ``histology``, ``n_targets``,
        ``baseline_sum_mm``, ``bor``, ``pd_day`` (NaN if none), ``best_pct_change``,
        ``tg_change_4wk`` (fraction), ``end_of_treatment_day``, ``final_dose_mg``,
        ``mean_daily_dose_mg``, ``dose_reductions``, ``dose_interruptions``,
        ``ae_discontinuation``, and per adverse-event type ``<type>_any`` and
        ``<type>_grade3`` (grade >= 3), counted up to the end of treatment.
        """
        return self.patients.copy()

    def _patient_table(self, end: np.ndarray | None = None) -> pd.DataFrame:
        """The per-patient table, counting treatment events up to ``end`` (default: the
        end of treatment)."""
        return pd.DataFrame(self._patient_columns(end))

    def _patient_columns(
        self, end: np.ndarray | None = None, seen: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """The per-patient table's columns, counting treatment events up to ``end`` (default:
        the end of treatment) and scans where ``seen`` (default: every scan held)."""
        cohort, doses, a = self.cohort, self.doses, self.assessment
        n = cohort.n_rows
        end = self.end_of_treatment if end is None else end
        arms = [arm.name for arm in self.scenario.arms]
        histologies = list(self.scenario.cohort.histology)

        before_pd = (self.scan_held if seen is None else seen) & (
            np.arange(self.scan_day.shape[1]) >= 1
        )
        before_pd &= (a.pd_visit[:, None] < 0) | (
            np.arange(self.scan_day.shape[1]) <= a.pd_visit[:, None]
        )
        change = np.where(before_pd, a.pct_from_baseline, np.nan)
        has_change = np.isfinite(change).any(axis=1)
        best_change = reduce_visits(np.fmin, change)  # a NaN-skipping minimum
        best_change[~has_change] = np.nan

        # up to and including the end: the adverse event that stopped treatment counts
        episode_in = doses.episode_day <= end[:, None]
        action = doses.episode_action
        reductions = (episode_in & _REDUCING[action]).sum(axis=1)
        interruptions = (episode_in & _INTERRUPTING[action]).sum(axis=1)
        stopped = doses.stop_day <= end
        level_end = doses.level_at(np.nextafter(end, -np.inf)[:, None])[:, 0]
        last_on = doses.level_at(np.minimum(end, doses.stop_day)[:, None] - 1e-9)[:, 0]
        final_level = np.where(level_end >= 0, level_end, last_on)
        final_dose = np.where(
            cohort.row_on_drug & (final_level >= 0),
            np.append(doses.ladder_mg, 0.0)[final_level],
            0.0,
        )
        mg_days = doses.integrate(end[:, None], doses.ladder_mg)[:, 0]
        mean_dose = np.where(
            cohort.row_on_drug & (end > 0), mg_days / np.maximum(end, 1e-9), np.nan
        )

        tg_change = np.full(n, np.nan)
        at_4wk = np.flatnonzero(np.isclose(self.tg_day[0], 28.0))
        if at_4wk.size:
            tg_change = self.tg_ng_ml[:, at_4wk[0]] / self.tg_ng_ml[:, 0] - 1.0

        table = {
            "rep": np.repeat(np.arange(cohort.n_reps), cohort.n_patients),
            "patient": np.tile(np.arange(cohort.n_patients), cohort.n_reps),
            "arm": pd.Categorical.from_codes(cohort.row_arm, arms),
            "histology": pd.Categorical.from_codes(cohort.histology, histologies),
            "n_targets": cohort.lesion_mask.sum(axis=1),
            "baseline_sum_mm": a.target_sum[:, 0],
            "bor": RESPONSE_NAMES[a.best],
            "pd_day": a.pd_day,
            "best_pct_change": best_change,
            "tg_change_4wk": tg_change,
            "end_of_treatment_day": end,
            "final_dose_mg": final_dose,
            "mean_daily_dose_mg": mean_dose,
            "dose_reductions": reductions,
            "dose_interruptions": interruptions,
            "ae_discontinuation": stopped,
        }
        # grade >= 3 episodes before the end, by type: one pass over the episodes
        severe = np.zeros((n, len(doses.event_names)), bool)
        row, column = np.nonzero(episode_in & (doses.episode_grade >= 3))
        severe[row, doses.episode_type[row, column]] = True
        for k, name in enumerate(doses.event_names):
            table[f"{name}_any"] = doses.onset_day[:, k] <= end
            table[f"{name}_grade3"] = severe[:, k]
        return table

    def lesion_table(self) -> pd.DataFrame:
        """Long table: one row per (rep, patient, held visit, target lesion).

        Columns ``rep``, ``patient``, ``visit``, ``day``, ``lesion``, ``nodal``,
        ``true_mm``, ``measured_mm``.
        """
        if self.true_mm is None:
            raise ValueError(
                "lesion sizes were not kept; simulate with keep_lesions=True for a lesion table"
            )
        cohort = self.cohort
        row, visit, lesion = np.nonzero(self.scan_held[:, :, None] & cohort.lesion_mask[:, None, :])
        return pd.DataFrame(
            {
                "rep": row // cohort.n_patients,
                "patient": row % cohort.n_patients,
                "visit": visit,
                "day": self.scan_day[row, visit],
                "lesion": lesion,
                "nodal": cohort.nodal[row, lesion],
                "true_mm": self.true_mm[row, visit, lesion],
                "measured_mm": self.measured_mm[row, visit, lesion],
            }
        )

    def visit_table(self) -> pd.DataFrame:
        """Long table: one row per (rep, patient, held follow-up visit) with RECIST."""
        cohort, a = self.cohort, self.assessment
        row, visit = np.nonzero(self.scan_held & (np.arange(self.scan_day.shape[1]) >= 1))
        return pd.DataFrame(
            {
                "rep": row // cohort.n_patients,
                "patient": row % cohort.n_patients,
                "visit": visit,
                "day": self.scan_day[row, visit],
                "target_sum_mm": a.target_sum[row, visit],
                "pct_from_baseline": a.pct_from_baseline[row, visit],
                "target": RESPONSE_NAMES[a.target[row, visit]],
                "nontarget": RESPONSE_NAMES[a.nontarget[row, visit]],
                "new_lesion": a.new_lesion[row, visit],
                "overall": RESPONSE_NAMES[a.overall[row, visit]],
            }
        )

    def tg_table(self) -> pd.DataFrame:
        """Long table: one row per (rep, patient, Tg draw): ``day``, ``tg_ng_ml``."""
        cohort = self.cohort
        row, draw = np.nonzero(np.ones(self.tg_day.shape, bool))
        return pd.DataFrame(
            {
                "rep": row // cohort.n_patients,
                "patient": row % cohort.n_patients,
                "day": self.tg_day[row, draw],
                "tg_ng_ml": self.tg_ng_ml[row, draw],
            }
        )

    def dose_table(self) -> pd.DataFrame:
        """Long table of dose changes: ``rep``, ``patient``, ``day``, ``dose_mg``."""
        cohort, doses = self.cohort, self.doses
        row, column = np.nonzero(np.isfinite(doses.change_day))
        dose = np.append(doses.ladder_mg, 0.0)[doses.change_level[row, column]]
        return pd.DataFrame(
            {
                "rep": row // cohort.n_patients,
                "patient": row % cohort.n_patients,
                "day": doses.change_day[row, column],
                "dose_mg": np.where(cohort.row_on_drug[row], dose, 0.0),
            }
        )


def check_vectorised(scenario: Scenario) -> None:
    """Refuse what only the discrete-event model (:mod:`simtrial.des`) simulates: a
    scenario's ``[operations]``."""
    ops = scenario.operations
    if not ops.is_default:
        changed = {
            key: value
            for key, value in ops.model_dump().items()
            if value != type(ops).model_fields[key].default
        }
        settings = ", ".join(f"operations.{k} = {v!r}" for k, v in changed.items())
        raise ValueError(
            f"{settings}: clinic operations are simulated only by the discrete-event model; "
            "run with engine='des' (simtrial run --engine des) or remove them"
        )


def simulate_patients(
    scenario: Scenario | str, n_reps: int = 1, *, rng=None, keep_lesions: bool = True
) -> PatientSimulation:
    """Simulate ``n_reps`` cohorts of the scenario, every stage from cohort to RECIST.

    Stages, in order (each a pure vectorised function): cohort → dosing and toxicity →
    tumour dynamics at the scan days → imaging (calendar, readers, non-target disease, new
    lesions) → RECIST (array door, the study's criteria) → thyroglobulin. Treatment lasts
    until the first PD, a stop for an adverse event, or the end of follow-up.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the path of a scenario file.
    n_reps : int
        Number of replicate cohorts.
    rng : numpy.random.Generator, int, SeedSequence or None
    keep_lesions : bool
        Keep every target lesion's true and measured size at every scan (``true_mm``,
        ``measured_mm``, :meth:`PatientSimulation.lesion_table`); trial runs that only need
        responses leave them out.

    Returns
    -------
    PatientSimulation

    Examples
    --------
    >>> from simtrial.patients import simulate_patients
    >>> result = simulate_patients("scenarios/pitoia2014.toml", rng=2014)
    >>> table = result.to_frame()
    >>> len(table), set(table["bor"]) <= {"CR", "PR", "SD", "PD", "NE"}
    (8, True)
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    check_vectorised(scenario)
    rng = as_rng(rng)
    study, tumour = scenario.study, scenario.tumour
    cohort = simulate_cohort(scenario, n_reps, rng=rng)
    n = cohort.n_rows
    start_level = np.array([scenario.start_level(arm) for arm in scenario.arms])[cohort.row_arm]
    doses = simulate_dosing(
        scenario,
        on_drug=cohort.row_on_drug,
        start_level=start_level,
        susceptibility=cohort.susceptibility,
        horizon_days=study.follow_up_days,
        rng=rng,
    )

    day, held = scan_calendar(scenario, n, rng=rng)
    if not study.scan_after_discontinuation:
        held &= day <= doses.stop_day[:, None]
    scans = ScanResults(n, day.shape[1], cohort.size_mm.shape[1], keep_lesions=keep_lesions)
    # patients are grouped by number of targets (rounded up to a power of two) so that the
    # lesion axis carries little padding while the number of array calls stays small
    n_targets = cohort.lesion_mask.sum(axis=1)
    width = np.minimum(2 ** np.ceil(np.log2(n_targets)).astype(int), cohort.size_mm.shape[1])
    tg = scenario.thyroglobulin
    last = min(tg.last_day or study.follow_up_days, study.follow_up_days)
    draws = np.arange(tg.first_day, last + 1e-9, tg.interval_days)
    tg_day = np.broadcast_to(np.concatenate([[0.0], draws]), (n, draws.size + 1)).copy()
    tg_burden = np.ones(tg_day.shape, np.float32)  # tumour volume relative to baseline
    for k in np.unique(width):
        rows = np.flatnonzero(width == k)
        group_rng = for_rows(rng, rows)
        integrals = exposure_integrals(scenario, doses, rows)  # for the scans and Tg draws
        scan_group(scenario, cohort, integrals, rows, int(k), day, held, scans, group_rng)
        columns = [*range(k), -1]
        volume = relative_volume(
            cohort.growth[rows][:, columns],
            cohort.kill[rows][:, columns],
            cohort.resistant[rows][:, columns],
            tg_day[rows, 1:],
            integrals.at(tg_day[rows, 1:])[0],
        )
        tg_burden[rows, 1:] = burden(
            cohort.size_mm[rows, :k],
            cohort.nodal[rows, :k],
            cohort.nontarget_volume[rows],
            volume,
            tumour.node_normal_mm,
        )
    held &= scans.scanned
    if not study.scan_after_progression:  # the block that found PD ran past it: drop those
        is_pd = (scans.overall == Response.PD) & held
        first_pd = np.where(is_pd.any(axis=1), np.argmax(is_pd, axis=1), day.shape[1])
        held &= np.arange(day.shape[1]) <= first_pd[:, None]
    assessment = finish_assessment(
        target=scans.target,
        overall=scans.overall,
        target_sum=scans.target_sum,
        nadir=scans.nadir,
        day=day,
        visit_mask=held,
        new_lesion=scans.new_lesion,
        nontarget=scans.nontarget,
        has_targets=cohort.lesion_mask.any(axis=1),
        criteria=study.recist,
        confirm=study.confirm_response,
        confirm_days=study.confirm_days,
        min_sd_days=study.min_sd_days,
    )
    end = np.minimum(np.fmin(assessment.pd_day, study.follow_up_days), doses.stop_day)

    tg_ng_ml = serum_tg(
        doses,
        tg_day,
        tg_burden,
        cohort.tg_baseline,
        cohort.tg_direct_effect,
        half_life_hours=tg.half_life_hours,
        assay_log_sd=tg.assay_log_sd,
        rng=rng,
    )
    return PatientSimulation(
        scenario=scenario,
        cohort=cohort,
        doses=doses,
        scan_day=day,
        scan_held=held,
        true_mm=scans.true_mm,
        measured_mm=scans.measured_mm,
        new_lesion=scans.new_lesion,
        nontarget=scans.nontarget,
        assessment=assessment,
        tg_day=tg_day,
        tg_ng_ml=tg_ng_ml,
        end_of_treatment=end,
    )


_PER_PATIENT = {"arm", "on_drug"}  # cohort fields indexed by patient, not by row
_NOT_PER_ROW = {"scenario", "ladder_mg", "exposure_by_level", "event_names"}


def _select_rows(value, rows, n_rows, patients, n_patients):
    """Rows of every row-leading array in a (nested) frozen dataclass; the cohort's
    per-patient arrays by patient; ``n_patients`` updated."""
    if isinstance(value, np.ndarray):
        return value[rows] if value.ndim and value.shape[0] == n_rows else value
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes = {}
    for item in dataclasses.fields(value):
        current = getattr(value, item.name)
        if item.name == "n_patients":
            changes[item.name] = len(patients)
        elif item.name in _PER_PATIENT:
            changes[item.name] = current[patients]
        elif item.name not in _NOT_PER_ROW:
            changes[item.name] = _select_rows(current, rows, n_rows, patients, n_patients)
    return dataclasses.replace(value, **changes)
