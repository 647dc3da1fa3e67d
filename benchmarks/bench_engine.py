"""Patient engine: 1,000 DECISION-sized cohorts through every stage to RECIST.

Cohorts are simulated in chunks (each replicate with its own random streams, so the result
does not depend on chunking or workers) on one process and then on ``--workers`` processes;
prints wall time, CPU time, cost per patient-week of follow-up and peak memory (largest
process RSS). Lesion sizes are not kept (``keep_lesions=False``): every stage runs, the
per-lesion arrays are just not stored. Target (issue "Patient engine"): under 3 s for 1,000
cohorts on this 2-core machine, peak memory under 2 GiB.

    python benchmarks/bench_engine.py [--reps 1000] [--chunk 50] [--workers 2]
"""

import argparse
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from simtrial.patients import simulate_patients
from simtrial.scenario import load_scenario
from simtrial.streams import ReplicateStreams

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "decision.toml"
SEED = 2014


def simulate_chunk(first: int, count: int) -> tuple[int, int, float]:
    """Simulate replicates first .. first + count - 1; return PD count, responders, CPU s."""
    scenario = load_scenario(SCENARIO)
    start = time.process_time()
    streams = ReplicateStreams(SEED, first, count, rows_per_replicate=scenario.n_patients)
    run = simulate_patients(scenario, count, rng=streams, keep_lesions=False)
    progressed = int((run.assessment.pd_visit >= 0).sum())
    responders = int(np.isin(run.assessment.best, (1, 2)).sum())
    return progressed, responders, time.process_time() - start


def timed(chunks, workers: int) -> tuple[float, float, tuple[int, int]]:
    start = time.perf_counter()
    if workers == 1:
        results = [simulate_chunk(*c) for c in chunks]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(simulate_chunk, *zip(*chunks, strict=True)))
    wall = time.perf_counter() - start
    cpu = sum(r[2] for r in results)
    totals = (sum(r[0] for r in results), sum(r[1] for r in results))
    return wall, cpu, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    chunks = [(f, min(args.chunk, args.reps - f)) for f in range(0, args.reps, args.chunk)]
    simulate_chunk(0, 2)  # warm up imports and caches

    patients = args.reps * scenario.n_patients
    weeks = patients * scenario.study.follow_up_days / 7
    print(
        f"DECISION cohorts: {args.reps} x {scenario.n_patients} patients, "
        f"{scenario.study.follow_up_days:g} days of follow-up, q8w scans, chunks of {args.chunk}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    results = {}
    for workers in sorted({1, args.workers}):
        wall, cpu, totals = timed(chunks, workers)
        results[workers] = totals
        print(
            f"{workers} process{'es' if workers > 1 else '  '}: wall {wall:6.2f} s, "
            f"CPU {cpu:6.2f} s, {cpu / args.reps * 1e3:5.2f} ms CPU per cohort, "
            f"{cpu / weeks * 1e9:5.1f} ns CPU per patient-week  (target < 3 s wall)"
        )
    if len(set(results.values())) != 1:
        raise SystemExit(f"different results with different worker counts: {results}")
    progressed, responders = results[1]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory (largest process RSS): {max(own, children):.0f} MiB (target < 2048 MiB)")
    print(
        f"same results on 1 and {args.workers} processes: {progressed / patients:.3f} progressed, "
        f"{responders / patients:.3f} responders"
    )


if __name__ == "__main__":
    main()
