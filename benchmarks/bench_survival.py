"""Benchmark: survival analysis of 10,000 simulated two-arm trials, ours against loops.

Scenario (DECISION-like): 207 sorafenib vs 210 placebo patients, exponential PFS with
medians 10.8 vs 5.8 months, uniform accrual over 22 months, administrative censoring at a
calendar cut-off 30 months after the first patient; a heavy-ties variant rounds every time
up to the next 8-weekly scan day.

For each variant, in one process:

* ours: ``analyse_two_arms`` (log-rank, Cox with Efron ties, both arms' Kaplan–Meier
  median with its interval) on all replicates, chunk by chunk; also ``logrank`` alone;
* a Python loop of lifelines ``logrank_test`` + ``CoxPHFitter`` + two
  ``KaplanMeierFitter`` and a loop of ``scipy.stats.logrank`` on a subset of replicates,
  timed and extrapolated to all replicates (printed as such);
* the estimated power (fraction of p < 0.05) of every method on the subset, where they must
  agree, and ours on all replicates.

Run: ``.venv/bin/python benchmarks/bench_survival.py [--replicates 10000] [--chunk 1000]
[--subset 50] [--seed 20240601]``
"""

from __future__ import annotations

import argparse
import functools
import math
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import scipy.stats
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from simtrial.survival import analyse_two_arms, cox_ph, logrank

N_TREATMENT, N_CONTROL = 207, 210
MEDIAN_PFS_TREATMENT, MEDIAN_PFS_CONTROL = 10.8, 5.8  # months
ACCRUAL_MONTHS = 22.0
CUTOFF_MONTHS = 30.0  # calendar time of the analysis, from the first patient in
SCAN_INTERVAL_MONTHS = 56 / 30.4375  # 8 weeks


def simulate_trials(seed: np.random.SeedSequence, n_rep: int, scan_ties: bool):
    """Arrays (rep, patient): time (months), event, group (1 = sorafenib)."""
    rng = np.random.default_rng(seed)
    group = np.r_[np.ones(N_TREATMENT, dtype=np.int8), np.zeros(N_CONTROL, dtype=np.int8)]
    median = np.where(group == 1, MEDIAN_PFS_TREATMENT, MEDIAN_PFS_CONTROL)
    pfs = rng.exponential(median / math.log(2), size=(n_rep, group.size))
    follow_up = CUTOFF_MONTHS - rng.uniform(0.0, ACCRUAL_MONTHS, size=(n_rep, group.size))
    event = pfs <= follow_up
    observed = np.minimum(pfs, follow_up)
    if scan_ties:
        observed = np.ceil(observed / SCAN_INTERVAL_MONTHS) * SCAN_INTERVAL_MONTHS
    return observed, event, np.broadcast_to(group, observed.shape)


def run_ours(seeds, chunk: int, scan_ties: bool):
    """Analyse chunk after chunk; seconds (analysis only, per step) and per-replicate table."""
    seconds = dict.fromkeys(["analyse_two_arms", "logrank", "cox_ph efron", "cox_ph breslow"], 0.0)
    steps = {
        "analyse_two_arms": analyse_two_arms,
        "logrank": logrank,
        "cox_ph efron": functools.partial(cox_ph, ties="efron"),
        "cox_ph breslow": functools.partial(cox_ph, ties="breslow"),
    }
    frames = []
    for seed in seeds:
        data = simulate_trials(seed, chunk, scan_ties)
        for name, step in steps.items():
            start = time.perf_counter()
            result = step(*data)
            seconds[name] += time.perf_counter() - start
            if name == "analyse_two_arms":
                frames.append(
                    pd.DataFrame(
                        {
                            "logrank_p": result.logrank.pvalue,
                            "cox_p": result.cox.pvalue,
                            "hazard_ratio": result.cox.hazard_ratio,
                            "median_treatment": result.km_treatment.median,
                            "median_control": result.km_control.median,
                        }
                    )
                )
    return seconds, pd.concat(frames, ignore_index=True)


def peak_memory(seeds, chunk: int, scan_ties: bool) -> float:
    """Peak traced memory (MB) of simulating and analysing one chunk after another."""
    tracemalloc.start()
    for seed in seeds:
        analyse_two_arms(*simulate_trials(seed, chunk, scan_ties))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def lifelines_cox(frame: pd.DataFrame, fit_options=None) -> pd.Series:
    return CoxPHFitter().fit(frame, "time", "event", fit_options=fit_options).summary.loc["group"]


def run_lifelines(time_, event, group):
    rows = []
    start = time.perf_counter()
    for t, e, g in zip(time_, event, group, strict=True):
        test = logrank_test(t[g == 0], t[g == 1], e[g == 0], e[g == 1])
        cox = lifelines_cox(pd.DataFrame({"time": t, "event": e, "group": g}))
        medians = [
            KaplanMeierFitter().fit(t[g == arm], e[g == arm]).median_survival_time_
            for arm in (1, 0)
        ]
        rows.append(
            {
                "logrank_p": test.p_value,
                "cox_p": cox["p"],
                "hazard_ratio": cox["exp(coef)"],
                "median_treatment": medians[0],
                "median_control": medians[1],
            }
        )
    return time.perf_counter() - start, pd.DataFrame(rows)


def lifelines_tight_hazard_ratios(time_, event, group):
    """lifelines' HR with its Newton run to convergence (its default stops ~1e-5 short)."""
    tight = {"precision": 1e-24, "r_precision": 1e-30}
    return [
        lifelines_cox(pd.DataFrame({"time": t, "event": e, "group": g}), tight)["exp(coef)"]
        for t, e, g in zip(time_, event, group, strict=True)
    ]


def run_scipy(time_, event, group):
    pvalues = []
    start = time.perf_counter()
    for t, e, g in zip(time_, event, group, strict=True):
        samples = [
            scipy.stats.CensoredData.right_censored(t[g == arm], ~e[g == arm]) for arm in (1, 0)
        ]
        pvalues.append(scipy.stats.logrank(*samples).pvalue)
    return time.perf_counter() - start, pd.DataFrame({"logrank_p": pvalues})


def max_relative_difference(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def benchmark(variant: str, n_rep: int, chunk: int, subset: int, root_seed: int) -> None:
    scan_ties = variant == "scan-day ties"
    n_chunks = math.ceil(n_rep / chunk)
    n_total = n_chunks * chunk
    seeds = np.random.SeedSequence([root_seed, int(scan_ties)]).spawn(n_chunks)
    run_ours(seeds[:1], chunk, scan_ties)  # warm-up: imports, allocator
    seconds, ours = run_ours(seeds, chunk, scan_ties)
    peak_mb = peak_memory(seeds[:3], chunk, scan_ties)

    time_, event, group = (array[:subset] for array in simulate_trials(seeds[0], chunk, scan_ties))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' and pandas' advice, not ours
        lifelines_seconds, lifelines_table = run_lifelines(time_, event, group)
        tight_hazard_ratios = lifelines_tight_hazard_ratios(time_, event, group)
    scipy_seconds, scipy_table = run_scipy(time_, event, group)
    lifelines_total = lifelines_seconds / subset * n_total
    scipy_total = scipy_seconds / subset * n_total
    mine = ours.iloc[:subset]
    ours_total = seconds["analyse_two_arms"]

    print(f"\n== {variant}: {n_total:,} replicates of {N_TREATMENT} vs {N_CONTROL} patients ==")
    print(f"chunk size {chunk:,} replicates; peak traced memory {peak_mb:.0f} MB (tracemalloc)")
    print(f"ours  analyse_two_arms (log-rank + Cox Efron + 2 KM): {ours_total:7.3f} s")
    for name in ("logrank", "cox_ph efron", "cox_ph breslow"):
        print(f"ours  {name + ' alone:':47s} {seconds[name]:7.3f} s")
    print(
        f"lifelines loop (logrank_test + CoxPHFitter + 2 KM): {lifelines_total:7.1f} s"
        f"  (timed on {subset} replicates, {lifelines_seconds:.2f} s, extrapolated)"
    )
    print(
        f"scipy.stats.logrank loop:                           {scipy_total:7.2f} s"
        f"  (timed on {subset} replicates, {scipy_seconds:.3f} s, extrapolated)"
    )
    print(f"speed-up vs lifelines loop: {lifelines_total / ours_total:,.0f}x")
    print(
        f"speed-up vs scipy loop, log-rank vs log-rank: {scipy_total / seconds['logrank']:,.0f}x"
        f" (our whole analysis vs scipy's log-rank: {scipy_total / ours_total:,.1f}x)"
    )
    arms = ["median_treatment", "median_control"]
    logrank_vs_lifelines = max_relative_difference(mine.logrank_p, lifelines_table.logrank_p)
    logrank_vs_scipy = max_relative_difference(mine.logrank_p, scipy_table.logrank_p)
    hr_vs_tight = max_relative_difference(mine.hazard_ratio, tight_hazard_ratios)
    hr_vs_default = max_relative_difference(mine.hazard_ratio, lifelines_table.hazard_ratio)
    print(f"agreement on the {subset}-replicate subset (max relative difference):")
    print(
        f"  log-rank p vs lifelines {logrank_vs_lifelines:.0e}, vs scipy {logrank_vs_scipy:.0e};"
        f" KM medians identical to lifelines: {np.array_equal(mine[arms], lifelines_table[arms])}"
    )
    print(
        f"  Cox HR vs lifelines {hr_vs_tight:.0e} (lifelines run to convergence),"
        f" {hr_vs_default:.0e} (its default stopping rule, as timed)"
    )
    subset_power = {
        "ours": mine.logrank_p,
        "lifelines": lifelines_table.logrank_p,
        "scipy": scipy_table.logrank_p,
    }
    print(
        "power (p < 0.05) on the subset: log-rank "
        + ", ".join(f"{name} {(p < 0.05).mean():.3f}" for name, p in subset_power.items())
        + f"; Cox Wald ours {(mine.cox_p < 0.05).mean():.3f},"
        f" lifelines {(lifelines_table.cox_p < 0.05).mean():.3f}"
    )
    # Every replicate must reach the same decision whichever library analyses it.
    decisions = [p.to_numpy() < 0.05 for p in subset_power.values()]
    decisions += [mine.cox_p.to_numpy() < 0.05, lifelines_table.cox_p.to_numpy() < 0.05]
    if not all(np.array_equal(decisions[0], other) for other in decisions[1:3]) or not (
        np.array_equal(decisions[3], decisions[4])
    ):
        raise SystemExit("methods disagree on p < 0.05 for some replicate of the subset")
    print("every replicate of the subset: same decision (p < 0.05) from every method")
    print(
        f"power on all {len(ours):,} replicates (ours): log-rank"
        f" {(ours.logrank_p < 0.05).mean():.4f}, Cox {(ours.cox_p < 0.05).mean():.4f};"
        f" median HR {ours.hazard_ratio.median():.3f}; median KM medians"
        f" {ours.median_treatment.median():.2f} vs {ours.median_control.median():.2f} months"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--subset", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    for variant in ("continuous times", "scan-day ties"):
        benchmark(variant, args.replicates, args.chunk, args.subset, args.seed)


if __name__ == "__main__":
    main()
