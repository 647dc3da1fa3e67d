"""Benchmark: ``simtrial run scenarios/decision.toml --n-sims 10000`` end to end, against the
same pipeline with its survival statistics done by a per-replicate Python loop of lifelines.

Ours is the real path: :func:`simtrial.engine.run` (patients, RECIST, trial cut-off, every
per-replicate metric with the survival statistics of :mod:`simtrial.survival`, chunk by
chunk on ``--workers`` processes) and then ``.summary()``, timed as one wall-clock figure,
with the peak resident memory of the parent and of the largest worker.

The peer, measured in the same run on the run's first ``--subset`` trials (same seed, so
the same trials: the script checks that the subset's metrics are the run's): the simulation
(``simulate_trial``) plus, per replicate, lifelines ``logrank_test`` + ``CoxPHFitter`` on the
arm indicator + a ``KaplanMeierFitter`` median per arm, for PFS and, separately timed, for
OS (``simtrial run`` analyses both). Its per-trial cost is extrapolated to ``--n-sims`` and
printed as such. The peer leaves out the other per-replicate metrics and the summary, which
favours it. On the subset, ours and lifelines must agree (hazard ratio with lifelines'
Newton iteration run to convergence, log-rank p-value, Kaplan-Meier medians), or the script
exits with an error.

Targets (issue "End-to-end run"): under 30 s for 10,000 trials on 2 cores, peak memory under
2 GiB, at least 15x the lifelines loop.

    python benchmarks/bench_run.py [--n-sims 10000] [--workers 2] [--chunk-size 100]
        [--subset 50] [--seed 2014]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from simtrial.engine import run
from simtrial.scenario import load_scenario
from simtrial.streams import ReplicateStreams
from simtrial.survival import analyse_two_arms
from simtrial.trial import DAYS_PER_MONTH, simulate_trial

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "decision.toml"
TARGET_SECONDS = 30.0
TARGET_MEMORY_MIB = 2048.0
TARGET_RATIO = 15.0
TOLERANCE = 1e-6  # relative, ours vs lifelines on the subset
ENDPOINTS = {"pfs": ("pfs_days", "pfs_event"), "os": ("os_days", "os_event")}


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident set size (MiB) of this process and of its largest finished child.

    ``ru_maxrss`` is in KiB on Linux; for ``RUSAGE_CHILDREN`` it is the largest single
    waited-for descendant (here a worker of the process pool), not a sum.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def run_ours(scenario, n_sims: int, seed: int, workers: int, chunk_size: int):
    """``run`` + ``summary``, timed; seconds for each and the result."""
    start = time.perf_counter()
    result = run(
        scenario, n_sims, seed=seed, chunk_size=chunk_size, workers=workers, progress=False
    )
    simulated = time.perf_counter()
    summary = result.summary()
    end = time.perf_counter()
    return end - start, simulated - start, end - simulated, result, summary


def per_replicate(trials, endpoint: str):
    """(time, event, group) of the enrolled patients, one tuple per replicate."""
    scenario, cohort = trials.scenario, trials.patients.cohort
    shape = (cohort.n_reps, cohort.n_patients)
    days, event = (getattr(trials, name).reshape(shape) for name in ENDPOINTS[endpoint])
    group = (cohort.row_arm != scenario.arms.index(scenario.control)).astype(int).reshape(shape)
    enrolled = trials.enrolled.reshape(shape)
    return [
        (days[r][enrolled[r]], event[r][enrolled[r]], group[r][enrolled[r]])
        for r in range(cohort.n_reps)
    ]


def our_statistics(trials) -> float:
    """Seconds for what the lifelines loop replaces: ``analyse_two_arms`` (log-rank, Cox,
    both arms' Kaplan-Meier) on PFS and OS for all replicates of ``trials``."""
    scenario, cohort = trials.scenario, trials.patients.cohort
    shape = (cohort.n_reps, cohort.n_patients)
    group = (cohort.row_arm != scenario.arms.index(scenario.control)).astype(int).reshape(shape)
    mask = trials.enrolled.reshape(shape)
    start = time.perf_counter()
    for days, event in ENDPOINTS.values():
        analyse_two_arms(
            getattr(trials, days).reshape(shape),
            getattr(trials, event).reshape(shape),
            group,
            mask=mask,
        )
    return time.perf_counter() - start


def lifelines_loop(data, fit_options=None):
    """lifelines per replicate: log-rank, Cox on the arm indicator, KM median of each arm.
    Seconds and one row per replicate (medians in days)."""
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test

    rows = []
    start = time.perf_counter()
    for t, e, g in data:
        test = logrank_test(t[g == 1], t[g == 0], e[g == 1], e[g == 0])
        frame = pd.DataFrame({"time": t, "event": e, "group": g})
        cox = CoxPHFitter().fit(frame, "time", "event", fit_options=fit_options)
        medians = [
            KaplanMeierFitter().fit(t[g == arm], e[g == arm]).median_survival_time_
            for arm in (1, 0)
        ]
        rows.append(
            {
                "logrank_p": test.p_value,
                "hazard_ratio": cox.summary.loc["group", "exp(coef)"],
                "median_treatment": medians[0],
                "median_control": medians[1],
            }
        )
    return time.perf_counter() - start, pd.DataFrame(rows)


def max_relative_difference(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def same_medians(ours_months, theirs_days) -> bool:
    """Equal medians, or both not reached (ours NaN/inf, lifelines inf)."""
    ours = np.asarray(ours_months, dtype=float)
    theirs = np.asarray(theirs_days, dtype=float) / DAYS_PER_MONTH
    both_missing = ~np.isfinite(ours) & ~np.isfinite(theirs)
    return bool(np.all(both_missing | np.isclose(ours, theirs, rtol=1e-12, atol=0.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--subset", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2014)
    args = parser.parse_args()
    n, subset = args.n_sims, min(args.subset, args.n_sims)
    scenario = load_scenario(SCENARIO)
    load_before = os.getloadavg()
    cpu_before = cpu_seconds()

    # -- ours: the real end-to-end path, before anything else touches this process's memory
    total, simulate_s, summary_s, result, summary = run_ours(
        scenario, n, args.seed, args.workers, args.chunk_size
    )
    parent_mib, child_mib = peak_rss_mib()
    cpu_s = cpu_seconds()
    peak_mib = max(parent_mib, child_mib)
    bound_mib = parent_mib + args.workers * child_mib if args.workers > 1 else parent_mib

    # -- the peer, on the run's first `subset` trials
    streams = ReplicateStreams(args.seed, 0, subset, rows_per_replicate=scenario.n_patients)
    simulate_trial(scenario, 2, rng=0)  # warm-up; the run above already warmed the workers
    start = time.perf_counter()
    trials = simulate_trial(scenario, subset, rng=streams)
    subset_simulate_s = time.perf_counter() - start
    start = time.perf_counter()
    mine = trials.metrics
    subset_metrics_s = time.perf_counter() - start
    subset_stats_s = our_statistics(trials)

    columns = [f"{k}_{e}" for e in ENDPOINTS for k in ("hazard_ratio", "logrank_pvalue")]
    if not all(
        np.array_equal(mine[c].to_numpy(), result.replicates[c].to_numpy()[:subset])
        for c in columns
    ):
        raise SystemExit("the subset's statistics differ from the run's first replicates")

    seconds, tables, tight, agreement = {}, {}, {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' and pandas' advice, not ours
        for endpoint in ENDPOINTS:
            data = per_replicate(trials, endpoint)
            seconds[endpoint], tables[endpoint] = lifelines_loop(data)
            tight[endpoint] = lifelines_loop(
                data, fit_options={"precision": 1e-24, "r_precision": 1e-30}
            )[1]
    arms = [scenario.arms[1 - scenario.arms.index(scenario.control)].name, scenario.control.name]
    for endpoint in ENDPOINTS:
        theirs, converged = tables[endpoint], tight[endpoint]
        agreement[endpoint] = {
            "hr": max_relative_difference(mine[f"hazard_ratio_{endpoint}"], converged.hazard_ratio),
            "hr_default": max_relative_difference(
                mine[f"hazard_ratio_{endpoint}"], theirs.hazard_ratio
            ),
            "p": max_relative_difference(mine[f"logrank_pvalue_{endpoint}"], theirs.logrank_p),
            "medians": all(
                same_medians(mine[f"median_{endpoint}_months.{arm}"], theirs[column])
                for arm, column in zip(arms, ["median_treatment", "median_control"], strict=True)
            ),
        }

    per_trial_pfs = (subset_simulate_s + seconds["pfs"]) / subset
    per_trial_both = per_trial_pfs + seconds["os"] / subset
    peer_pfs, peer_both = per_trial_pfs * n, per_trial_both * n
    ratio, ratio_both = peer_pfs / total, peer_both / total
    load_after = os.getloadavg()

    import lifelines  # already imported by the loop; only for its version here

    print(
        f"DECISION (scenarios/decision.toml): {n:,} trials x {scenario.n_patients} patients,"
        f" seed {args.seed}, {args.workers} worker(s), chunks of {args.chunk_size}"
    )
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__},"
        f" lifelines {lifelines.__version__}; {os.cpu_count()} CPUs; load average (1/5/15 min)"
        f" {'/'.join(f'{x:.2f}' for x in load_before)} before,"
        f" {'/'.join(f'{x:.2f}' for x in load_after)} after"
    )
    print("\n-- ours: run() + summary(), measured on all trials --")
    print(
        f"wall time             {total:8.2f} s  (run {simulate_s:.2f} s + summary"
        f" {summary_s:.3f} s)  {n / total:,.0f} trials/s"
    )
    print(
        f"peak memory (RSS)     {peak_mib:8.0f} MiB  largest single process (parent"
        f" {parent_mib:.0f} MiB, largest worker {child_mib:.0f} MiB; getrusage ru_maxrss of"
        " RUSAGE_SELF / RUSAGE_CHILDREN)"
    )
    if args.workers > 1:
        print(
            f"                      {bound_mib:8.0f} MiB  upper bound for all processes at once"
            f" (parent + {args.workers} x largest worker; shared pages counted more than once)"
        )
    print(
        f"CPU time              {cpu_s - cpu_before:8.2f} s  (user + system, parent and workers;"
        f" / {args.workers} worker(s) = {(cpu_s - cpu_before) / args.workers:.1f} s, about the"
        " wall time to expect on idle cores)"
    )
    print(
        f"power (PFS log-rank p < 0.05) {result.replicates['significant_pfs'].mean():.4f};"
        f" mean PFS HR {summary.loc['hazard_ratio_pfs', 'mean']:.3f}"
        f" (published {summary.loc['hazard_ratio_pfs', 'published']:.2f})"
    )

    print(f"\n-- on the run's first {subset} trials (same trials, checked), in this process --")
    print(f"simulate_trial                 {subset_simulate_s:8.3f} s")
    print(
        f"ours  metrics (all of them)    {subset_metrics_s:8.3f} s, of which survival statistics"
        f" (analyse_two_arms, PFS + OS) {subset_stats_s:.3f} s"
    )
    for endpoint in ENDPOINTS:
        print(
            f"lifelines loop, {endpoint.upper():3s}            {seconds[endpoint]:8.3f} s"
            f"  ({seconds[endpoint] / subset * 1e3:.1f} ms per trial: logrank_test +"
            " CoxPHFitter + 2 KaplanMeierFitter)"
        )
    print("agreement with lifelines (max relative difference over the subset):")
    for endpoint, found in agreement.items():
        print(
            f"  {endpoint.upper():3s} Cox HR {found['hr']:.0e} (lifelines run to convergence;"
            f" {found['hr_default']:.0e} with its default stopping rule, as timed), log-rank p"
            f" {found['p']:.0e}, KM medians of both arms identical: {found['medians']}"
        )

    print(f"\n-- peer: same pipeline, statistics by the lifelines loop, EXTRAPOLATED to {n:,} --")
    print(
        f"from the {subset}-trial subset: simulate_trial + lifelines PFS loop"
        f" {per_trial_pfs * 1e3:.1f} ms per trial -> {peer_pfs:,.0f} s for {n:,} trials (serial)"
    )
    print(
        f"with the OS statistics too (all that simtrial.survival does in the run):"
        f" {per_trial_both * 1e3:.1f} ms per trial -> {peer_both:,.0f} s"
    )

    print("\n-- targets --")
    print(
        f"time     {total:8.2f} s    vs < {TARGET_SECONDS:g} s: {verdict(total < TARGET_SECONDS)}"
    )
    print(
        f"memory   {peak_mib:8.0f} MiB  vs < {TARGET_MEMORY_MIB:g} MiB:"
        f" {verdict(peak_mib < TARGET_MEMORY_MIB)} (largest single process; upper bound for"
        f" all processes {bound_mib:.0f} MiB: {verdict(bound_mib < TARGET_MEMORY_MIB)})"
    )
    print(
        f"speed-up {ratio:8.1f}x   vs >= {TARGET_RATIO:g}x: {verdict(ratio >= TARGET_RATIO)}"
        f"  (extrapolated PFS-only lifelines pipeline, serial, / ours on {args.workers}"
        " worker(s))"
    )
    print(
        f"         {ratio_both:8.1f}x   with the OS statistics in the peer too;"
        f" if the peer were spread perfectly over {args.workers} worker(s) as well:"
        f" {ratio / args.workers:.1f}x (PFS only), {ratio_both / args.workers:.1f}x (PFS + OS)"
    )

    bad = [
        f"{endpoint.upper()} {name}"
        for endpoint, found in agreement.items()
        for name, failed in (
            ("Cox HR", not found["hr"] <= TOLERANCE),
            ("log-rank p", not found["p"] <= TOLERANCE),
            ("KM medians", not found["medians"]),
        )
        if failed
    ]
    if bad:
        sys.exit(f"disagreement with lifelines beyond {TOLERANCE:g}: {', '.join(bad)}")
    print(f"\nagreement with lifelines within {TOLERANCE:g} (relative): OK")


if __name__ == "__main__":
    main()
