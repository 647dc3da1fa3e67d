"""Patient engine: 1,000 DECISION-sized cohorts through every stage to RECIST.

Prints the wall time, the cost per patient-week of follow-up, and peak memory (RSS), with
the cohorts simulated in chunks so memory is bounded by the chunk. Target (issue "Patient
engine"): under 3 s for 1,000 cohorts on 2 cores, peak memory under 2 GiB.

    python benchmarks/bench_engine.py [--reps 1000] [--chunk 50]
"""

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from simtrial.patients import simulate_patients
from simtrial.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "decision.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    seeds = np.random.SeedSequence(2014).spawn(-(-args.reps // args.chunk))
    simulate_patients(scenario, 2, rng=0)  # warm up imports and caches

    start = time.perf_counter()
    done, responders = 0, 0
    for seed in seeds:
        n = min(args.chunk, args.reps - done)
        run = simulate_patients(scenario, n, rng=seed)
        responders += int(np.isin(run.assessment.best, (1, 2)).sum())
        done += n
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    patients = done * scenario.n_patients
    weeks = patients * scenario.study.follow_up_days / 7
    print(
        f"DECISION cohorts: {done} x {scenario.n_patients} patients, "
        f"{scenario.study.follow_up_days:g} days follow-up, chunks of {args.chunk}"
    )
    print(f"wall time          {elapsed:8.2f} s   (target < 3 s)")
    print(f"per cohort         {elapsed / done * 1e3:8.2f} ms")
    print(f"per patient-week   {elapsed / weeks * 1e9:8.1f} ns")
    print(f"peak memory (RSS)  {peak_mib:8.0f} MiB (target < 2048 MiB)")
    print(f"responders (check) {responders / patients:8.3f}")


if __name__ == "__main__":
    main()
