"""Scenario files: TOML loaded once into validated, frozen configuration objects.

A scenario describes one study: its arms, scan calendar, response criteria and follow-up,
plus the disease and drug model. Disease and drug parameters live in a base file that study
files pull in with a top-level ``include = "base/....toml"`` (paths relative to the including
file); the study file's values override the base's, table by table.

Every mistake is reported at load time with the file, the dotted key path, the bad value and
what is allowed; unknown keys are errors, so a typo never falls back to a default silently.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simtrial.recist import RECIST_1_0, RECIST_1_1, Criteria

__all__ = [
    "AdverseEvent",
    "Arm",
    "Cohort",
    "Dosing",
    "Imaging",
    "Operations",
    "Scenario",
    "ScenarioError",
    "Site",
    "Study",
    "Target",
    "Thyroglobulin",
    "Trial",
    "Toxicity",
    "Tumour",
    "load_scenario",
    "scenario_from_dict",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Action = Literal["continue", "interrupt", "reduce", "interrupt_reduce", "interrupt_reduce2", "stop"]


def _summing_to_one(probabilities: dict[str, float], what: str) -> dict[str, float]:
    total = sum(probabilities.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, got {total:g}")
    return probabilities


class ScenarioError(ValueError):
    """A scenario file or value is invalid; the message says where and what is allowed."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Study(_Config):
    """What the study was: name, source, response criteria and follow-up."""

    name: str
    source: str = ""
    criteria: Literal["RECIST 1.1", "RECIST 1.0"] = "RECIST 1.1"
    confirm_response: bool = False
    confirm_days: NonNegative = 28.0
    min_sd_days: NonNegative = 42.0
    follow_up_days: Positive
    scan_after_discontinuation: bool = True
    """Intention to treat: patients who stop the drug for toxicity keep being scanned."""
    scan_after_progression: bool = False
    """Keep scanning after the first PD (default: RECIST assessment ends at progression)."""

    @property
    def recist(self) -> Criteria:
        return RECIST_1_0 if self.criteria == "RECIST 1.0" else RECIST_1_1


class Arm(_Config):
    """One arm: its size and whether it gets the drug."""

    name: str
    n: Annotated[int, Field(gt=0)]
    drug: bool = True
    start_dose_mg_per_day: Positive | None = None
    """Defaults to the top of the dose ladder; ignored on placebo."""


class Site(_Config):
    """A metastatic site: how often it is involved and what its lesions look like."""

    probability: Probability
    nodal: bool = False
    extra_lesions_mean: NonNegative = 0.5
    """Measurable lesions beyond the first: Poisson mean (targets take at most two per organ)."""
    median_size_mm: Positive
    size_log_sd: NonNegative = 0.4
    measurable_probability: Probability = 1.0
    """Chance that an involved site has a measurable lesion (bone: soft-tissue component)."""
    nontarget_lesions_mean: NonNegative = 1.0


class Cohort(_Config):
    """Who is enrolled: metastatic sites, histology, baseline lesions."""

    sites: dict[str, Site]
    histology: dict[str, Probability]
    histology_growth_multiplier: dict[str, Positive] = {}

    @field_validator("sites")
    @classmethod
    def _some_site(cls, sites: dict[str, Site]) -> dict[str, Site]:
        if not sites:
            raise ValueError("at least one metastatic site is needed")
        return sites

    @field_validator("histology")
    @classmethod
    def _sums_to_one(cls, histology: dict[str, float]) -> dict[str, float]:
        return _summing_to_one(histology, "histology probabilities")

    @model_validator(mode="after")
    def _multipliers_name_histologies(self) -> Cohort:
        nodal = [name for name, site in self.sites.items() if site.nodal]
        if len(nodal) > 1:
            raise ValueError(
                f"sites {nodal} are all nodal; RECIST counts lymph nodes as one organ, so "
                "give them as one nodal site"
            )
        unknown = set(self.histology_growth_multiplier) - set(self.histology)
        if unknown:
            raise ValueError(
                f"histology_growth_multiplier names {sorted(unknown)}, which are not in "
                f"histology ({sorted(self.histology)})"
            )
        return self


class Tumour(_Config):
    """Lesion dynamics: drug-sensitive and resistant cells, volume growth, drug kill.

    Per lesion, relative volume ``(1 - r) exp(g t - k C(t)) + r exp(g t)`` with ``C`` the
    cumulative exposure (full-dose days); diameter follows volume^(1/3).
    """

    growth_rate_per_day: Positive
    growth_log_sd: NonNegative
    lesion_growth_log_sd: NonNegative = 0.3
    max_growth_rate_per_day: Positive = 0.02
    """Upper bound on any lesion's growth rate (log-normal tails are not biology)."""
    kill_rate_per_day: NonNegative
    drug_effect_scale: NonNegative = 1.0
    """Multiplies the drug's effects on the tumour (kill rates and the fall of the new-lesion
    hazard): a what-if for a weaker (< 1) or stronger drug."""
    kill_log_sd: NonNegative
    lesion_kill_log_sd: NonNegative = 0.3
    resistant_fraction: Annotated[float, Field(gt=0.0, lt=1.0)]
    resistant_logit_sd: NonNegative
    lesion_resistant_logit_sd: NonNegative = 0.5
    regressing_fraction: Probability = 0.0
    """Patients whose disease slowly regresses untreated (lets placebo PRs happen)."""
    regressing_rate_per_day: NonNegative = 0.002
    node_normal_mm: Annotated[float, Field(gt=0.0, lt=10.0)] = 6.0
    """A node whose tumour is gone shrinks to this short axis, not to zero (a normal node
    is < 10 mm, RECIST 1.1)."""
    node_long_to_short_axis: Annotated[float, Field(ge=1.0)] = 1.4
    """Long axis / short axis of a node (RECIST 1.0 measures nodes by the long axis)."""
    new_lesion_rate_per_day: NonNegative
    """Hazard of a new lesion per unit of tumour burden relative to baseline, off drug."""
    new_lesion_exposure_effect: NonNegative
    """The hazard is multiplied by exp(-effect x exposure)."""
    new_lesion_initial_mm: Positive = 2.0
    nontarget_pd_volume_ratio: Annotated[float, Field(gt=1.0)] = 1.73
    """Non-target burden volume over its nadir read as unequivocal progression (1.73 = +20%
    in diameter)."""
    nontarget_read_log_sd: NonNegative = 0.15


class Thyroglobulin(_Config):
    """Serum Tg: production from tumour volume, direct drug effect, elimination, assay noise."""

    baseline_median_ng_ml: Positive
    baseline_log_sd: NonNegative
    direct_effect: NonNegative
    """Log-fold fall of Tg production at full exposure (0.69 = halved)."""
    direct_effect_log_sd: NonNegative
    half_life_hours: Positive = 65.0
    assay_log_sd: NonNegative = 0.05
    first_day: Positive = 28.0
    interval_days: Positive = 28.0
    last_day: Positive | None = None
    """Last draw (default: end of follow-up)."""


class AdverseEvent(_Config):
    """One adverse-event type."""

    onset_rate_per_day: NonNegative
    """Hazard of first onset (any grade) at full dose in cycles after the early ones."""
    placebo_rate_per_day: NonNegative = 0.0
    """Hazard of first onset off drug (background; both arms)."""
    dlt_share: Probability = 0.0
    """Share of dose-limiting episodes attributed to this type."""
    grade_probabilities: dict[Literal["2", "3", "4"], Probability] = {"2": 0.7, "3": 0.3}
    """Grade of a dose-limiting episode of this type."""
    rules: dict[Literal["2", "3", "4"], list[Action]] | None = None
    """This type's own modification rules (default: the toxicity section's)."""

    @field_validator("grade_probabilities")
    @classmethod
    def _grades_sum_to_one(cls, grades: dict[str, float]) -> dict[str, float]:
        return _summing_to_one(grades, "grade probabilities")


class Toxicity(_Config):
    """Dose-limiting toxicity episodes and the label's rules that turn them into doses."""

    dlt_rate_per_day: NonNegative
    """Hazard of a dose-limiting episode at full dose, after the early cycles."""
    dose_exponent: NonNegative = 1.0
    """Hazards scale with (dose / reference dose) ** dose_exponent."""
    susceptibility_log_sd: NonNegative = 0.5
    cycle_days: Positive = 28.0
    cycle_multipliers: list[Positive] = [1.0]
    """Hazard multiplier for cycle 1, 2, ...; the last applies to all later cycles."""
    interruption_median_days: Positive = 10.0
    interruption_log_sd: NonNegative = 0.5
    stop_probability: Probability = 0.0
    """Chance that any dose-limiting episode ends treatment whatever the rules say."""
    background_stop_rate_per_day: NonNegative = 0.0
    """Hazard of stopping for an adverse event unrelated to the drug (both arms)."""
    rules: dict[Literal["2", "3", "4"], list[Action]]
    """Action at the 1st, 2nd, ... episode of a type at each grade; the last repeats."""
    events: dict[str, AdverseEvent]

    @field_validator("cycle_multipliers")
    @classmethod
    def _some_multiplier(cls, values: list[float]) -> list[float]:
        if not values:
            raise ValueError("give at least one multiplier")
        return values

    @model_validator(mode="after")
    def _complete(self) -> Toxicity:
        missing = {"2", "3", "4"} - set(self.rules)
        if missing:
            raise ValueError(f"rules need grades 2, 3 and 4; missing {sorted(missing)}")
        empty = [grade for grade, actions in self.rules.items() if not actions]
        if empty:
            raise ValueError(f"rules for grade {empty[0]} list no action")
        if not self.events:
            raise ValueError("events lists no adverse-event type; give at least one")
        _summing_to_one({k: e.dlt_share for k, e in self.events.items()}, "events' dlt_share")
        return self


class Dosing(_Config):
    """The dose ladder and how dose becomes exposure."""

    drug: str
    ladder_mg_per_day: list[Positive]
    exposure_exponent: Positive = 1.0
    """Exposure = (dose / top of ladder) ** exponent: less than proportional above the top."""
    max_dose_events: Annotated[int, Field(ge=1, le=32)] = 8

    @field_validator("ladder_mg_per_day")
    @classmethod
    def _decreasing(cls, ladder: list[float]) -> list[float]:
        if not ladder:
            raise ValueError("the dose ladder needs at least one level")
        if any(b >= a for a, b in zip(ladder, ladder[1:], strict=False)):
            raise ValueError(f"the dose ladder must decrease strictly, got {ladder}")
        return ladder


class Imaging(_Config):
    """Scan calendar and how readers measure."""

    first_scan_day: Positive
    interval_days: Positive
    window_days: NonNegative = 7.0
    """Each scan falls uniformly within +/- this many days of its planned day."""
    missed_scan_probability: Probability = 0.0
    reader_error_log_sd: NonNegative
    reader_bias_log_sd: NonNegative = 0.0
    rounding_mm: NonNegative = 1.0
    too_small_mm: Positive = 5.0
    """A lesion seen but too small to measure is recorded as this size (RECIST 1.1)."""
    disappeared_mm: NonNegative = 2.0
    """Below this true diameter a lesion is read as gone (0 mm)."""
    new_lesion_detect_mm: Positive = 5.0
    """A new lesion of this diameter is detected with probability 1/2."""
    new_lesion_detect_scale_mm: Positive = 1.5

    @model_validator(mode="after")
    def _window_inside_interval(self) -> Imaging:
        if self.window_days >= self.first_scan_day:
            raise ValueError(
                f"window_days ({self.window_days:g}) must be smaller than first_scan_day "
                f"({self.first_scan_day:g}): no scan may fall on or before baseline"
            )
        if 2 * self.window_days >= self.interval_days:
            raise ValueError(
                f"window_days ({self.window_days:g}) must be less than half of interval_days "
                f"({self.interval_days:g}) so that scans stay in order"
            )
        return self


class Operations(_Config):
    """How the clinic runs, simulated only by the discrete-event engine (:mod:`simtrial.des`):
    a shared imaging unit and what happens to scans that cannot be done on time. The
    defaults (unlimited scanners, missed scans skipped) are what the vectorised engine
    assumes."""

    scanner_slots_per_day: Annotated[int, Field(gt=0)] | None = None
    """Scans the trial's imaging unit can do per calendar day (None: unlimited)."""
    late_scan: Literal["delay", "miss"] = "delay"
    """A scan with no free slot within its visit window is done at the first free slot
    (``"delay"``) or missed (``"miss"``)."""
    missed_scan_retry_days: Positive | None = None
    """A missed scan is redone this many days later if that is still before the next
    planned scan's window (None: a missed scan is skipped)."""

    @property
    def is_default(self) -> bool:
        return self == Operations()


class Trial(_Config):
    """The trial around the patients: accrual, cut-off, drop-out, death, crossover."""

    accrual: Literal["uniform", "poisson"] = "uniform"
    accrual_days: Positive
    """Enrolment period: uniform over it, or a Poisson process with the matching rate."""
    cutoff: Literal["calendar", "events"] = "calendar"
    cutoff_day: Positive | None = None
    """Calendar cut-off, days from the start of accrual (``cutoff = "calendar"``)."""
    cutoff_events: Annotated[int, Field(gt=0)] | None = None
    """Number of PFS events (progression or death) that triggers the analysis."""
    dropout_rate_per_day: NonNegative = 0.0
    death_rate_per_day: NonNegative = 0.0
    """Hazard of death before progression."""
    post_progression_death_rate_per_day: NonNegative = 0.0
    control_arm: str | None = None
    """The comparator for hazard ratios (default: the arm without drug)."""
    crossover_probability: Probability = 0.0
    """Chance that a control patient starts open-label drug at progression."""
    crossover_death_hazard_ratio: Positive = 1.0
    """Death hazard on crossover drug relative to off drug, after progression."""
    pfs_model: Literal["lesions", "exponential"] = "lesions"
    """``lesions``: progression as RECIST reads it from the simulated scans; ``exponential``:
    progression at an exponential time with each arm's ``exponential_median_months``,
    observed the day it happens (no scans) — the textbook assumptions, for checking designs
    against formulas."""
    exponential_median_months: dict[str, Positive] = {}
    """Median PFS per arm name, for ``pfs_model = "exponential"``."""
    sd_days: Positive = 182.0
    """Stable disease 'lasting at least 6 months' (see ``sd_definition``)."""
    sd_definition: Literal["scan_at_or_after", "progression_free"] = "scan_at_or_after"
    """``scan_at_or_after``: a non-PD, evaluable assessment at the first scan on or after
    ``sd_days``, in a patient whose best response is not CR/PR; ``progression_free``: best
    response SD and no PFS event by ``sd_days``."""

    @model_validator(mode="after")
    def _cutoff_given(self) -> Trial:
        if self.cutoff == "calendar" and self.cutoff_day is None:
            raise ValueError('cutoff = "calendar" needs cutoff_day')
        if self.cutoff == "events" and self.cutoff_events is None:
            raise ValueError('cutoff = "events" needs cutoff_events')
        return self


class Target(_Config):
    """A published value a scenario should reproduce (see ../shared/TARGETS.md)."""

    published: float
    tolerance: NonNegative | None = None
    """The simulated mean must lie within this of ``published`` (None: interval rule only)."""
    minimum: float | None = None
    """Alternatively, the simulated mean must be at least this."""
    status: Literal["verified", "recalled"]
    source: str
    note: str = ""


class Scenario(_Config):
    """A whole scenario: study, arms, cohort, disease, drug, imaging."""

    study: Study
    arms: list[Arm]
    cohort: Cohort
    tumour: Tumour
    thyroglobulin: Thyroglobulin
    dosing: Dosing
    toxicity: Toxicity
    imaging: Imaging
    trial: Trial
    operations: Operations = Operations()
    targets: dict[str, Target] = {}
    """Published values by metric name (as ``simtrial run`` names them)."""

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[Arm]) -> list[Arm]:
        if not arms:
            raise ValueError("at least one arm is needed")
        names = [arm.name for arm in arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        return arms

    @model_validator(mode="after")
    def _start_doses_on_ladder(self) -> Scenario:
        ladder = self.dosing.ladder_mg_per_day
        for arm in self.arms:
            dose = arm.start_dose_mg_per_day
            if arm.drug and dose is not None and dose not in ladder:
                raise ValueError(
                    f"arms.{arm.name}.start_dose_mg_per_day = {dose:g}: not on the dose ladder "
                    f"(dosing.ladder_mg_per_day = {ladder})"
                )
        return self

    @model_validator(mode="after")
    def _trial_fits_arms(self) -> Scenario:
        names = [arm.name for arm in self.arms]
        control = self.trial.control_arm
        if control is not None and control not in names:
            raise ValueError(f"trial.control_arm = {control!r}: not an arm (arms: {names})")
        if len(self.arms) > 2:
            raise ValueError(f"at most two arms are supported, got {len(self.arms)}")
        if len(self.arms) == 2 and self.control is None:
            raise ValueError(
                "two arms need a control: set trial.control_arm or give one arm drug = false"
            )
        if self.trial.pfs_model == "exponential":
            missing = sorted(set(names) - set(self.trial.exponential_median_months))
            if missing:
                raise ValueError(
                    f'trial.pfs_model = "exponential" needs trial.exponential_median_months '
                    f"for every arm; missing {missing}"
                )
        events = self.trial.cutoff_events
        if events is not None and events > self.n_patients:
            raise ValueError(
                f"trial.cutoff_events = {events}: more than the {self.n_patients} patients"
            )
        return self

    @property
    def control(self) -> Arm | None:
        """The control arm of a two-arm scenario (None for a single arm)."""
        if len(self.arms) < 2:
            return None
        if self.trial.control_arm is not None:
            return next(arm for arm in self.arms if arm.name == self.trial.control_arm)
        without = [arm for arm in self.arms if not arm.drug]
        return without[0] if len(without) == 1 else None

    @property
    def n_patients(self) -> int:
        return sum(arm.n for arm in self.arms)

    def start_level(self, arm: Arm) -> int:
        """Index on the dose ladder where an arm starts (0 = top)."""
        if arm.start_dose_mg_per_day is None:
            return 0
        return self.dosing.ladder_mg_per_day.index(arm.start_dose_mg_per_day)

    def content_hash(self) -> str:
        """SHA-256 of the validated content (not of the file's formatting, nor the targets)."""
        content = self.model_dump(mode="json", exclude={"targets"})  # targets change no draw
        text = json.dumps(content, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def value_at(self, path: str) -> Any:
        """The value at a dotted key path (list entries by position or by name).

        Examples
        --------
        >>> from simtrial.scenario import load_scenario
        >>> load_scenario("scenarios/decision.toml").value_at("arms.placebo.n")
        210
        """
        node: Any = self.model_dump()
        keys = path.split(".")
        for depth, key in enumerate(keys):
            node = _step(node, key, keys[: depth + 1])
        return node

    def with_values(self, updates: Mapping[str, Any]) -> Scenario:
        """A copy with values replaced by dotted key path, validated like a file.

        Examples
        --------
        >>> from simtrial.scenario import load_scenario
        >>> scenario = load_scenario("scenarios/decision.toml")
        >>> scenario.with_values({"imaging.interval_days": 84}).imaging.interval_days
        84.0
        """
        data = self.model_dump()
        for path, value in updates.items():
            keys = path.split(".")
            node: Any = data
            for depth, key in enumerate(keys[:-1]):
                node = _step(node, key, keys[: depth + 1])
            if isinstance(node, list):
                node[_list_index(node, keys[-1], keys)] = value
            elif isinstance(node, dict) and keys[-1] in node:
                node[keys[-1]] = value
            else:
                raise ScenarioError(f"{path}: no such key in the scenario")
        return scenario_from_dict(data, origin="<override>")


def _list_index(node: list, key: str, keys: list[str]) -> int:
    """Lists (arms) are addressed by position or by the element's name."""
    for i, item in enumerate(node):
        if key == str(i) or (isinstance(item, dict) and item.get("name") == key):
            return i
    raise ScenarioError(f"{'.'.join(keys)}: no element {key!r}")


def _step(node: Any, key: str, keys: list[str]) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, key, keys)]
    if isinstance(node, dict) and key in node:
        return node[key]
    raise ScenarioError(f"{'.'.join(keys)}: no such key in the scenario")


# ------------------------------------------------------------------------------- loading


def _read_with_includes(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict, dict[tuple, Path]]:
    """Read a TOML file, merging its includes under it; record which file set each key."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise ScenarioError(f"{_display(path)}: include cycle ({chain})")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ScenarioError(f"{_display(path)}: no such scenario file") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{_display(path)}: not valid TOML: {error}") from None
    include = data.pop("include", None)
    merged: dict = {}
    origin: dict[tuple, Path] = {}
    if include is not None:
        names = [include] if isinstance(include, str) else include
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ScenarioError(
                f"{_display(path)}: include = {include!r}: must be a path or a list of paths"
            )
        for name in names:
            base, base_origin = _read_with_includes(path.parent / name, (*seen, path))
            _merge(merged, base, origin, base_origin, ())
    _merge(merged, data, origin, {(): path}, ())
    return merged, origin


def _merge(target: dict, source: dict, origin: dict, source_origin: dict, prefix: tuple) -> None:
    for key, value in source.items():
        where = prefix + (key,)
        file = _origin_of(source_origin, where)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, origin, source_origin, where)
        else:
            target[key] = value
            origin.update({k: v for k, v in source_origin.items() if k[: len(where)] == where})
            origin[where] = file


def _origin_of(origin: Mapping[tuple, Path], where: tuple) -> Path | None:
    for length in range(len(where), -1, -1):
        if where[:length] in origin:
            return origin[where[:length]]
    return None


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model that holds the key at ``loc`` (for 'did you mean')."""
    model: Any = Scenario
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = model.model_fields.get(key)
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        model = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            args[-1] if args else None,
        )
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _display(path: Path | str) -> str:
    """A path as the user would write it: relative below the working directory."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _describe(error: dict, origin: Mapping[tuple, Path], default_file: str) -> str:
    loc = tuple(error["loc"])
    names = [str(k) for k in loc]
    path = ".".join(names)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        # the key belongs in the file being loaded, whatever file opened its table
        return f"{default_file}: {path}: required key is missing"
    file = _display(
        _origin_of(origin, tuple(k for k in loc if not isinstance(k, int))) or default_file
    )
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = difflib.get_close_matches(names[-1], allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{file}: {path}: unknown key{suggestion} (allowed: {', '.join(allowed)})"
    value = error.get("input")
    if not path:
        return f"{file}: {message}"
    if isinstance(value, dict | list):
        return f"{file}: {path}: {message}"
    return f"{file}: {path} = {value!r}: {message}"


def scenario_from_dict(
    data: Mapping[str, Any], *, origin: str = "<dict>", key_files: Mapping | None = None
) -> Scenario:
    """Validate a scenario given as nested dicts (the TOML's structure).

    Raises
    ------
    ScenarioError
        One line per problem: file, dotted key path, bad value, what is allowed.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        lines = [_describe(e, key_files or {}, origin) for e in error.errors()]
        raise ScenarioError("\n".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (following its includes).

    Parameters
    ----------
    path : str or pathlib.Path
        A TOML scenario, e.g. ``scenarios/decision.toml``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Naming the file, the key path, the bad value and what is allowed.

    Examples
    --------
    >>> from simtrial.scenario import load_scenario
    >>> scenario = load_scenario("scenarios/pitoia2014.toml")
    >>> scenario.study.name, [arm.n for arm in scenario.arms]
    ('Pitoia 2014', [8])
    """
    path = Path(path)
    data, key_files = _read_with_includes(path)
    return scenario_from_dict(data, origin=str(path), key_files=key_files)
