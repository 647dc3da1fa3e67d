"""A self-contained HTML report of a scenario: what it is, how the simulation compares with
the published results, and the figures a clinician reads — one file, images embedded, no
network needed to open it.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from simtrial._version import __version__
from simtrial.engine import run
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import ReplicateStreams
from simtrial.trial import simulate_trial
from simtrial.validation import check_targets

__all__ = ["build_report", "write_report"]

#: Trials simulated for the Kaplan–Meier band and the per-patient figures.
FIGURE_TRIALS = 200

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.met { color: #1a7f37; font-weight: 600; } td.missed { color: #b42318; font-weight: 600; }
img { max-width: 100%; margin: 0.5em 0 1.5em; }
footer { margin-top: 3em; font-size: 0.85em; color: #555; }
"""


def _figure_html(figure, caption: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _targets_html(targets: pd.DataFrame) -> str:
    if targets.empty:
        return "<p>The scenario cites no published values.</p>"
    rows = []
    for row in targets.itertuples(index=False):
        verdict = "met" if row.met else "not met"
        tolerance = "" if np.isnan(row.tolerance) else f"&plusmn; {row.tolerance:g}"
        rows.append(
            f"<tr><td>{html.escape(row.metric)}</td><td>{row.published:.4g}</td>"
            f"<td>{tolerance}</td><td>{row.mean:.4g}</td><td>{row.se:.2g}</td>"
            f"<td>{row.q025:.4g} &ndash; {row.q975:.4g}</td>"
            f'<td class="{"met" if row.met else "missed"}">{verdict}</td>'
            f"<td>{html.escape(row.status)}</td></tr>"
        )
    met = int(targets["met"].sum())
    head = (
        "<tr><th>metric</th><th>published</th><th>tolerance</th><th>simulated mean</th>"
        "<th>MC s.e.</th><th>central 95%</th><th>target</th><th>source</th></tr>"
    )
    return (
        f"<p>{met} of {len(targets)} published values met (mean within the tolerance and the "
        "published value inside the simulated central 95% of cohorts of the published size).</p>"
        f"<table>{head}{''.join(rows)}</table>"
    )


def build_report(
    scenario: Scenario | str | os.PathLike,
    *,
    n_sims: int = 500,
    seed: int = 2014,
    workers: int = 1,
    progress: bool | None = None,
) -> str:
    """The report as an HTML string (see :func:`write_report`)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from simtrial import plots

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    result = run(scenario, n_sims, seed=seed, workers=workers, progress=progress)
    targets = check_targets(result)
    trials = simulate_trial(
        scenario,
        FIGURE_TRIALS,
        rng=ReplicateStreams(seed, 0, FIGURE_TRIALS, rows_per_replicate=scenario.n_patients),
    )
    study = scenario.study
    one_arm = len(scenario.arms) == 1
    figures = [
        _figure_html(plots.km_plot(trials), "Progression-free survival over simulated trials"),
    ]
    if not one_arm:
        figures.append(
            _figure_html(plots.km_plot(trials, endpoint="os"), "Overall survival (with crossover)")
        )
    first_trial = trials.patient_frame()
    first_trial = first_trial[first_trial["rep"] == 0]
    figures.append(
        _figure_html(plots.waterfall_plot(first_trial), "Best change in target sum, one trial")
    )
    if one_arm:
        cohort = trials.patients
        figures.append(
            _figure_html(
                plots.bor_count_plot(result), "Best-response counts over simulated cohorts"
            )
        )
        figures.append(
            _figure_html(
                plots.spider_plot(cohort.visit_table().query("rep == 0"), patients=first_trial),
                "Change in target sum over time, one cohort",
            )
        )
    # a swimmer plot of hundreds of patients is unreadable: the first 30 of the drug arm
    drug_arm = next(arm for arm in scenario.arms if arm.drug)
    shown = None if scenario.n_patients <= 30 else list(range(30))
    figures.append(
        _figure_html(
            plots.swimmer_plot(trials.patients, rep=0, arm=drug_arm.name, patients=shown),
            f"Time on treatment and dose: {drug_arm.name} arm of one simulated trial, each "
            "patient's whole simulated course (not cut at the analysis)",
        )
    )
    figures.append(_figure_html(plots.tg_plot(trials.patients, rep=0), "Serum thyroglobulin"))

    arms = ", ".join(
        f"{arm.name} ({arm.n} patients{', drug' if arm.drug else ', no drug'})"
        for arm in scenario.arms
    )
    summary = result.summary().drop(columns="published")
    every_metric = summary.to_html(float_format=lambda x: f"{x:.4g}", border=0)
    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>simtrial report: {html.escape(study.name)}</title><style>{_STYLE}</style></head>
<body>
<header><h1>{html.escape(study.name)}</h1>
<p>{html.escape(study.source)}</p></header>
<section id="scenario"><h2>Scenario</h2>
<p>Arms: {html.escape(arms)}. Response criteria: {html.escape(study.criteria)}
{"(responses confirmed)" if study.confirm_response else ""}. Scans: day
{scenario.imaging.first_scan_day:g}, then every {scenario.imaging.interval_days:g} days.
Follow-up up to {study.follow_up_days:g} days; cut-off:
{html.escape(scenario.trial.cutoff)}.</p></section>
<section id="targets"><h2>Simulated against published</h2>
<p>{result.n_sims} simulated trials.</p>{_targets_html(targets)}</section>
<section id="figures"><h2>Figures</h2>{"".join(figures)}</section>
<section id="metrics"><h2>Every metric</h2>
<details><summary>Mean, Monte-Carlo standard error and central 95% over the simulated
trials</summary>{every_metric}</details></section>
<footer id="reproducibility">Generated {generated} by simtrial {__version__};
scenario content hash {scenario.content_hash()}; seed {result.seed}; {result.n_sims}
simulated trials ({FIGURE_TRIALS} for the figures). Regenerate with
<code>simtrial report SCENARIO --seed {result.seed} --n-sims {result.n_sims}</code>.</footer>
</body></html>
"""


def write_report(
    scenario: Scenario | str | os.PathLike,
    out: str | os.PathLike,
    *,
    n_sims: int = 500,
    seed: int = 2014,
    workers: int = 1,
    progress: bool | None = None,
) -> Path:
    """Write the scenario's report to ``out`` (one self-contained HTML file) and return the
    path.

    Parameters
    ----------
    scenario : Scenario or path
    out : path
        The HTML file to write.
    n_sims : int
        Simulated trials for the metrics table.
    seed, workers, progress
        As in :func:`simtrial.run`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from simtrial.report import write_report
    >>> path = write_report("scenarios/pitoia2014.toml",
    ...                     pathlib.Path(tempfile.mkdtemp()) / "report.html", n_sims=20)
    >>> path.read_text().startswith("<!DOCTYPE html>")
    True
    """
    path = Path(out)
    text = build_report(scenario, n_sims=n_sims, seed=seed, workers=workers, progress=progress)
    path.write_text(text, encoding="utf-8")
    return path
