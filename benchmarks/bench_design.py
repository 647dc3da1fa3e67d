"""Design tools: a 10-point power curve for the DECISION design, 2,000 replicates per point.

Target (issue "Design tools"): under 2 minutes on this 2-core machine. The peer, measured in
the same run, is the same curve without common random numbers: every design point simulated
on its own (timed on one point and multiplied by the number of points, which the script
says), so the ratio shows what simulating each replicate once saves.

    python benchmarks/bench_design.py [--n-sims 2000] [--workers 2]
"""

import argparse
import os
import time
from pathlib import Path

from simtrial.design import power_curve
from simtrial.engine import run
from simtrial.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "decision.toml"
SIZES = list(range(60, 331, 30))  # 10 design points, patients per arm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; {len(SIZES)} design points "
        f"{SIZES[0]}..{SIZES[-1]} per arm, {args.n_sims} replicates each, "
        f"{args.workers} workers"
    )
    start = time.perf_counter()
    curve = power_curve(
        SCENARIO,
        n_per_arm=SIZES,
        n_sims=args.n_sims,
        seed=2014,
        workers=args.workers,
        progress=False,
    )
    ours = time.perf_counter() - start
    print(curve.frame[["n_per_arm", "events", "power", "se"]].to_string(index=False))
    print(f"power curve with common random numbers: {ours:.1f} s (target < 120 s)")

    # peer: one design point simulated on its own, as a curve without CRN would do each
    scenario = load_scenario(SCENARIO)
    n = SIZES[-1]
    events = round(scenario.trial.cutoff_events / scenario.n_patients * 2 * n)
    point = scenario.with_values(
        {"arms.sorafenib.n": n, "arms.placebo.n": n, "trial.cutoff_events": events}
    )
    start = time.perf_counter()
    run(point, args.n_sims, seed=2014, workers=args.workers, progress=False)
    one = time.perf_counter() - start
    mean_size = sum(SIZES) / len(SIZES)
    peer = one * mean_size / n * len(SIZES)
    print(
        f"one point simulated alone at {n} per arm: {one:.1f} s; a curve of independent "
        f"points, extrapolated by size: {peer:.1f} s"
    )
    print(f"ratio: {peer / ours:.1f}x")


if __name__ == "__main__":
    main()
