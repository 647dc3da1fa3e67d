"""A discrete-event model of a scenario, patient by patient in calendar time (simpy): the
oracle for the vectorised engine, and the place for operational what-ifs.

The vectorised engine is fast because it is clever (cumulative sums, event times drawn
from hazards, masks, approximations such as one log-normal for many non-target lesions).
This model does the same scenario the plain way and shares none of the engine's stage code,
only the scenario object, the RECIST rules (:func:`simtrial.recist.select_targets`,
:func:`~simtrial.recist.classify_block`, :func:`~simtrial.recist.best_overall_response`)
and the per-replicate metrics (:func:`simtrial.trial.replicate_metrics`). Each patient is
a set of simpy processes living through calendar time:

- **enrolment** (uniform or Poisson accrual) after screening: a candidate without
  measurable disease is not enrolled and another is screened; every lesion of every
  involved site is drawn, targets are chosen by the RECIST rules;
- **treatment**: competing adverse-event hazards (dose-limiting episode, stop for an
  unrelated event, each type's first onset), redrawn whenever a hazard changes (a new
  cycle, an interruption ending, a dose change); the label's rules act on each episode;
- **scans** on their calendar (planned day +/- window, some missed), optionally through
  an imaging unit with a few slots a day; each lesion's true size from its growth, kill and
  resistant fraction under the cumulative exposure so far; the reader's bias and error; the
  non-target disease read by eye; new lesions arriving as a Poisson process (every one of
  them, each detected or not at each scan); RECIST classifies each visit as it happens;
- **thyroglobulin** blood draws, with elimination solved across every dose change;
- **drop-out**, **death** (hazard changing at progression and on crossover drug) and
  **crossover** to open-label drug at progression;
- the **data cut-off** on a calendar day or at the target number of PFS events, when the
  simulation of the replicate stops.

Each patient's life is logged event by event (:attr:`DesResult.events`). It is slow (about a
second per DECISION-sized trial): use it to check the vectorised
engine (``tests/test_des.py`` compares them in distribution) and for what the engine does
not model, the ``[operations]`` section of a scenario: scanner capacity, late scans, repeats
of missed scans. ``simtrial run SCENARIO --engine des`` runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from simtrial.recist import (
    RESPONSE_NAMES,
    RecistState,
    Response,
    best_overall_response,
    classify_block,
    select_targets,
)
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import ReplicateStreams
from simtrial.trial import TG_CHANGE_DAY, replicate_metrics

__all__ = ["DesResult", "simulate"]

_OFF = -1  # dose level while no drug is taken
_STABLE = {Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD}
_RESPONDER = {Response.CR, Response.PR}
_REDUCING = {"reduce", "interrupt_reduce", "interrupt_reduce2"}
_INTERRUPTING = {"interrupt", "interrupt_reduce", "interrupt_reduce2"}
_LEVEL_STEP = {"continue": 0, "interrupt": 0, "reduce": 1, "interrupt_reduce": 1}
_LEVEL_STEP |= {"interrupt_reduce2": 2, "stop": 0}


@dataclass(frozen=True)
class DesResult:
    """Trials simulated by :func:`simulate`.

    Attributes
    ----------
    scenario : Scenario
    patients : pandas.DataFrame
        One row per (replicate, patient), the columns of
        :meth:`simtrial.trial.TrialSimulation.patient_frame`.
    metrics : pandas.DataFrame
        One row per replicate, the columns of :attr:`simtrial.trial.TrialSimulation.metrics`.
    cutoff_day : ndarray, shape (rep,)
    events_reached : ndarray of bool, shape (rep,)
    scan_delay_days : ndarray, shape (rep,)
        Mean delay of the scans done beyond their planned day's window (0 without
        scanner limits).
    events : pandas.DataFrame
        Every patient's life in the trial, event by event up to the cut-off: ``rep``,
        ``patient``, ``day`` (since randomisation), ``calendar_day``, ``event``
        (``enrolled``, ``scan``, ``adverse event``, ``dose-limiting episode``, ``dose``,
        ``progression``, ``crossover``, ``death``, ``drop-out``) and ``detail``.
    """

    scenario: Scenario
    patients: pd.DataFrame
    metrics: pd.DataFrame
    cutoff_day: np.ndarray
    events_reached: np.ndarray
    scan_delay_days: np.ndarray
    events: pd.DataFrame

    def patient_frame(self) -> pd.DataFrame:
        """The per-patient frame (a copy)."""
        return self.patients.copy()

    def to_frame(self) -> pd.DataFrame:
        """The per-replicate metrics (a copy)."""
        return self.metrics.copy()


def simulate(scenario: Scenario | str, n_reps: int = 1, rng=None) -> DesResult:
    """Simulate ``n_reps`` trials of a scenario with the discrete-event model.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the path of a scenario file; its ``[operations]`` section is honoured.
    n_reps : int
    rng : ReplicateStreams, numpy.random.Generator, int, SeedSequence or None
        With :class:`~simtrial.streams.ReplicateStreams`, replicate ``r`` uses generator
        ``r`` (the same trial whatever the chunk); otherwise one child generator is spawned
        per replicate.

    Returns
    -------
    DesResult

    Examples
    --------
    >>> from simtrial import des
    >>> result = des.simulate("scenarios/pitoia2014.toml", n_reps=2, rng=1)
    >>> len(result.patients), list(result.metrics["rep"])
    (16, [0, 1])
    >>> set(result.patients["bor"]) <= {"CR", "PR", "SD", "PD", "NE"}
    True
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    if not isinstance(n_reps, int | np.integer) or isinstance(n_reps, bool) or n_reps < 1:
        raise ValueError(f"`n_reps` must be a positive integer, got {n_reps!r}")
    if scenario.trial.pfs_model != "lesions":
        raise ValueError(
            f'trial.pfs_model = "{scenario.trial.pfs_model}": the discrete-event model '
            'simulates progression from the lesions only (pfs_model = "lesions")'
        )
    if isinstance(rng, ReplicateStreams):
        if len(rng.generators) != n_reps:
            raise ValueError(f"{len(rng.generators)} replicate streams for {n_reps} replicates")
        generators = rng.generators
    else:
        generators = np.random.default_rng(rng).spawn(int(n_reps))
    frames, logs, cutoffs, reached, delays = [], [], [], [], []
    for rep, generator in enumerate(generators):
        trial = _Trial(scenario, generator)
        frame, cutoff, events_reached = trial.run()
        frame.insert(0, "rep", rep)
        frames.append(frame)
        logs += [(rep, *event) for event in trial.log]
        cutoffs.append(cutoff)
        reached.append(events_reached)
        delays.append(float(np.mean(trial.delays)) if trial.delays else 0.0)
    patients = pd.concat(frames, ignore_index=True)
    cutoff_day, events_reached = np.array(cutoffs), np.array(reached)
    metrics = replicate_metrics(scenario, patients, cutoff_day, events_reached)
    columns = ["rep", "patient", "day", "calendar_day", "event", "detail"]
    events = pd.DataFrame(logs, columns=columns).sort_values(
        ["rep", "patient", "calendar_day"], kind="stable", ignore_index=True
    )
    return DesResult(
        scenario, patients, metrics, cutoff_day, events_reached, np.array(delays), events
    )


@dataclass
class _Target:
    size_mm: float  # true baseline size (non-nodal longest diameter, nodal short axis)
    nodal: bool
    growth: float
    kill: float
    resistant: float
    bias: float  # the reader's log-scale bias for this lesion

    def relative_volume(self, t, exposure):
        return _relative_volume(self.growth, self.kill, self.resistant, t, exposure)


def _relative_volume(growth, kill, resistant, t, exposure):
    """Volume relative to baseline: sensitive cells killed by the cumulative exposure, the
    resistant fraction untouched, both growing (scalars or arrays of days)."""
    grown = np.exp(np.minimum(growth * t, 700.0))
    return grown * ((1.0 - resistant) * np.exp(-kill * exposure) + resistant)


@dataclass(frozen=True)
class _Streams:
    """A patient's independent random streams, one per purpose, so that a what-if (a
    scanner limit, say) changes the draws of nothing it does not touch."""

    screen: np.random.Generator  # baseline disease and random effects
    treatment: np.random.Generator  # adverse events and dose changes
    crossover: np.random.Generator  # the crossover drug's adverse events
    calendar: np.random.Generator  # scan days within their windows, missed scans
    reading: np.random.Generator  # reader errors, non-target reading, new-lesion detection
    lesions: np.random.Generator  # new lesions' arrivals
    blood: np.random.Generator  # thyroglobulin assay
    fate: np.random.Generator  # drop-out, death, the choice to cross over

    @classmethod
    def spawn(cls, parent: np.random.Generator) -> _Streams:
        return cls(*parent.spawn(len(cls.__dataclass_fields__)))


@dataclass
class _Patient:
    streams: _Streams
    index: int
    arm: int
    on_drug: bool
    histology: int
    targets: list[_Target]
    nontarget_mm3: float  # baseline volume of the non-target disease (sum of diameter cubes)
    nontarget: tuple[float, float, float]  # its growth, kill, resistant fraction
    tg_baseline: float
    tg_effect: float
    susceptibility: float
    enrol: float = math.inf
    # dose history, patient time: level from change_day[i] on (-1 = off)
    change_day: list[float] = field(default_factory=lambda: [0.0])
    change_level: list[int] = field(default_factory=list)
    stop_day: float = math.inf
    treatment_end: float = math.inf
    episodes: list[tuple[float, int, int, str]] = field(default_factory=list)
    onset: dict[int, float] = field(default_factory=dict)
    # scans: day, held, overall code, target sum
    scan_day: list[float] = field(default_factory=list)
    overall: list[int] = field(default_factory=list)
    target_sum: list[float] = field(default_factory=list)
    recist: RecistState | None = None
    nontarget_nadir: float = math.inf
    new_lesions: list[float] = field(default_factory=list)  # appearance days
    new_lesion_seen: bool = False
    hazard_day: float = 0.0
    hazard_sum: float = 0.0
    hazard_next: float = 0.0
    pd_day: float = math.nan
    death_day: float = math.inf
    dropout_day: float = math.inf
    crossover: bool = False
    crossover_end: float = math.inf
    tg: dict[float, float] = field(default_factory=dict)
    processes: dict[str, simpy.Process] = field(default_factory=dict)

    def level_at(self, t: float) -> int:
        """Dose level in force at patient day ``t``."""
        return self.change_level[int(np.searchsorted(self.change_day, t, side="right")) - 1]

    def integral(self, times, by_level):
        """Integral from day 0 to ``times`` of ``by_level(level)`` along the dose history,
        and ``by_level`` of the level in force at ``times`` (scalars or arrays)."""
        days = np.array(self.change_day)
        values = np.array([by_level(level) for level in self.change_level])
        cumulative = np.concatenate([[0.0], np.cumsum(values[:-1] * np.diff(days))])
        index = np.searchsorted(days, times, side="right") - 1
        return cumulative[index] + values[index] * (times - days[index]), values[index]


class _Trial:
    """One replicate trial: a simpy environment and its patients."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        self.s = scenario
        self.rng = rng
        self.env = simpy.Environment()
        self.delays: list[float] = []
        self.log: list[tuple[int, float, float, str, str]] = []
        self.slots: dict[int, int] = {}
        self.pfs_events = 0
        self.cutoff = self.env.event()
        dosing, tox = scenario.dosing, scenario.toxicity
        ladder = np.asarray(dosing.ladder_mg_per_day, float)
        self.ladder = list(ladder)
        self.exposure = [float(x) for x in (ladder / ladder[0]) ** dosing.exposure_exponent]
        self.dose_factor = [float(x) for x in (ladder / ladder[0]) ** tox.dose_exponent]
        self.event_names = list(tox.events)
        self.control = None if scenario.control is None else scenario.arms.index(scenario.control)

    # ---- helpers of the dose history -------------------------------------------------------
    def exposure_of(self, level: int) -> float:
        return 0.0 if level == _OFF else self.exposure[level]

    def dose_mg(self, level: int) -> float:
        return 0.0 if level == _OFF else self.ladder[level]

    def now(self, p: _Patient) -> float:
        """Patient time (days since randomisation)."""
        return self.env.now - p.enrol

    def _log(self, p: _Patient, event: str, detail: str = "") -> None:
        self.log.append((p.index, self.now(p), float(self.env.now), event, detail))

    # ---- the trial -------------------------------------------------------------------------
    def run(self) -> tuple[pd.DataFrame, float, bool]:
        s, rng, env = self.s, self.rng, self.env
        trial = s.trial
        arm = [i for i, a in enumerate(s.arms) for _ in range(a.n)]
        n = len(arm)
        patients = [
            self._screen(i, arm[i], _Streams.spawn(parent)) for i, parent in enumerate(rng.spawn(n))
        ]
        if trial.accrual == "uniform":
            enrol = rng.uniform(0.0, trial.accrual_days, n)
        else:  # Poisson arrivals, in random order of the patients
            arrivals = np.cumsum(rng.exponential(trial.accrual_days / n, n))
            enrol = arrivals[rng.permutation(n)]
        for p, day in zip(patients, enrol, strict=True):
            p.enrol = float(day)
            env.process(self._patient(p))
        horizon = s.study.follow_up_days
        if trial.cutoff == "calendar":
            env.run(until=trial.cutoff_day)
            cutoff, reached = float(trial.cutoff_day), True
        else:
            end_of_study = float(enrol.max()) + horizon
            env.process(self._end_of_study(end_of_study))
            env.run(until=self.cutoff)
            reached = self.pfs_events >= trial.cutoff_events
            cutoff = float(env.now)
        return pd.DataFrame([self._record(p, cutoff) for p in patients]), cutoff, reached

    def _end_of_study(self, day: float):
        yield self.env.timeout(day)
        if not self.cutoff.triggered:
            self.cutoff.succeed()

    def _pfs_event(self, p: _Patient, t: float) -> None:
        """A progression or a death before it, within the study's follow-up."""
        if t > self.s.study.follow_up_days:
            return
        self.pfs_events += 1
        events = self.s.trial.cutoff_events
        if events is not None and self.pfs_events == events and not self.cutoff.triggered:
            self.cutoff.succeed()

    # ---- screening: who is enrolled --------------------------------------------------------
    def _screen(self, index: int, arm: int, streams: _Streams) -> _Patient:
        """Draw candidates until one has measurable disease (trials enrol only those)."""
        s, rng = self.s, streams.screen
        criteria = s.study.recist
        node_axis = 1.0 if criteria.nodes_by_short_axis else s.tumour.node_long_to_short_axis
        while True:
            rows = []
            for name, site in s.cohort.sites.items():
                if rng.random() >= site.probability:
                    continue
                measurable_site = rng.random() < site.measurable_probability
                count = 1 + rng.poisson(site.extra_lesions_mean)
                others = rng.poisson(site.nontarget_lesions_mean)
                sizes = site.median_size_mm * np.exp(
                    site.size_log_sd * rng.standard_normal(count + others)
                )
                for j, size in enumerate(sizes):
                    # a lesion of a site without measurable disease, or not counted as
                    # measurable, can only be non-target: offered at 0 mm to the selection
                    offered = size if (measurable_site and j < count) else 0.0
                    read_as = offered * node_axis if site.nodal else offered
                    rows.append((f"{name}-{j}", name, site.nodal, read_as, size))
            if not rows:
                continue
            table = pd.DataFrame(rows, columns=["lesion", "organ", "nodal", "size_mm", "true"])
            chosen = select_targets(
                table[["lesion", "organ", "nodal", "size_mm"]], criteria=criteria
            )
            if chosen["target"].any():
                break
        is_target = chosen["target"].to_numpy()
        true = table["true"].to_numpy()
        nontarget_mm3 = float((true[~is_target] ** 3).sum())
        # targets in the order the selection ranks them is irrelevant; keep table order
        return self._random_effects(index, arm, table[is_target], nontarget_mm3, streams)

    def _random_effects(self, index, arm, targets, nontarget_mm3, streams) -> _Patient:
        s, rng = self.s, streams.screen
        tumour, tg, tox = s.tumour, s.thyroglobulin, s.toxicity
        histologies = list(s.cohort.histology)
        p_histology = np.array([s.cohort.histology[h] for h in histologies])
        histology = int(rng.choice(len(histologies), p=p_histology / p_histology.sum()))
        multiplier = s.cohort.histology_growth_multiplier.get(histologies[histology], 1.0)
        if rng.random() < tumour.regressing_fraction:
            growth = -tumour.regressing_rate_per_day
        else:
            growth = tumour.growth_rate_per_day * math.exp(
                tumour.growth_log_sd * rng.standard_normal()
            )
            growth *= multiplier
        kill = tumour.kill_rate_per_day * tumour.drug_effect_scale
        kill *= math.exp(tumour.kill_log_sd * rng.standard_normal())
        resistant_logit = math.log(tumour.resistant_fraction / (1 - tumour.resistant_fraction))
        resistant_logit += tumour.resistant_logit_sd * rng.standard_normal()

        def lesion_effects() -> tuple[float, float, float]:
            g = growth * math.exp(tumour.lesion_growth_log_sd * rng.standard_normal())
            k = kill * math.exp(tumour.lesion_kill_log_sd * rng.standard_normal())
            z = resistant_logit + tumour.lesion_resistant_logit_sd * rng.standard_normal()
            return min(g, tumour.max_growth_rate_per_day), k, 1.0 / (1.0 + math.exp(-z))

        lesions = []
        for size, nodal in zip(targets["true"], targets["nodal"], strict=True):
            g, k, r = lesion_effects()
            bias = s.imaging.reader_bias_log_sd * rng.standard_normal()
            lesions.append(_Target(float(size), bool(nodal), g, k, r, bias))
        arm_spec = s.arms[arm]
        return _Patient(
            streams=streams,
            index=index,
            arm=arm,
            on_drug=arm_spec.drug,
            histology=histology,
            targets=lesions,
            nontarget_mm3=nontarget_mm3,
            nontarget=lesion_effects(),
            tg_baseline=tg.baseline_median_ng_ml
            * math.exp(tg.baseline_log_sd * rng.standard_normal()),
            tg_effect=tg.direct_effect * math.exp(tg.direct_effect_log_sd * rng.standard_normal()),
            susceptibility=math.exp(tox.susceptibility_log_sd * rng.standard_normal()),
            change_level=[s.start_level(arm_spec) if arm_spec.drug else _OFF],
        )

    # ---- a patient's life in the trial -----------------------------------------------------
    def _patient(self, p: _Patient):
        env, trial = self.env, self.s.trial
        yield env.timeout(p.enrol)
        if trial.dropout_rate_per_day > 0:
            p.dropout_day = p.streams.fate.exponential(1.0 / trial.dropout_rate_per_day)
        p.hazard_next = p.streams.lesions.standard_exponential()
        self._log(p, "enrolled", self.s.arms[p.arm].name)
        self._baseline_scan(p)
        p.tg[0.0] = self._tg(p, 0.0)
        p.processes = {
            "treatment": env.process(self._treatment(p)),
            "scans": env.process(self._scans(p)),
            "blood": env.process(self._blood_draws(p)),
            "death": env.process(self._death(p)),
        }
        if math.isfinite(p.dropout_day):
            yield env.timeout(p.dropout_day)
            self._log(p, "drop-out")
            for process in p.processes.values():
                if process.is_alive:
                    process.interrupt("drop-out")

    def _off_study(self, p: _Patient, cause: str) -> None:
        """Death: every other process of the patient ends."""
        for process in p.processes.values():
            if process.is_alive and process is not self.env.active_process:
                process.interrupt(cause)

    # ---- treatment and toxicity ------------------------------------------------------------
    def _treatment(self, p: _Patient, *, crossover: bool = False):
        """Dose-limiting episodes, stops for unrelated events and first onsets, as competing
        hazards redrawn whenever one changes; ends at progression, a stop, the horizon or
        off study. On crossover only the stop matters (it ends the crossover drug)."""
        s, env = self.s, self.env
        rng = p.streams.crossover if crossover else p.streams.treatment
        tox, dosing = s.toxicity, s.dosing
        horizon = s.study.follow_up_days
        t = 0.0  # treatment day, kept exactly (not from the calendar) so cycles turn on time
        level = 0 if crossover else p.change_level[0]  # crossover starts at the top dose
        resume_day = math.inf  # end of the current interruption
        resume_level = level
        episodes, occurrences = 0, {}
        names = self.event_names
        multipliers = tox.cycle_multipliers
        try:
            while True:
                if t >= horizon:
                    break
                cycle = min(int(t // tox.cycle_days), len(multipliers) - 1)
                next_cycle = (
                    (cycle + 1) * tox.cycle_days if cycle < len(multipliers) - 1 else math.inf
                )
                taking = level != _OFF
                drug = (
                    p.susceptibility * self.dose_factor[level] * multipliers[cycle]
                    if taking
                    else 0.0
                )
                rates = [
                    tox.dlt_rate_per_day * drug if episodes < dosing.max_dose_events else 0.0,
                    tox.background_stop_rate_per_day,
                ]
                if not crossover:
                    for k, name in enumerate(names):
                        event = tox.events[name]
                        onset = event.onset_rate_per_day * drug + event.placebo_rate_per_day
                        rates.append(0.0 if k in p.onset else onset)
                total = sum(rates)
                boundary = min(next_cycle, resume_day, horizon)
                wait = rng.standard_exponential() / total if total > 0 else math.inf
                if t + wait >= boundary:
                    yield env.timeout(boundary - t)
                    t = boundary
                    if t >= resume_day:
                        level, resume_day = resume_level, math.inf
                        self._change(p, level, crossover)
                    continue
                yield env.timeout(wait)
                t += wait
                which = rng.choice(len(rates), p=np.array(rates) / total)
                if which >= 2:  # first onset of a type
                    p.onset[which - 2] = self.now(p)
                    self._log(p, "adverse event", names[which - 2])
                    continue
                if which == 1:  # stop for an unrelated adverse event
                    self._stop(p, crossover)
                    return
                # a dose-limiting episode
                kind = self._draw_type(names, rng)
                grade = self._draw_grade(tox.events[names[kind]], rng)
                occurrence = occurrences.get(kind, 0)
                occurrences[kind] = occurrence + 1
                action = self._action(names[kind], grade, occurrence)
                if rng.random() < tox.stop_probability:
                    action = "stop"
                new_level = level + _LEVEL_STEP[action]
                if new_level >= len(self.ladder):
                    action = "stop"
                episodes += 1
                if not crossover:
                    p.episodes.append((self.now(p), kind, grade, action))
                    self._log(p, "dose-limiting episode", f"{names[kind]} grade {grade}: {action}")
                    p.onset.setdefault(kind, self.now(p))  # an episode is also an onset
                if action == "stop":
                    self._stop(p, crossover)
                    return
                if action == "continue":
                    continue
                if action in _INTERRUPTING:
                    length = tox.interruption_median_days * math.exp(
                        tox.interruption_log_sd * rng.standard_normal()
                    )
                    level, resume_day, resume_level = _OFF, t + length, new_level
                    self._change(p, _OFF, crossover)
                else:
                    level = new_level
                    self._change(p, level, crossover)
        except simpy.Interrupt:
            if not crossover:
                p.treatment_end = min(p.treatment_end, self.now(p))
            return
        if crossover:  # the crossover drug ends at the horizon
            self._end_crossover(p)
        else:
            p.treatment_end = min(p.treatment_end, self.now(p))

    def _change(self, p: _Patient, level: int, crossover: bool, why: str = "") -> None:
        """Record a dose change now (the crossover drug's doses are not recorded)."""
        if not crossover:
            p.change_day.append(self.now(p))
            p.change_level.append(level)
            dose = "off" if level == _OFF else f"{self.dose_mg(level):g} mg/day"
            self._log(p, "dose", dose + why)

    def _stop(self, p: _Patient, crossover: bool) -> None:
        """Treatment stopped for an adverse event."""
        if crossover:
            self._end_crossover(p)
            return
        p.stop_day = self.now(p)
        p.treatment_end = min(p.treatment_end, p.stop_day)
        if p.change_level[-1] != _OFF:
            self._change(p, _OFF, crossover, ": treatment stopped")

    def _end_crossover(self, p: _Patient) -> None:
        p.crossover_end = self.now(p)
        death = p.processes["death"]
        if death.is_alive:
            death.interrupt("crossover drug stopped")

    def _draw_type(self, names, rng) -> int:
        share = np.array([self.s.toxicity.events[k].dlt_share for k in names])
        return int(rng.choice(len(names), p=share / share.sum()))

    def _draw_grade(self, event, rng) -> int:
        grades = [g for g in ("2", "3", "4") if event.grade_probabilities.get(g, 0.0) > 0]
        weights = np.array([event.grade_probabilities[g] for g in grades])
        return int(grades[rng.choice(len(grades), p=weights / weights.sum())])

    def _action(self, name: str, grade: int, occurrence: int) -> str:
        tox = self.s.toxicity
        rules = tox.events[name].rules or tox.rules
        actions = rules.get(str(grade), tox.rules[str(grade)])
        return actions[min(occurrence, len(actions) - 1)]

    # ---- death -----------------------------------------------------------------------------
    def _death(self, p: _Patient):
        """Death hazard: before progression, after it, and on crossover drug after it."""
        trial, env = self.s.trial, self.env
        while True:
            progressed = not math.isnan(p.pd_day)
            if not progressed:
                rate = trial.death_rate_per_day
            elif p.crossover and not math.isfinite(p.crossover_end):
                rate = (
                    trial.post_progression_death_rate_per_day * trial.crossover_death_hazard_ratio
                )
            else:
                rate = trial.post_progression_death_rate_per_day
            wait = p.streams.fate.standard_exponential() / rate if rate > 0 else math.inf
            try:
                if math.isfinite(wait):
                    yield env.timeout(wait)
                else:
                    yield env.event()  # only an interruption (a hazard change) wakes it
            except simpy.Interrupt as stop:
                if stop.cause in ("drop-out",):
                    return
                continue  # the hazard changed: draw again (memoryless)
            t = self.now(p)
            p.death_day = t
            self._log(p, "death")
            if math.isnan(p.pd_day):
                self._pfs_event(p, t)
            self._off_study(p, "death")
            return

    # ---- scans -----------------------------------------------------------------------------
    def _baseline_scan(self, p: _Patient) -> None:
        reading = p.streams.reading
        measured = self._read_targets(p, 0.0, reading.standard_normal(len(p.targets)))
        baseline = sum(measured)
        p.recist = RecistState.at_baseline(np.array([baseline]))
        p.scan_day.append(0.0)
        p.overall.append(int(Response.NA))
        p.target_sum.append(baseline)
        self._log(p, "scan", f"baseline, target sum {baseline:g} mm")
        if p.nontarget_mm3 > 0:
            p.nontarget_nadir = math.exp(
                self.s.tumour.nontarget_read_log_sd * reading.standard_normal()
            )

    def _scans(self, p: _Patient):
        s, rng, env = self.s, p.streams.calendar, self.env
        imaging, study, ops = s.imaging, s.study, s.operations
        horizon = study.follow_up_days
        count = int(math.floor((horizon - imaging.first_scan_day) / imaging.interval_days)) + 1
        planned = [imaging.first_scan_day + imaging.interval_days * k for k in range(max(count, 0))]
        try:
            for k, day in enumerate(planned):
                next_window = (
                    planned[k + 1] - imaging.window_days if k + 1 < len(planned) else math.inf
                )
                target = day + rng.uniform(-imaging.window_days, imaging.window_days)
                missed = rng.random() < imaging.missed_scan_probability
                if missed and ops.missed_scan_retry_days is not None:
                    target += ops.missed_scan_retry_days
                    missed = target >= next_window
                if missed:
                    continue
                if target > horizon:
                    break
                yield env.timeout(max(target - self.now(p), 0.0))
                when = self._book(p, day + imaging.window_days)
                if when is None:  # no slot within the window and late scans are missed
                    if ops.missed_scan_retry_days is None:
                        continue
                    retry = self.now(p) + ops.missed_scan_retry_days
                    if retry >= next_window or retry > horizon:
                        continue
                    yield env.timeout(retry - self.now(p))
                    when = self._book(p, math.inf)
                if when > self.now(p):
                    yield env.timeout(when - self.now(p))
                t = self.now(p)
                if t > horizon:
                    break
                if not study.scan_after_discontinuation and t > p.stop_day:
                    break
                self._scan(p, t)
                if not math.isnan(p.pd_day) and not study.scan_after_progression:
                    break
        except simpy.Interrupt:
            pass

    def _book(self, p: _Patient, window_end: float) -> float | None:
        """The patient day of the first free scanner slot from now (None if none is free
        by ``window_end`` and late scans are missed)."""
        slots = self.s.operations.scanner_slots_per_day
        if slots is None:
            return self.now(p)
        today = math.floor(self.env.now)
        day = today
        while self.slots.get(day, 0) >= slots:
            day += 1
        when = self.now(p) + (day - today)
        if when > window_end:
            if self.s.operations.late_scan == "miss":
                return None
            self.delays.append(when - window_end)
        self.slots[day] = self.slots.get(day, 0) + 1
        return when

    def _exposure(self, p: _Patient, t: float) -> float:
        """Cumulative exposure (full-dose days) up to day ``t``."""
        return float(p.integral(t, self.exposure_of)[0])

    def _true_sizes(self, p: _Patient, t: float, exposure: float) -> list[float]:
        normal_mm = self.s.tumour.node_normal_mm
        sizes = []
        for lesion in p.targets:
            scale = float(lesion.relative_volume(t, exposure)) ** (1.0 / 3.0)
            normal = min(normal_mm, lesion.size_mm) if lesion.nodal else 0.0
            sizes.append(normal + (lesion.size_mm - normal) * scale)
        return sizes

    def _read_targets(self, p: _Patient, t: float, noise) -> list[float]:
        """What the reader records for each target (0 = gone)."""
        s = self.s
        imaging = s.imaging
        exposure = self._exposure(p, t)
        long_axis = 1.0 if s.study.recist.nodes_by_short_axis else s.tumour.node_long_to_short_axis
        recorded = []
        for lesion, true, z in zip(p.targets, self._true_sizes(p, t, exposure), noise, strict=True):
            true = true * (long_axis if lesion.nodal else 1.0)
            if true < imaging.disappeared_mm and not lesion.nodal:
                recorded.append(0.0)
                continue
            size = true * math.exp(lesion.bias + imaging.reader_error_log_sd * z)
            size = max(size, imaging.too_small_mm)
            if imaging.rounding_mm > 0:
                size = round(size / imaging.rounding_mm) * imaging.rounding_mm
            recorded.append(size)
        return recorded

    def _burden(self, p: _Patient, t: np.ndarray, exposure: np.ndarray) -> np.ndarray:
        """Tumour volume relative to baseline (targets and non-target disease) at days ``t``."""
        normal_mm = self.s.tumour.node_normal_mm
        weights, volumes = [], []
        for lesion in p.targets:
            tumour_mm = lesion.size_mm - (min(normal_mm, lesion.size_mm) if lesion.nodal else 0.0)
            weights.append(tumour_mm**3)
            volumes.append(lesion.relative_volume(t, exposure))
        weights.append(p.nontarget_mm3)
        volumes.append(_relative_volume(*p.nontarget, t, exposure))
        weights = np.array(weights) / sum(weights)
        return weights @ np.array(volumes)

    def _new_lesions(self, p: _Patient, t: float) -> None:
        """New lesions appearing up to day ``t``: Poisson arrivals at rate ``rate x relative
        burden x exp(-effect x exposure)``, integrated on a grid of at most a day."""
        tumour = self.s.tumour
        if tumour.new_lesion_rate_per_day == 0 or t <= p.hazard_day:
            return
        steps = max(int(math.ceil(t - p.hazard_day)), 1)
        edges = np.linspace(p.hazard_day, t, steps + 1)
        middle = 0.5 * (edges[1:] + edges[:-1])
        exposure, level = p.integral(middle, self.exposure_of)
        effect = tumour.new_lesion_exposure_effect * tumour.drug_effect_scale
        rate = tumour.new_lesion_rate_per_day * self._burden(p, middle, exposure)
        rate *= np.exp(-effect * level)
        cumulative = p.hazard_sum + np.concatenate([[0.0], np.cumsum(rate * np.diff(edges))])
        while p.hazard_next <= cumulative[-1]:
            j = int(np.searchsorted(cumulative, p.hazard_next))  # crossing in step j - 1
            low, high = cumulative[j - 1], cumulative[j]
            fraction = (p.hazard_next - low) / (high - low) if high > low else 1.0
            p.new_lesions.append(edges[j - 1] + fraction * (edges[j] - edges[j - 1]))
            p.hazard_next += p.streams.lesions.standard_exponential()
        p.hazard_day, p.hazard_sum = t, float(cumulative[-1])

    def _scan(self, p: _Patient, t: float) -> None:
        s, rng = self.s, p.streams.reading
        tumour, imaging = s.tumour, s.imaging
        measured = self._read_targets(p, t, rng.standard_normal(len(p.targets)))
        # non-target disease, read by eye against its smallest reading so far
        if p.nontarget_mm3 > 0:
            volume = float(_relative_volume(*p.nontarget, t, self._exposure(p, t)))
            read = volume * math.exp(tumour.nontarget_read_log_sd * rng.standard_normal())
            if read >= tumour.nontarget_pd_volume_ratio * p.nontarget_nadir:
                nontarget = Response.PD
            elif (volume * p.nontarget_mm3) ** (1 / 3) < imaging.disappeared_mm:
                nontarget = Response.CR
            else:
                nontarget = Response.NON_CR_NON_PD
            p.nontarget_nadir = min(p.nontarget_nadir, read)
        else:
            nontarget = Response.NA
        # new lesions: each one present is seen or not, by its size
        self._new_lesions(p, t)
        growth = p.nontarget[0]
        for appeared in p.new_lesions:
            size = tumour.new_lesion_initial_mm * math.exp(min(growth * (t - appeared) / 3, 10.0))
            z = (size - imaging.new_lesion_detect_mm) / imaging.new_lesion_detect_scale_mm
            if rng.random() < 1.0 / (1.0 + math.exp(-z)):
                p.new_lesion_seen = True
        k = len(p.targets)
        block = classify_block(
            np.array(measured, float).reshape(1, 1, k),
            lesion_mask=np.ones((1, k), bool),
            nodal=np.array([[lesion.nodal for lesion in p.targets]]),
            visit_mask=np.ones((1, 1), bool),
            new_lesion=np.array([[p.new_lesion_seen]]),
            nontarget=np.array([[nontarget]], np.int8),
            criteria=s.study.recist,
            state=p.recist,
        )
        p.recist = block.state
        overall = int(block.overall[0, 0])
        p.scan_day.append(t)
        p.overall.append(overall)
        detail = f"{RESPONSE_NAMES[overall]}, target sum {sum(measured):g} mm"
        self._log(p, "scan", detail + (", new lesion" if p.new_lesion_seen else ""))
        p.target_sum.append(float(block.target_sum[0, 0]))
        if overall == Response.PD and math.isnan(p.pd_day):
            self._progression(p, t)

    def _progression(self, p: _Patient, t: float) -> None:
        trial, env = self.s.trial, self.env
        p.pd_day = t
        p.treatment_end = min(p.treatment_end, t)
        self._log(p, "progression")
        treatment, death = p.processes["treatment"], p.processes["death"]
        if treatment.is_alive:
            treatment.interrupt("progression")
        self._pfs_event(p, t)
        if p.arm == self.control and p.streams.fate.random() < trial.crossover_probability:
            p.crossover = True
            self._log(p, "crossover")
            p.processes["crossover"] = env.process(self._treatment(p, crossover=True))
        if death.is_alive:
            death.interrupt("progression")

    # ---- thyroglobulin ---------------------------------------------------------------------
    def _blood_draws(self, p: _Patient):
        s, env = self.s, self.env
        tg = s.thyroglobulin
        last = min(tg.last_day or s.study.follow_up_days, s.study.follow_up_days)
        day = tg.first_day
        try:
            while day <= last + 1e-9:
                yield env.timeout(max(day - self.now(p), 0.0))
                p.tg[day] = self._tg(p, day)
                day += tg.interval_days
        except simpy.Interrupt:
            pass

    def _tg(self, p: _Patient, t: float) -> float:
        """Measured serum Tg: production (tumour volume x the drug's direct cut) with
        first-order elimination, solved exactly over each constant-dose stretch."""
        tg = self.s.thyroglobulin
        elimination = math.log(2) * 24.0 / tg.half_life_hours
        relative = 1.0  # serum Tg per unit tumour, relative to the steady state off drug
        days = [*p.change_day, math.inf]
        for start, end, level in zip(days, days[1:], p.change_level, strict=False):
            if start >= t:
                break
            target = math.exp(-p.tg_effect * self.exposure_of(level))
            relative = target + (relative - target) * math.exp(-elimination * (min(end, t) - start))
        exposure = self._exposure(p, t)
        burden = float(self._burden(p, np.array([t]), np.array([exposure]))[0])
        noise = math.exp(tg.assay_log_sd * p.streams.blood.standard_normal())
        return p.tg_baseline * burden * relative * noise

    # ---- what the trial sees at the cut-off ------------------------------------------------
    def _record(self, p: _Patient, cutoff: float) -> dict:
        s = self.s
        study = s.study
        horizon = study.follow_up_days
        enrolled = p.enrol <= cutoff and bool(p.scan_day)
        if not enrolled:
            return self._not_enrolled(p)
        followed = min(max(cutoff - p.enrol, 0.0), horizon, p.dropout_day) if enrolled else 0.0
        observed = min(followed, p.death_day)
        days = np.array(p.scan_day)
        overall = np.array(p.overall, np.int8)
        seen = days <= observed
        seen[0] = True
        response = best_overall_response(
            overall[seen],
            days[seen],
            confirm=study.confirm_response,
            confirm_days=study.confirm_days,
            min_sd_days=study.min_sd_days,
        )
        best = Response(int(response.best))
        pd_day = p.pd_day if p.pd_day <= observed else math.nan
        died_first = p.death_day < (p.pd_day if not math.isnan(p.pd_day) else math.inf)
        first_event = p.death_day if died_first else p.pd_day
        pfs_event = first_event <= followed and first_event <= horizon
        pfs_event = pfs_event and (died_first or not math.isnan(pd_day))
        evaluable = [
            d
            for d, code in zip(days[seen][1:], overall[seen][1:], strict=True)
            if code != Response.NE
        ]
        pfs_days = first_event if pfs_event else (max(evaluable) if evaluable else 0.0)
        os_limit = min(cutoff - p.enrol, p.dropout_day)
        os_event = p.death_day <= os_limit
        end = min(p.treatment_end, observed, horizon)

        sums = np.array(p.target_sum)[seen]
        until = np.arange(seen.sum()) >= 1
        if not math.isnan(pd_day):
            until &= days[seen] <= pd_day
        change = 100.0 * (sums[until] / sums[0] - 1.0)
        change = change[np.isfinite(change)]

        record = {
            "patient": p.index,
            "arm": s.arms[p.arm].name,
            "histology": list(s.cohort.histology)[p.histology],
            "n_targets": len(p.targets),
            "baseline_sum_mm": p.target_sum[0],
            "bor": RESPONSE_NAMES[best],
            "pd_day": pd_day,
            "best_pct_change": float(change.min()) if change.size else math.nan,
            "tg_change_4wk": (
                p.tg[TG_CHANGE_DAY] / p.tg[0.0] - 1.0
                if TG_CHANGE_DAY in p.tg and observed >= TG_CHANGE_DAY
                else math.nan
            ),
            "end_of_treatment_day": end,
        }
        record |= self._treatment_record(p, end)
        record |= {
            "enrol_day": p.enrol,
            "enrolled": True,
            "follow_up_days": followed,
            "pfs_days": pfs_days,
            "pfs_event": pfs_event,
            "os_days": p.death_day if os_event else os_limit,
            "os_event": os_event,
            "sd_6mo": self._stable_six_months(
                days[seen], overall[seen], best, response, pfs_event, pfs_days
            ),
            "crossover": p.crossover and p.pd_day <= followed,
        }
        return record

    def _not_enrolled(self, p: _Patient) -> dict:
        """A patient randomised after the cut-off: nothing seen."""
        record = {
            "patient": p.index,
            "arm": self.s.arms[p.arm].name,
            "histology": list(self.s.cohort.histology)[p.histology],
            "n_targets": len(p.targets),
            "baseline_sum_mm": math.nan,
            "bor": "NE",
            "pd_day": math.nan,
            "best_pct_change": math.nan,
            "tg_change_4wk": math.nan,
            "end_of_treatment_day": 0.0,
        }
        record |= self._treatment_record(p, 0.0)
        return record | {
            "enrol_day": p.enrol,
            "enrolled": False,
            "follow_up_days": 0.0,
            "pfs_days": 0.0,
            "pfs_event": False,
            "os_days": 0.0,
            "os_event": False,
            "sd_6mo": False,
            "crossover": False,
        }

    def _treatment_record(self, p: _Patient, end: float) -> dict:
        # up to and including the end: the event that stopped treatment counts
        before = [e for e in p.episodes if e[0] <= end]
        level = p.level_at(end - 1e-9) if end > 0 else p.change_level[0]
        if level == _OFF and p.stop_day <= end:
            level = p.level_at(p.stop_day - 1e-9)
        record = {
            "final_dose_mg": self.dose_mg(level) if p.on_drug else 0.0,
            "mean_daily_dose_mg": (
                float(p.integral(end, self.dose_mg)[0]) / end if p.on_drug and end > 0 else math.nan
            ),
            "dose_reductions": sum(e[3] in _REDUCING for e in before),
            "dose_interruptions": sum(e[3] in _INTERRUPTING for e in before),
            "ae_discontinuation": p.stop_day <= end,
        }
        for k, name in enumerate(self.event_names):
            record[f"{name}_any"] = p.onset.get(k, math.inf) <= end
            record[f"{name}_grade3"] = any(e[1] == k and e[2] >= 3 for e in before)
        return record

    def _stable_six_months(self, days, overall, best, response, pfs_event, pfs_days) -> bool:
        trial = self.s.trial
        if best in _RESPONDER:
            return False
        if trial.sd_definition == "progression_free":
            return best != Response.PD and pfs_days >= trial.sd_days
        late = np.flatnonzero((days >= trial.sd_days) & (np.arange(len(days)) >= 1))
        if late.size == 0:
            return False
        first = late[0]
        before_pd = response.pd_visit < 0 or response.pd_visit > first
        return Response(int(overall[first])) in _STABLE and bool(before_pd)
