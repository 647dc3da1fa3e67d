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
from simtrial.scenario import Scenario, load_scenario

__all__ = ["ChanceResult", "chance"]

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
