"""Figures for teaching and reporting: Kaplan–Meier bands, waterfall, spider, swimmer,
thyroglobulin, best-response counts and power curves.

Every function takes a result object or a tidy frame and an optional matplotlib ``ax``
(a new figure is made when it is None) and returns the :class:`~matplotlib.figure.Figure`.
matplotlib is imported only when a function is called (``pip install simtrial[plot]``);
``import simtrial`` never imports this module.

Colours are fixed per best overall response (:data:`BOR_COLOURS`) and per arm, in the
scenario's order (:data:`ARM_COLOURS`), so the same category looks the same in every
figure. Times are shown in months (``365.25 / 12`` days, as the trial metrics report
medians) and every axis says its unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simtrial.survival import kaplan_meier
from simtrial.trial import DAYS_PER_MONTH

__all__ = [
    "ARM_COLOURS",
    "BOR_COLOURS",
    "bor_count_plot",
    "km_plot",
    "power_curve_plot",
    "spider_plot",
    "swimmer_plot",
    "tg_plot",
    "waterfall_plot",
]

#: Colour of each best overall response (RECIST category), the same in every figure.
BOR_COLOURS: dict[str, str] = {
    "CR": "#1F4E9E",
    "PR": "#56B4E9",
    "SD": "#E69F00",
    "NON_CR_NON_PD": "#C9B458",
    "PD": "#B2182B",
    "NE": "#9E9E9E",
}
#: Colours of the arms, in the scenario's arm order (first arm blue, second vermilion).
ARM_COLOURS: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9")

_BOR_ORDER = tuple(BOR_COLOURS)
_BOR_LABEL = {"NON_CR_NON_PD": "non-CR/non-PD"}
_AE_LABEL = {
    "hfsr": "hand-foot skin reaction",
    "weight_loss": "weight loss",
    "heart_failure": "heart failure",
}
_AE_MARKERS = ("o", "s", "^", "v", "*", "P", "p", "<", "h")
_ENDPOINTS = {"pfs": "Progression-free survival", "os": "Overall survival"}

# Font sizes (points): readable when projected.
_LABEL, _TICK, _LEGEND, _TITLE, _NOTE = 12, 11, 11, 13, 11
_PR_LINE, _PD_LINE = -30.0, 20.0


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "simtrial.plots needs matplotlib; install it with `pip install simtrial[plot]`"
        ) from error
    return plt


def _axes(ax, figsize: tuple[float, float]):
    """The figure and axes to draw on: a new constrained-layout figure when ``ax`` is None."""
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
        return fig, ax
    _pyplot()
    try:
        return ax.get_figure(root=True), ax
    except TypeError:  # matplotlib < 3.10 has no `root`
        return ax.figure, ax


def _label(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    ax.set_xlabel(xlabel, fontsize=_LABEL)
    ax.set_ylabel(ylabel, fontsize=_LABEL)
    ax.tick_params(labelsize=_TICK)
    if title:
        ax.set_title(title, fontsize=_TITLE)


def _month_ticks(ax) -> None:
    """Ticks at whole numbers of months (1, 2, 3, 6 or 12 apart)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 3, 6, 10], integer=True))


def _bor_label(bor: str) -> str:
    return _BOR_LABEL.get(bor, bor)


def _ae_label(name: str) -> str:
    return _AE_LABEL.get(name, name.replace("_", " "))


def _arm_colour(index: int) -> str:
    return ARM_COLOURS[index % len(ARM_COLOURS)]


def _require_columns(frame, columns: tuple[str, ...], name: str, hint: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame ({hint}); got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"`{name}` lacks column(s) {missing} ({hint}); it has {list(frame.columns)}"
        )
    return frame


def _bor_colour_list(bor) -> list[str]:
    return [BOR_COLOURS.get(str(b), BOR_COLOURS["NE"]) for b in bor]


def _bor_handles(bors, counts: Mapping[str, int] | None = None) -> list:
    """Legend patches for the BOR categories present, in RECIST order."""
    from matplotlib.patches import Patch

    present = [b for b in _BOR_ORDER if b in set(bors)]
    handles = []
    for b in present:
        label = _bor_label(b) if counts is None else f"{_bor_label(b)} (n = {counts[b]})"
        handles.append(Patch(facecolor=BOR_COLOURS[b], label=label))
    return handles


def _patient_simulation(simulation):
    """(PatientSimulation, TrialSimulation or None) from either result object."""
    if hasattr(simulation, "pfs_days") and hasattr(simulation, "patients"):
        return simulation.patients, simulation
    if hasattr(simulation, "dose_table") and hasattr(simulation, "tg_table"):
        return simulation, None
    raise TypeError(
        "expected a PatientSimulation (simulate_patients) or a TrialSimulation "
        f"(simulate_trial); got {type(simulation).__name__}"
    )


def _check_rep(rep, n_reps: int) -> int:
    if isinstance(rep, bool) or not isinstance(rep, int | np.integer):
        raise TypeError(f"`rep` must be an integer; got {type(rep).__name__}")
    if not 0 <= rep < n_reps:
        raise ValueError(f"`rep` must be in [0, {n_reps}) for {n_reps} replicate(s); got {rep}")
    return int(rep)


# --------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------


def km_plot(trials, *, endpoint: str = "pfs", ax=None):
    """Kaplan–Meier curves per arm over simulated trials: median curve and 95% band.

    For each arm, ``S(t)`` of every replicate is evaluated on a grid of 300 times; the
    line is the median over replicates and the shaded band runs from the 2.5th to the
    97.5th percentile (the spread of a trial of this size, not a confidence interval of
    the mean curve). A replicate's curve ends at its last follow-up time in the arm; the
    grid stops where fewer than 90% of the replicates still have a curve. The published
    median (``scenario.targets["median_<endpoint>_months.<arm>"]``, no arm suffix for a
    one-arm scenario) is marked by a dashed drop line from ``S = 0.5`` and a diamond; the
    legend gives each arm's simulated median (median and 95% range over replicates).

    Parameters
    ----------
    trials : TrialSimulation
        From :func:`simtrial.simulate_trial` (per-patient times are needed; a
        :class:`~simtrial.RunResult` keeps per-replicate metrics only). Arrays used:
        ``<endpoint>_days``, ``<endpoint>_event``, ``enrolled``, shape ``(rep * patient,)``,
        and ``patients.cohort.row_arm``.
    endpoint : {"pfs", "os"}
        Progression-free or overall survival.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Per arm: one median line (``ax.lines``) and one band (``ax.collections``); per
        published median, one dashed drop line and one diamond marker; a dotted line at
        ``S = 0.5``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from simtrial import simulate_trial
    >>> from simtrial.plots import km_plot
    >>> trials = simulate_trial("scenarios/decision.toml", n_reps=10, rng=1)
    >>> fig = km_plot(trials)
    >>> fig.axes[0].get_xlabel()
    'Months since randomisation'
    >>> plt.close(fig)
    """
    if endpoint not in _ENDPOINTS:
        raise ValueError(f"`endpoint` must be one of {sorted(_ENDPOINTS)}; got {endpoint!r}")
    if not (hasattr(trials, f"{endpoint}_days") and hasattr(trials, "patients")):
        raise TypeError(
            "km_plot needs a TrialSimulation from simulate_trial (per-patient times); "
            f"got {type(trials).__name__}"
        )
    fig, ax = _axes(ax, (8.5, 5.5))
    cohort = trials.patients.cohort
    scenario = trials.scenario
    n_reps, n_patients = cohort.n_reps, cohort.n_patients
    shape = (n_reps, n_patients)
    time = np.asarray(getattr(trials, f"{endpoint}_days"), float).reshape(shape)
    event = np.asarray(getattr(trials, f"{endpoint}_event"), bool).reshape(shape)
    enrolled = np.asarray(trials.enrolled, bool).reshape(shape)
    row_arm = np.asarray(cohort.row_arm).reshape(shape)
    horizon = float(np.nanmax(np.where(enrolled, time, np.nan))) if enrolled.any() else 1.0
    grid = np.linspace(0.0, max(horizon, 1.0), 300)
    arms = [arm.name for arm in scenario.arms]
    several = len(arms) > 1
    ax.axhline(0.5, color="0.6", linestyle=":", linewidth=1.0, zorder=1)
    for index, arm in enumerate(arms):
        mask = enrolled & (row_arm == index)
        present = mask.any(axis=1)
        if not present.any():
            continue
        colour = _arm_colour(index)
        km = kaplan_meier(
            np.where(mask, time, 0.0)[present],
            (event & mask)[present],
            mask=mask[present],
            at=grid,
        )
        survival = np.array(km.survival_at, float)
        last = np.max(np.where(mask[present], time[present], 0.0), axis=1)
        survival[grid[None, :] > last[:, None]] = np.nan
        defined = np.isfinite(survival).mean(axis=0) >= 0.9
        keep = np.cumprod(defined).astype(bool)  # up to the first time below 90%
        low, mid, high = np.percentile(survival[:, keep], [2.5, 50.0, 97.5], axis=0)
        months = grid[keep] / DAYS_PER_MONTH
        medians = np.asarray(km.median, float) / DAYS_PER_MONTH
        n_arm = int(np.median(mask[present].sum(axis=1)))
        label = f"{arm} (n = {n_arm}): {_median_text(medians)}"
        ax.step(months, mid, where="post", color=colour, linewidth=2.2, label=label, zorder=3)
        ax.fill_between(months, low, high, step="post", color=colour, alpha=0.2, linewidth=0)
        key = f"median_{endpoint}_months" + (f".{arm}" if several else "")
        target = scenario.targets.get(key)
        if target is not None:
            x = float(target.published)
            ax.plot([x, x], [0.0, 0.5], color=colour, linestyle="--", linewidth=1.5, zorder=2)
            ax.plot(
                [x],
                [0.5],
                marker="D",
                markersize=9,
                color=colour,
                markeredgecolor="black",
                linestyle="none",
                label=f"{arm}: published median {x:g} months",
                zorder=4,
            )
    ax.set_ylim(0.0, 1.02)
    ax.set_xlim(left=0.0)
    ax.grid(True, color="0.9")
    _month_ticks(ax)
    _label(
        ax,
        "Months since randomisation",
        f"{_ENDPOINTS[endpoint]} (probability)",
        f"{scenario.study.name}: {n_reps} simulated trials (median curve, 95% band)",
    )
    ax.legend(fontsize=_LEGEND, loc="upper right", framealpha=0.95)
    return fig


def _median_text(medians: np.ndarray) -> str:
    """Median and 95% range over replicates; a median not reached counts as +inf."""
    values = np.where(np.isnan(medians), np.inf, medians)
    low, mid, high = np.quantile(values, [0.025, 0.5, 0.975], method="inverted_cdf")
    if not np.isfinite(mid):
        return "median not reached in most trials"

    def text(value):
        return f"{value:.1f}" if np.isfinite(value) else "not reached"

    return f"median {mid:.1f} months [95% range {text(low)}–{text(high)}]"


# --------------------------------------------------------------------------------------
# Waterfall and spider
# --------------------------------------------------------------------------------------


def _threshold_lines(ax, horizontal: bool = True) -> None:
    for value, text in ((_PD_LINE, "+20%"), (_PR_LINE, "−30%")):
        ax.axhline(value, color="0.25", linestyle="--", linewidth=1.2, zorder=1)
        ax.annotate(
            text,
            xy=(1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=_NOTE,
            color="0.25",
        )


def waterfall_plot(patients_frame, *, ax=None):
    """Waterfall: each patient's best % change in the target sum, sorted, coloured by BOR.

    One bar per row of the frame, from the largest increase (left) to the deepest
    shrinkage (right). Patients without a value (``best_pct_change`` NaN: no follow-up
    scan before treatment ended or progression) are dropped and counted in a note on the
    plot. Dashed lines mark −30% (the partial-response threshold, from baseline) and +20%
    (the progression threshold, which RECIST measures from the nadir, with >= 5 mm).
    A bar's colour is the patient's best overall response, which also counts new lesions
    and non-target disease, so a bar below −30% can be SD (an unconfirmed or unsustained
    response) and one below +20% can be PD.

    Parameters
    ----------
    patients_frame : pandas.DataFrame
        One row per patient with columns ``best_pct_change`` (%) and ``bor``, e.g.
        ``simulate_patients(...).to_frame()`` or ``TrialSimulation.patient_frame()``;
        pass one replicate (filter on ``rep``) to show one cohort. With a single
        replicate of at most 40 patients, tick labels give the patient numbers.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.patches`` holds one bar per patient shown; two dashed threshold lines.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from simtrial import simulate_patients
    >>> from simtrial.plots import waterfall_plot
    >>> cohort = simulate_patients("scenarios/pitoia2014.toml", rng=2014).to_frame()
    >>> fig = waterfall_plot(cohort)
    >>> len(fig.axes[0].patches)
    8
    >>> plt.close(fig)
    """
    frame = _require_columns(
        patients_frame,
        ("best_pct_change", "bor"),
        "patients_frame",
        "one row per patient, e.g. simulate_patients(...).to_frame()",
    )
    fig, ax = _axes(ax, (8.5, 5.5))
    values = pd.to_numeric(frame["best_pct_change"], errors="coerce")
    shown = frame.loc[values.notna()].assign(_value=values[values.notna()])
    shown = shown.sort_values("_value", ascending=False, kind="stable")
    n_dropped = len(frame) - len(shown)
    x = np.arange(len(shown))
    bor = shown["bor"].astype(str).to_numpy()
    colours = _bor_colour_list(bor)
    thin = len(shown) > 60
    ax.bar(
        x,
        shown["_value"].to_numpy(),
        width=0.8 if not thin else 1.0,
        color=colours,
        edgecolor=colours,
        linewidth=0.0 if thin else 1.5,  # a 0% bar still shows as a line
        zorder=2,
    )
    ax.axhline(0.0, color="black", linewidth=0.8, zorder=3)
    _threshold_lines(ax)
    one_rep = "rep" not in shown.columns or shown["rep"].nunique() <= 1
    if one_rep and "patient" in shown.columns and 0 < len(shown) <= 40:
        ax.set_xticks(x, [str(p) for p in shown["patient"]])
        xlabel = "Patient (sorted by best change)"
    else:
        ax.set_xticks([])
        xlabel = f"{len(shown)} patients, sorted by best change"
    ax.set_xlim(-0.7, len(shown) - 0.3)
    ax.grid(True, axis="y", color="0.9", zorder=0)
    counts = pd.Series(bor).value_counts()
    handles = _bor_handles(bor, counts)
    ax.legend(handles=handles, title="Best response", fontsize=_LEGEND, title_fontsize=_LEGEND)
    if n_dropped:
        ax.text(
            0.01,
            0.02,
            f"{n_dropped} patient(s) without a follow-up measurement not shown",
            transform=ax.transAxes,
            fontsize=_NOTE,
            color="0.3",
        )
    _label(ax, xlabel, "Best change in target sum from baseline (%)")
    return fig


def spider_plot(visit_table, *, patients=None, ax=None):
    """Spider plot: each patient's % change in the target sum over time.

    One line per (replicate, patient), starting at 0% at baseline (day 0) and joining the
    follow-up visits; the visit where PD was declared carries an ``x`` marker (PD may come
    from new lesions or non-target disease at any % change). Lines are coloured by the
    patient's best overall response when it is known (a ``bor`` column in the visit
    table, or ``patients``), otherwise all alike. Dashed lines at −30% and +20%.

    Parameters
    ----------
    visit_table : pandas.DataFrame
        Columns ``rep``, ``patient``, ``day``, ``pct_from_baseline`` and ``overall``, one row
        per follow-up visit: ``PatientSimulation.visit_table()``.
    patients : pandas.DataFrame, optional
        Columns ``rep``, ``patient``, ``bor`` (e.g. ``PatientSimulation.to_frame()``) to
        colour the lines.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line per patient (``ax.lines``, labelled ``"_patient ..."``), the PD markers
        and the two threshold lines.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from simtrial import simulate_patients
    >>> from simtrial.plots import spider_plot
    >>> sim = simulate_patients("scenarios/pitoia2014.toml", rng=2014)
    >>> fig = spider_plot(sim.visit_table(), patients=sim.to_frame())
    >>> sum(line.get_label().startswith("_patient") for line in fig.axes[0].lines)
    8
    >>> plt.close(fig)
    """
    visits = _require_columns(
        visit_table,
        ("rep", "patient", "day", "pct_from_baseline"),
        "visit_table",
        "PatientSimulation.visit_table()",
    )
    if patients is not None and "bor" not in visits.columns:
        _require_columns(
            patients, ("rep", "patient", "bor"), "patients", "PatientSimulation.to_frame()"
        )
        visits = visits.merge(
            patients[["rep", "patient", "bor"]], on=["rep", "patient"], how="left"
        )
    fig, ax = _axes(ax, (9.0, 5.5))
    visits = visits.sort_values(["rep", "patient", "day"], kind="stable")
    groups = list(visits.groupby(["rep", "patient"], sort=True))
    many = len(groups) > 50
    default = ARM_COLOURS[0]
    bors_seen = []
    pd_x, pd_y = [], []
    for (rep, patient), rows in groups:
        days = np.concatenate([[0.0], rows["day"].to_numpy(float)])
        change = np.concatenate([[0.0], rows["pct_from_baseline"].to_numpy(float)])
        colour = default
        if "bor" in rows.columns and pd.notna(rows["bor"].iloc[0]):
            bor = str(rows["bor"].iloc[0])
            bors_seen.append(bor)
            colour = BOR_COLOURS.get(bor, BOR_COLOURS["NE"])
        ax.plot(
            days / DAYS_PER_MONTH,
            change,
            color=colour,
            linewidth=1.0 if many else 2.0,
            alpha=0.5 if many else 0.9,
            marker=None if many else "o",
            markersize=4,
            label=f"_patient {rep}:{patient}",
            zorder=2,
        )
        if "overall" in rows.columns:
            is_pd = (rows["overall"].astype(str) == "PD").to_numpy()
            pd_x.extend(rows["day"].to_numpy(float)[is_pd] / DAYS_PER_MONTH)
            pd_y.extend(rows["pct_from_baseline"].to_numpy(float)[is_pd])
    from matplotlib.lines import Line2D

    handles = _bor_handles(bors_seen) if bors_seen else []
    if pd_x:
        ax.plot(
            pd_x,
            pd_y,
            linestyle="none",
            marker="X",
            markersize=7 if many else 10,
            color="black",
            markeredgecolor="white",
            zorder=4,
        )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="X",
                markersize=10,
                color="black",
                label="visit with PD",
            )
        )
    ax.axhline(0.0, color="black", linewidth=0.8, zorder=1)
    _threshold_lines(ax)
    ax.set_xlim(left=0.0)
    ax.grid(True, color="0.9", zorder=0)
    if handles:
        ax.legend(
            handles=handles,
            title="Best response" if bors_seen else None,
            fontsize=_LEGEND,
            title_fontsize=_LEGEND,
            loc="upper left",
            bbox_to_anchor=(1.08, 1.0),
        )
    _month_ticks(ax)
    _label(ax, "Months since start of treatment", "Change in target sum from baseline (%)")
    return fig


# --------------------------------------------------------------------------------------
# Swimmer
# --------------------------------------------------------------------------------------


def swimmer_plot(
    simulation,
    *,
    rep: int = 0,
    arm: str | None = None,
    patients: Sequence[int] | None = None,
    ax=None,
):
    """Swimmer plot of one simulated cohort: time on treatment, dose, toxicity, progression.

    One horizontal bar per patient from day 0 to the end of treatment (first PD, stop for
    an adverse event, end of follow-up or, for a trial, the data cut-off), longest at the
    top. The bar's colour along its length is the dose in force (from the dose table;
    interruptions hatched; placebo grey). Markers: each dose-limiting adverse-event
    episode (shape by event type, above the bar), progression (red diamond), a stop for
    an adverse event (black cross), treatment ongoing at the end of follow-up (arrow). A
    thin grey line continues past the bar while the patient is still followed off
    treatment, up to a later PD or the last scan.

    Parameters
    ----------
    simulation : PatientSimulation or TrialSimulation
        From :func:`simtrial.simulate_patients` or :func:`simtrial.simulate_trial` (then
        only patients enrolled by the cut-off are drawn, and what the cut-off hides is
        not shown). Uses ``dose_table()``, ``doses.episode_day`` / ``episode_type``
        (shape ``(row, episode)``), ``doses.stop_day``, ``end_of_treatment`` and the
        first-PD day.
    rep : int, default 0
        The replicate cohort to draw.
    arm : str, optional
        Draw this arm's patients only.
    patients : sequence of int, optional
        Draw these patients (indices within the replicate) only. The plot is meant for
        tens of patients; a whole DECISION cohort (417) is a wall of bars.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.patches`` holds the dose segments (at least one per patient).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from simtrial import simulate_patients
    >>> from simtrial.plots import swimmer_plot
    >>> sim = simulate_patients("scenarios/pitoia2014.toml", rng=2014)
    >>> fig = swimmer_plot(sim)
    >>> len(fig.axes[0].get_yticks())
    8
    >>> plt.close(fig)
    """
    sim, trial = _patient_simulation(simulation)
    cohort, doses = sim.cohort, sim.doses
    rep = _check_rep(rep, cohort.n_reps)
    rows = np.arange(rep * cohort.n_patients, (rep + 1) * cohort.n_patients)
    follow_up = np.full(rows.size, float(sim.scenario.study.follow_up_days))
    end = np.asarray(sim.end_of_treatment, float)[rows]
    if trial is not None:
        end = np.asarray(trial.end_of_treatment, float)[rows]
        follow_up = np.asarray(trial.follow_up_days, float)[rows]
        keep = np.asarray(trial.enrolled, bool)[rows]
        rows, end, follow_up = rows[keep], end[keep], follow_up[keep]
    keep = np.ones(rows.size, bool)
    if arm is not None:
        names = [a.name for a in sim.scenario.arms]
        if arm not in names:
            raise ValueError(f"`arm` must be one of {names}; got {arm!r}")
        keep &= np.asarray(cohort.row_arm)[rows] == names.index(arm)
    if patients is not None:
        chosen = np.unique(np.asarray(patients, dtype=int))
        bad = chosen[(chosen < 0) | (chosen >= cohort.n_patients)]
        if bad.size:
            raise ValueError(
                f"`patients` must be indices in [0, {cohort.n_patients}); got {int(bad[0])}"
            )
        keep &= np.isin(rows - rep * cohort.n_patients, chosen)
    if not keep.any():
        raise ValueError("no patient to draw: the `arm` / `patients` selection is empty")
    rows, end, follow_up = rows[keep], end[keep], follow_up[keep]
    pd_day = np.asarray(sim.assessment.pd_day, float)[rows]
    pd_day = np.where(pd_day <= follow_up, pd_day, np.nan)
    held = sim.scan_held[rows] & (sim.scan_day[rows] <= follow_up[:, None])
    last_scan = np.max(np.where(held, sim.scan_day[rows], 0.0), axis=1)
    last_seen = np.where(np.isfinite(pd_day), pd_day, last_scan)
    stop_day = np.asarray(doses.stop_day, float)[rows]
    stopped = stop_day <= end
    on_drug = np.asarray(cohort.row_on_drug, bool)[rows]

    order = np.lexsort((-rows, end))  # shortest at the bottom, longest at the top
    n = rows.size
    y_of_row = dict(zip(rows[order], range(n), strict=True))
    height = max(4.5, min(0.42 * n + 2.2, 30.0))
    fig, ax = _axes(ax, (10.0, height))
    many = n > 40
    bar = 0.55

    # dose segments
    table = sim.dose_table()
    table = table[table["rep"] == rep]
    ladder = list(np.asarray(doses.ladder_mg, float))
    cmap = _pyplot().get_cmap("Blues")
    level_colour = {
        mg: cmap(v) for mg, v in zip(ladder, np.linspace(0.95, 0.3, len(ladder)), strict=True)
    }
    segments: dict[str, list] = {}
    by_patient = dict(iter(table.groupby("patient", sort=False)))
    for k, row in enumerate(rows):
        patient = row - rep * cohort.n_patients
        changes = by_patient.get(patient)
        if changes is None or not on_drug[k]:
            segments.setdefault("placebo", []).append((k, 0.0, end[k]))
            continue
        starts = changes["day"].to_numpy(float)
        mg = changes["dose_mg"].to_numpy(float)
        stops = np.append(starts[1:], np.inf)
        for s, e, m in zip(starts, stops, mg, strict=True):
            s, e = max(s, 0.0), min(e, end[k])
            if e > s:
                key = "interrupted" if m == 0 else f"{m:g}"
                segments.setdefault(key, []).append((k, s, e))
    legend_handles = []
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    keys = [f"{mg:g}" for mg in ladder] + ["interrupted", "placebo"]
    for key in keys:
        if key not in segments:
            continue
        k, s, e = (np.array(v) for v in zip(*segments[key], strict=True))
        y = np.array([y_of_row[rows[int(i)]] for i in k])
        style = {"color": level_colour.get(float(key), "0.5")} if key[0].isdigit() else {}
        if key == "interrupted":
            style = {"facecolor": "white", "edgecolor": "0.45", "hatch": "////", "linewidth": 0.6}
        elif key == "placebo":
            style = {"color": "0.75"}
        ax.barh(y, (e - s) / DAYS_PER_MONTH, left=s / DAYS_PER_MONTH, height=bar, **style)
        label = {"interrupted": "dose interrupted", "placebo": "placebo"}.get(key, f"{key} mg/day")
        legend_handles.append(Patch(label=label, **style))

    # follow-up off treatment
    y_all = np.array([y_of_row[r] for r in rows])
    off = last_seen > end + 1e-9
    if off.any():
        for k in np.flatnonzero(off):
            ax.plot(
                [end[k] / DAYS_PER_MONTH, last_seen[k] / DAYS_PER_MONTH],
                [y_all[k], y_all[k]],
                color="0.55",
                linewidth=1.5,
                zorder=1,
            )
        legend_handles.append(
            Line2D([], [], color="0.55", linewidth=1.5, label="followed off treatment")
        )

    # dose-limiting episodes, above the bar
    marker_size = 5 if many else 8
    episode_day = np.asarray(doses.episode_day, float)[rows]
    episode_type = np.asarray(doses.episode_type)[rows]
    for t, name in enumerate(doses.event_names):
        hit = (episode_type == t) & (episode_day <= end[:, None])
        k, j = np.nonzero(hit)
        if k.size == 0:
            continue
        marker = _AE_MARKERS[t % len(_AE_MARKERS)]
        ax.plot(
            episode_day[k, j] / DAYS_PER_MONTH,
            y_all[k] + bar / 2 + 0.17,
            linestyle="none",
            marker=marker,
            markersize=marker_size,
            markerfacecolor="white",
            markeredgecolor="black",
            zorder=5,
        )
        legend_handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker=marker,
                markersize=8,
                markerfacecolor="white",
                markeredgecolor="black",
                label=f"dose-limiting {_ae_label(name)}",
            )
        )

    # end-of-bar symbols
    symbols = (
        (np.isfinite(pd_day), pd_day, "D", BOR_COLOURS["PD"], "progression (PD)"),
        (stopped, stop_day, "X", "black", "stopped for adverse event"),
        (
            ~stopped & ~np.isfinite(pd_day) & (end >= follow_up - 1e-9),
            end,
            ">",
            "0.2",
            "on treatment at end of follow-up",
        ),
    )
    for flag, day, marker, colour, label in symbols:
        if not flag.any():
            continue
        ax.plot(
            day[flag] / DAYS_PER_MONTH,
            y_all[flag],
            linestyle="none",
            marker=marker,
            markersize=marker_size + 1,
            color=colour,
            markeredgecolor="white",
            zorder=6,
        )
        legend_handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker=marker,
                markersize=9,
                color=colour,
                markeredgecolor="white",
                label=label,
            )
        )

    if many:
        ax.set_yticks([])
        ylabel = f"{n} patients, sorted by time on treatment"
    else:
        ax.set_yticks(np.arange(n), [str(r - rep * cohort.n_patients) for r in rows[order]])
        ylabel = "Patient (sorted by time on treatment)"
    ax.set_ylim(-0.7, n - 0.1)
    ax.set_xlim(left=0.0)
    ax.grid(True, axis="x", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    ax.legend(
        handles=legend_handles,
        fontsize=_LEGEND,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    title = f"{sim.scenario.study.name}: simulated cohort {rep}"
    _month_ticks(ax)
    _label(ax, "Months since start of treatment", ylabel, title)
    return fig


# --------------------------------------------------------------------------------------
# Thyroglobulin
# --------------------------------------------------------------------------------------


def tg_plot(
    simulation,
    *,
    rep: int | None = None,
    max_lines: int = 20,
    after_treatment: bool = False,
    ax=None,
):
    """Serum thyroglobulin over time, log scale.

    With at most ``max_lines`` patients to show, one line per patient, coloured by best
    overall response, through the draws on treatment (baseline included; a patient who
    stopped before the first draw is a single point). With more, per arm the median
    (line) and the 5th–95th percentiles (band) over the patients still on treatment at
    each draw; draws with fewer than 10 such patients (in an arm of under 20: fewer than
    half the arm, at least 3) are left out. Non-positive values
    cannot be shown on a log axis and are dropped.

    Parameters
    ----------
    simulation : PatientSimulation or TrialSimulation
        Uses ``tg_day`` / ``tg_ng_ml`` (shape ``(row, draw)``), ``end_of_treatment`` and
        the arms; for a trial, only patients enrolled by the cut-off.
    rep : int, optional
        Show one replicate cohort only (default: all).
    max_lines : int, default 20
        Largest number of patients drawn individually.
    after_treatment : bool, default False
        Individual lines only: continue each line, dotted, through the draws after
        treatment ended. The model keeps simulating Tg after progression or a stop, off
        drug, where it rebounds; a real case series would usually stop measuring.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Individual mode: one line per patient (two with ``after_treatment``, the second
        possibly empty). Band mode: per arm one median line and one band.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from simtrial import simulate_patients
    >>> from simtrial.plots import tg_plot
    >>> sim = simulate_patients("scenarios/pitoia2014.toml", rng=2014)
    >>> fig = tg_plot(sim)
    >>> fig.axes[0].get_yscale()
    'log'
    >>> plt.close(fig)
    """
    sim, trial = _patient_simulation(simulation)
    cohort = sim.cohort
    if isinstance(max_lines, bool) or not isinstance(max_lines, int | np.integer):
        raise TypeError(f"`max_lines` must be an integer; got {type(max_lines).__name__}")
    rows = np.arange(cohort.n_rows)
    if rep is not None:
        rep = _check_rep(rep, cohort.n_reps)
        rows = rows[rep * cohort.n_patients : (rep + 1) * cohort.n_patients]
    end = np.asarray(sim.end_of_treatment if trial is None else trial.end_of_treatment, float)
    if trial is not None:
        rows = rows[np.asarray(trial.enrolled, bool)[rows]]
    day = np.asarray(sim.tg_day, float)[rows]
    tg = np.asarray(sim.tg_ng_ml, float)[rows]
    tg = np.where(tg > 0, tg, np.nan)
    on_treatment = day <= end[rows, None]
    arms = [arm.name for arm in sim.scenario.arms]
    row_arm = np.asarray(cohort.row_arm)[rows]
    fig, ax = _axes(ax, (9.0, 5.5))
    ax.set_yscale("log")
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    if rows.size <= max_lines:
        bor = sim.to_frame()["bor"].to_numpy() if trial is None else _trial_bor(trial)
        bor = bor[rows]
        for k in range(rows.size):
            colour = BOR_COLOURS.get(str(bor[k]), BOR_COLOURS["NE"])
            on = on_treatment[k]  # draws are in time order, so `on` is a prefix
            off = np.arange(on.size) >= max(int(on.sum()) - 1, 0)  # joins the last `on` draw
            off &= not on.all()
            ax.plot(
                day[k, on] / DAYS_PER_MONTH,
                tg[k, on],
                color=colour,
                linewidth=2.0,
                marker="o",
                markersize=4,
                zorder=3,
            )
            if after_treatment:
                ax.plot(
                    day[k, off] / DAYS_PER_MONTH,
                    tg[k, off],
                    color=colour,
                    linewidth=1.2,
                    linestyle=":",
                    alpha=0.8,
                    zorder=2,
                )
        handles = _bor_handles(bor)
        if after_treatment:
            handles += [
                Line2D([], [], color="0.3", linewidth=2.0, label="on treatment"),
                Line2D([], [], color="0.3", linewidth=1.2, linestyle=":", label="after treatment"),
            ]
        baseline_only = int(np.sum(on_treatment[:, 1:].sum(axis=1) == 0))
        if baseline_only and not after_treatment:
            ax.text(
                0.99,
                0.01,
                f"{baseline_only} patient(s) off treatment before the first draw: baseline only",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=_NOTE,
                color="0.3",
            )
        title = f"{sim.scenario.study.name}: {rows.size} simulated patients"
        legend_title = "Best response"
    else:
        handles = []
        for index, arm in enumerate(arms):
            in_arm = row_arm == index
            if not in_arm.any():
                continue
            values = np.where(on_treatment[in_arm], tg[in_arm], np.nan)
            need = min(10, max(3, -(-int(in_arm.sum()) // 2)))  # 10, or half a small arm
            enough = np.isfinite(values).sum(axis=0) >= need
            if not enough.any():
                continue
            low, mid, high = np.nanpercentile(values[:, enough], [5.0, 50.0, 95.0], axis=0)
            months = day[in_arm][0, enough] / DAYS_PER_MONTH
            colour = _arm_colour(index)
            n_arm = int(in_arm.sum())
            ax.plot(
                months,
                mid,
                color=colour,
                linewidth=2.2,
                marker="o",
                markersize=4,
                label=f"{arm} (n = {n_arm}): median",
            )
            ax.fill_between(
                months,
                low,
                high,
                facecolor=to_rgba(colour, 0.18),
                edgecolor=colour,
                linewidth=0.8,
                label=f"{arm}: 5th–95th percentile",
            )
        title = f"{sim.scenario.study.name}: patients on treatment at each draw"
        legend_title = None
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlim(left=0.0)
    ax.grid(True, which="major", color="0.9")
    if handles or ax.get_legend_handles_labels()[0]:
        ax.legend(
            handles=handles or None,
            title=legend_title,
            fontsize=_LEGEND,
            title_fontsize=_LEGEND,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
    _month_ticks(ax)
    _label(ax, "Months since start of treatment", "Serum thyroglobulin (ng/mL)", title)
    return fig


def _trial_bor(trial) -> np.ndarray:
    return trial.patient_frame()["bor"].to_numpy()


# --------------------------------------------------------------------------------------
# Best-response counts
# --------------------------------------------------------------------------------------


def bor_count_plot(
    metrics_frame, *, published: Mapping[str, float] | None = None, arm=None, ax=None
):
    """Distribution over simulated cohorts of the number of patients in each BOR category.

    For a small cohort (e.g. Pitoia's 8 patients): grouped bars, one group per count
    ``0, 1, ..., n`` and one bar per category (PR, SD and PD always; CR, non-CR/non-PD and
    NE when they occur), the bar's height the share of simulated cohorts with exactly that
    count. The published count of each category is outlined in black and marked with a
    triangle, and the legend says how often the simulation gives exactly that count. With
    counts above 30 the bars become step outlines.

    Parameters
    ----------
    metrics_frame : pandas.DataFrame, TrialSimulation or RunResult
        One row per replicate with columns ``bor_count.<category>`` (one-arm scenario) or
        ``bor_count.<category>.<arm>``: ``TrialSimulation.metrics`` or
        ``RunResult.replicates``. Given a result object, its ``scenario.targets`` supply
        the published counts unless ``published`` is given.
    published : mapping of str to float, optional
        Published count per category, e.g. ``{"PR": 1, "SD": 5, "PD": 2}``.
    arm : str, optional
        The arm, when the columns carry an arm suffix.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One bar container per category (``ax.containers``, labelled by the category and
        its published count) with one bar per count.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import simtrial
    >>> from simtrial.plots import bor_count_plot
    >>> result = simtrial.run("scenarios/pitoia2014.toml", n_sims=50, seed=1, progress=False)
    >>> fig = bor_count_plot(result)          # published 1 / 5 / 2 from the scenario
    >>> [c.get_label().split(":")[0] for c in fig.axes[0].containers]
    ['PR', 'SD', 'PD']
    >>> plt.close(fig)
    """
    frame, scenario_targets = _metrics_and_targets(metrics_frame)
    suffix = "" if arm is None else f".{arm}"
    prefix = "bor_count."
    columns = {
        b: f"{prefix}{b}{suffix}" for b in _BOR_ORDER if f"{prefix}{b}{suffix}" in frame.columns
    }
    if not columns:
        per_arm = sorted(
            {
                c.split(".", 2)[2]
                for c in frame.columns
                if c.startswith(prefix) and c.count(".") == 2
            }
        )
        hint = f"; pass arm= one of {per_arm}" if per_arm and arm is None else ""
        raise ValueError(
            f"`metrics_frame` has no column bor_count.<category>{suffix} "
            f"(TrialSimulation.metrics or RunResult.replicates){hint}"
        )
    if published is None:
        published = {
            b: scenario_targets[f"{prefix}{b}{suffix}"].published
            for b in _BOR_ORDER
            if f"{prefix}{b}{suffix}" in scenario_targets
        }
    published = dict(published)
    unknown = sorted(set(published) - set(_BOR_ORDER))
    if unknown:
        raise ValueError(
            f"`published` keys must be BOR categories {list(_BOR_ORDER)}; got {unknown}"
        )
    counts = {b: frame[c].to_numpy(float) for b, c in columns.items()}
    occurs = {b: float(np.mean(counts[b] > 0)) for b in counts}
    cats = [b for b in counts if b in ("PR", "SD", "PD") or b in published or occurs[b] >= 0.01]
    rare = [b for b in counts if b not in cats and occurs[b] > 0]
    n_total = max(int(np.nanmax(counts[b])) for b in cats)
    n_patients = None
    if "n_enrolled" + suffix in frame.columns:
        n_patients = int(np.nanmax(frame["n_enrolled" + suffix]))
        n_total = max(n_total, n_patients)
    values = np.arange(n_total + 1)
    n_reps = len(frame)
    fig, ax = _axes(ax, (9.5, 5.5))
    width = 0.8 / len(cats)
    top = 0.0
    for j, b in enumerate(cats):
        c = counts[b][np.isfinite(counts[b])].astype(int)
        share = np.bincount(c, minlength=values.size)[: values.size] / max(c.size, 1)
        top = max(top, share.max())
        label = _bor_label(b)
        if b in published:
            p = float(published[b])
            hit = np.mean(c == round(p)) if c.size else np.nan
            label += f": published {p:g}, simulated in {100 * hit:.0f}% of cohorts"
        colour = BOR_COLOURS[b]
        if n_total <= 30:
            x = values + (j - (len(cats) - 1) / 2) * width
            bars = ax.bar(x, share, width=width, color=colour, label=label, zorder=2)
            if b in published and 0 <= round(published[b]) <= n_total:
                k = int(round(published[b]))
                bars[k].set_edgecolor("black")
                bars[k].set_linewidth(2.0)
                ax.plot(
                    [x[k]],
                    [share[k]],
                    marker="v",
                    color="black",
                    markersize=9,
                    linestyle="none",
                    zorder=4,
                )
        else:
            edges = np.append(values, values[-1] + 1) - 0.5
            ax.stairs(share, edges, color=colour, linewidth=2.0, label=label)
            if b in published:
                ax.axvline(float(published[b]), color=colour, linestyle="--", linewidth=1.5)
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0.0, top * 1.6 + 1e-9)  # room for the legend above the bars
    if n_total <= 30:
        ax.set_xticks(values)
    ax.grid(True, axis="y", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    of = f" (of {n_patients})" if n_patients else ""
    name = f" — {arm}" if arm else ""
    ax.legend(fontsize=_LEGEND, loc="upper right", framealpha=0.95)
    if rare:
        note = "; ".join(f"{_bor_label(b)} in {100 * occurs[b]:.1f}%" for b in rare)
        ax.text(
            0.99,
            0.62,
            f"not shown, rare: {note} of cohorts",
            transform=ax.transAxes,
            ha="right",
            fontsize=_NOTE,
            color="0.3",
        )
    _label(
        ax,
        f"Patients with this best overall response{of}",
        "Share of simulated cohorts",
        f"Best overall response counts{name}: {n_reps} simulated cohorts",
    )
    return fig


def _metrics_and_targets(metrics_frame):
    if isinstance(metrics_frame, pd.DataFrame):
        return metrics_frame, {}
    for attribute in ("replicates", "metrics"):
        frame = getattr(metrics_frame, attribute, None)
        if isinstance(frame, pd.DataFrame):
            scenario = getattr(metrics_frame, "scenario", None)
            return frame, dict(getattr(scenario, "targets", {}) or {})
    raise TypeError(
        "`metrics_frame` must be a DataFrame of per-replicate metrics, a TrialSimulation or a "
        f"RunResult; got {type(metrics_frame).__name__}"
    )


# --------------------------------------------------------------------------------------
# Power
# --------------------------------------------------------------------------------------


def power_curve_plot(frame, *, x: str | None = None, target_power: float | None = None, ax=None):
    """Power against sample size (or number of events) with a ±1.96 s.e. band.

    Parameters
    ----------
    frame : pandas.DataFrame or PowerCurve
        One row per design point with columns ``power`` (in [0, 1]), ``se`` (its
        Monte-Carlo standard error) and ``n_per_arm`` (patients per arm) and/or ``events``
        (events at the analysis): :attr:`simtrial.design.PowerCurve.frame`, or the
        ``PowerCurve`` itself.
    x : {"n_per_arm", "events"}, optional
        The column on the x axis. Default: ``n_per_arm`` if it varies between rows (a
        curve over sample sizes), else ``events`` (a curve over event targets at a fixed
        size).
    target_power : float, optional
        Draws a horizontal line at this power and marks the first design point that
        reaches it.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One power line, one band (``ax.collections``), and with ``target_power`` a
        horizontal line.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from simtrial.plots import power_curve_plot
    >>> frame = pd.DataFrame({"n_per_arm": [50, 100, 150, 200],
    ...                       "power": [0.45, 0.72, 0.88, 0.95], "se": [0.016, 0.014, 0.01, 0.007]})
    >>> fig = power_curve_plot(frame, target_power=0.9)
    >>> fig.axes[0].get_xlabel()
    'Patients per arm'
    >>> plt.close(fig)
    """
    if not isinstance(frame, pd.DataFrame) and isinstance(
        getattr(frame, "frame", None), pd.DataFrame
    ):
        frame = frame.frame  # a simtrial.design.PowerCurve
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"`frame` must be a pandas DataFrame or a PowerCurve; got {type(frame).__name__}"
        )
    choices = [c for c in ("n_per_arm", "events") if c in frame.columns]
    if x is not None:
        if x not in ("n_per_arm", "events"):
            raise ValueError(f"`x` must be 'n_per_arm' or 'events'; got {x!r}")
        if x not in frame.columns:
            raise ValueError(f"`frame` has no column {x!r}; it has {list(frame.columns)}")
        x_column = x
    elif not choices:
        raise ValueError(
            f"`frame` needs a column 'n_per_arm' or 'events'; it has {list(frame.columns)}"
        )
    elif choices[0] == "n_per_arm" and (frame["n_per_arm"].nunique() > 1 or len(choices) == 1):
        x_column = "n_per_arm"
    else:
        x_column = "events"
    _require_columns(frame, ("power", "se"), "frame", "one row per design point")
    if target_power is not None and not 0.0 < float(target_power) < 1.0:
        raise ValueError(f"`target_power` must be in (0, 1); got {target_power!r}")
    data = frame.sort_values(x_column, kind="stable")
    x_values = data[x_column].to_numpy(float)
    power = data["power"].to_numpy(float)
    se = data["se"].to_numpy(float)
    fig, ax = _axes(ax, (8.0, 5.0))
    colour = ARM_COLOURS[0]
    ax.fill_between(
        x_values,
        np.clip(power - 1.96 * se, 0.0, 1.0),
        np.clip(power + 1.96 * se, 0.0, 1.0),
        color=colour,
        alpha=0.2,
        linewidth=0,
        label="±1.96 Monte-Carlo s.e.",
    )
    ax.plot(x_values, power, color=colour, linewidth=2.2, marker="o", markersize=6, label="power")
    unit = "patients per arm" if x_column == "n_per_arm" else "events"
    if target_power is not None:
        target = float(target_power)
        ax.axhline(
            target, color="0.3", linestyle="--", linewidth=1.3, label=f"target {100 * target:g}%"
        )
        reached = np.flatnonzero(power >= target)
        if reached.size:
            k = reached[0]
            ax.plot(
                [x_values[k]],
                [power[k]],
                marker="o",
                markersize=12,
                markerfacecolor="none",
                markeredgecolor="black",
                markeredgewidth=2,
                linestyle="none",
                label=f"first reaching target: {x_values[k]:g} {unit}",
            )
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, color="0.9")
    ax.legend(fontsize=_LEGEND, loc="lower right")
    xlabel = "Patients per arm" if x_column == "n_per_arm" else "Number of events at the analysis"
    _label(ax, xlabel, "Power")
    return fig
