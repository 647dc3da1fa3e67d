"""Regenerate the figures under docs/ from fixed seeds.

Run from anywhere: ``.venv/bin/python docs/make_figures.py`` (about 15 s). Every figure
comes from the shipped scenarios and the seeds below, so a changed figure means a changed
model.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import simtrial  # noqa: E402
from simtrial import plots  # noqa: E402
from simtrial.design import power_curve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PITOIA = ROOT / "scenarios" / "pitoia2014.toml"
DECISION = ROOT / "scenarios" / "decision.toml"

SEED = 2014  # one Pitoia cohort, one DECISION cohort
N_PITOIA_COHORTS = 2000  # BOR count distribution
N_DECISION_TRIALS = 200  # Kaplan-Meier band
N_POWER_SIMS = 200  # replicate trials per design point of the power curve


def save(fig, name: str) -> None:
    path = DOCS / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    start = time.perf_counter()
    DOCS.mkdir(exist_ok=True)

    pitoia = simtrial.simulate_patients(str(PITOIA), n_reps=1, rng=SEED)
    patients = pitoia.to_frame()
    save(plots.waterfall_plot(patients), "waterfall_pitoia.png")
    save(plots.spider_plot(pitoia.visit_table(), patients=patients), "spider_pitoia.png")
    save(plots.swimmer_plot(pitoia), "swimmer_pitoia.png")
    save(plots.tg_plot(pitoia), "tg_pitoia.png")

    cohorts = simtrial.run(str(PITOIA), n_sims=N_PITOIA_COHORTS, seed=SEED, progress=False)
    save(plots.bor_count_plot(cohorts), "bor_counts_pitoia.png")

    trials = simtrial.simulate_trial(str(DECISION), n_reps=N_DECISION_TRIALS, rng=SEED)
    save(plots.km_plot(trials), "km_decision.png")
    decision = simtrial.simulate_patients(str(DECISION), n_reps=1, rng=SEED)
    save(plots.tg_plot(decision), "tg_decision.png")
    save(plots.waterfall_plot(decision.to_frame()), "waterfall_decision.png")

    curve = power_curve(
        str(DECISION),
        n_per_arm=[30, 60, 90, 120, 150, 180],
        n_sims=N_POWER_SIMS,
        seed=SEED,
        progress=False,
    )
    save(plots.power_curve_plot(curve, target_power=0.9), "power_decision.png")

    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
