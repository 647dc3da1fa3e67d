"""Published targets against simulated results, by the rule of ../shared/TARGETS.md.

A simulated metric meets its target when, over replicate cohorts of the published size,
(1) the simulated mean is within the target's tolerance of the published value (or at least
its ``minimum``), and (2) the published value lies inside the simulated central 95% interval.
Targets without a tolerance are judged by (2) alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_targets"]


def check_targets(result) -> pd.DataFrame:
    """Every published target of the scenario beside its simulated distribution.

    Parameters
    ----------
    result : RunResult
        From :func:`simtrial.run` on a scenario with targets.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``metric``, ``published``, ``tolerance``, ``n_finite``,
        ``mean``, ``se``,
        ``q025``, ``q975``, ``within_tolerance``, ``inside_interval``, ``met``, ``status``
        (verified / recalled), ``source``. A target whose metric the run does not produce
        has NaN figures and ``met`` False, and so does one that is undefined in some replicates
        (``n_finite`` below the number of trials, e.g. a median not reached).

    Examples
    --------
    >>> import simtrial
    >>> from simtrial.validation import check_targets
    >>> table = check_targets(simtrial.run("scenarios/pitoia2014.toml", 40, seed=1,
    ...                                    progress=False))
    >>> table.loc[table["metric"] == "bor_count.PR", "published"].item()
    1.0
    """
    summary = result.summary()
    rows = []
    for metric, target in result.scenario.targets.items():
        row = {
            "metric": metric,
            "published": target.published,
            "tolerance": np.nan if target.tolerance is None else target.tolerance,
        }
        if metric in summary.index:
            found = summary.loc[metric]
            row.update({key: float(found[key]) for key in ("mean", "se", "q025", "q975")})
            row["n_finite"] = int(found["n_finite"])
        else:
            row.update(dict.fromkeys(("mean", "se", "q025", "q975"), np.nan))
            row["n_finite"] = 0
        mean = row["mean"]
        if target.minimum is not None:
            within = bool(mean >= target.minimum)
            inside = True  # a minimum is the whole rule (e.g. "Tg fell in all 8" >= 0.5)
        else:
            within = target.tolerance is None or bool(
                abs(mean - target.published) <= target.tolerance
            )
            inside = bool(row["q025"] <= target.published <= row["q975"])
        row.update(
            within_tolerance=within,
            inside_interval=inside,
            # a metric undefined in some replicates (a median not reached) cannot be judged
            met=bool(within and inside and row["n_finite"] == result.n_sims),
            status=target.status,
            source=target.source,
        )
        rows.append(row)
    return pd.DataFrame(rows)
