"""Speed of the vectorised engine over the discrete-event model (simtrial.des), on the same
scenario and replicate count, measured in the same run.

Both go through :func:`simtrial.engine.run` on one process (``workers=1``), so both include
the trial layer, every per-replicate metric and the summary; CPU time (``process_time``) is
printed beside wall time, the ratio is of CPU times. An untimed trial through each engine
first compiles the kernels (or loads them from numba's cache), which both share.

    python benchmarks/bench_des.py [--reps 20] [--pitoia-reps 200]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from simtrial.engine import run

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "decision": ROOT / "scenarios" / "decision.toml",
    "pitoia2014": ROOT / "scenarios" / "pitoia2014.toml",
}


def timed(scenario: Path, reps: int, engine: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run(scenario, reps, seed=2014, engine=engine, progress=False).summary()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="DECISION replicates")
    parser.add_argument("--pitoia-reps", type=int, default=200, help="Pitoia replicates")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for engine in ("vectorised", "des"):
        timed(SCENARIOS["pitoia2014"], 1, engine)
    for name, reps in (("decision", args.reps), ("pitoia2014", args.pitoia_reps)):
        fast_wall, fast_cpu = timed(SCENARIOS[name], reps, "vectorised")
        slow_wall, slow_cpu = timed(SCENARIOS[name], reps, "des")
        print(
            f"{name:<11} {reps:>5} trials: vectorised {fast_wall:7.2f} s wall "
            f"({fast_cpu:7.2f} s CPU, {1000 * fast_cpu / reps:7.1f} ms/trial); des "
            f"{slow_wall:7.2f} s wall ({slow_cpu:7.2f} s CPU, {1000 * slow_cpu / reps:7.1f} "
            f"ms/trial); vectorised is {slow_cpu / fast_cpu:,.0f}x faster"
        )


if __name__ == "__main__":
    main()
