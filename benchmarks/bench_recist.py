"""RECIST classifier: the array door against a per-patient Python loop, in one run.

100,000 patients x 10 visits (baseline + 9 scans every 8 weeks, +-7 days, 3% missed) x 5
lesion slots (1-5 target lesions, 30% nodes), sizes from multiplicative random walks recorded
to 0.1 mm, 2% of measurements missing, new lesions, non-target disease in half the patients.

- ours: ``simtrial.recist.assess_visits`` on all patients at once (best of ``--repeat``,
  after an untimed call on 100 patients that compiles the kernels or loads them from
  numba's cache);
- peer: ``tests/recist_reference.reference_assess`` (plain Python, one patient at a time) on
  a sample of patients, extrapolated to all; the two must agree on every sampled patient.

Run: ``python benchmarks/bench_recist.py [--patients N] [--sample N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simtrial.recist import RECIST_1_1, Response, assess_visits  # noqa: E402
from tests.recist_reference import reference_assess  # noqa: E402

N_VISITS, N_LESIONS = 10, 5
NAMES = [r.name for r in Response]


def simulate(n: int, *, rng) -> dict[str, np.ndarray]:
    """Array-door arguments for ``n`` patients, shapes (patient, visit[, lesion])."""
    rng = np.random.default_rng(rng)
    n_targets = rng.integers(1, N_LESIONS + 1, n)
    lesion_mask = np.arange(N_LESIONS) < n_targets[:, None]
    nodal = rng.random((n, N_LESIONS)) < 0.3
    baseline = np.where(
        nodal,
        15 + rng.lognormal(np.log(8), 0.6, (n, N_LESIONS)),
        10 + rng.lognormal(np.log(12), 0.7, (n, N_LESIONS)),
    )
    # multiplicative random walk: patient trend + lesion heterogeneity + visit noise
    trend = rng.normal(-0.02, 0.08, (n, 1, 1)) + rng.normal(0, 0.03, (n, 1, N_LESIONS))
    steps = trend + rng.normal(0, 0.06, (n, N_VISITS - 1, N_LESIONS))
    log_size = np.log(baseline)[:, None, :] + np.cumsum(steps, axis=1)
    follow_up = np.exp(log_size)
    follow_up = np.where(nodal[:, None, :], np.maximum(follow_up, 4.0), follow_up)
    follow_up = np.where(~nodal[:, None, :] & (follow_up < 2.0), 0.0, follow_up)
    sizes = np.round(np.concatenate([baseline[:, None, :], follow_up], axis=1), 1)
    missing = rng.random(sizes.shape) < 0.02
    missing[:, 0] = False
    sizes[missing] = np.nan
    sizes[~np.broadcast_to(lesion_mask[:, None, :], sizes.shape)] = 0.0  # padding

    day = 56.0 * np.arange(N_VISITS) + rng.integers(-7, 8, (n, N_VISITS))
    day[:, 0] = 0
    visit_mask = rng.random((n, N_VISITS)) >= 0.03
    visit_mask[:, 0] = True
    new_lesion = rng.random((n, N_VISITS)) < 0.03
    new_lesion[:, 0] = False
    has_nontarget = rng.random(n) < 0.5
    draw = rng.random((n, N_VISITS))
    nontarget = np.select(
        [draw < 0.02, draw < 0.03, draw < 0.08],
        [Response.PD, Response.NE, Response.CR],
        Response.NON_CR_NON_PD,
    ).astype(np.int8)
    nontarget[~has_nontarget] = Response.NA
    nontarget[:, 0] = Response.NA
    return {
        "sizes": sizes,
        "nodal": nodal,
        "day": day,
        "lesion_mask": lesion_mask,
        "visit_mask": visit_mask,
        "new_lesion": new_lesion,
        "nontarget": nontarget,
    }


def as_lists(args: dict[str, np.ndarray], i: int) -> tuple:
    """Patient ``i`` as the reference's lists: held visits only, target lesions only."""
    held = args["visit_mask"][i]
    targets = args["lesion_mask"][i]
    sizes = args["sizes"][i][np.ix_(held, targets)]
    nontarget = [None if c == Response.NA else Response(int(c)).name for c in args["nontarget"][i]]
    return (
        sizes.tolist(),
        args["nodal"][i][targets].tolist(),
        args["day"][i][held].tolist(),
        args["new_lesion"][i][held].tolist(),
        [s for s, h in zip(nontarget, held, strict=True) if h],
    )


def agree(result, i: int, args, expected) -> bool:
    held = np.flatnonzero(args["visit_mask"][i])
    follow = held[1:]
    pd_visit = None if result.pd_visit[i] < 0 else int(np.searchsorted(held, result.pd_visit[i]))
    return (
        [NAMES[c] for c in result.target[i, follow]] == expected.target
        and [NAMES[c] for c in result.overall[i, follow]] == expected.overall
        and NAMES[result.best[i]] == expected.best
        and pd_visit == expected.pd_visit
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20260101)
    options = parser.parse_args(argv)
    n, n_sample = options.patients, min(options.sample, options.patients)

    args = simulate(n, rng=options.seed)
    sample = np.random.default_rng(options.seed + 1).choice(n, n_sample, replace=False)
    lists = [as_lists(args, int(i)) for i in sample]
    print(
        f"RECIST classifier, {RECIST_1_1.name}: {n:,} patients x {N_VISITS} visits x "
        f"{N_LESIONS} lesions"
    )
    warm_up = {name: value[:100] for name, value in args.items()}
    for confirm in (False, True):
        assess_visits(**warm_up, criteria=RECIST_1_1, confirm=confirm)
        times = []
        for _ in range(options.repeat):
            start = time.perf_counter()
            result = assess_visits(**args, criteria=RECIST_1_1, confirm=confirm)
            times.append(time.perf_counter() - start)
        ours = min(times)

        start = time.perf_counter()
        expected = [reference_assess(*patient, RECIST_1_1, confirm=confirm) for patient in lists]
        loop_sample = time.perf_counter() - start
        loop = loop_sample * n / n_sample
        mismatches = sum(
            not agree(result, int(i), args, e) for i, e in zip(sample, expected, strict=True)
        )

        print(f"\nconfirm={confirm}")
        print(
            f"  array door assess_visits : {ours:8.3f} s for {n:,} patients "
            f"({n / ours:12,.0f} patients/s; best of {options.repeat}: "
            + ", ".join(f"{t:.3f}" for t in times)
            + " s)"
        )
        print(
            f"  per-patient Python loop  : {loop:8.3f} s for {n:,} patients "
            f"({n / loop:12,.0f} patients/s; timed on a sample of {n_sample:,} patients, "
            f"{loop_sample:.3f} s, extrapolated)"
        )
        print(f"  ratio loop / array door  : {loop / ours:8.1f}x")
        print(f"  agreement on the sample  : {n_sample - mismatches:,} / {n_sample:,} patients")
        if mismatches:
            print("  DISAGREEMENT between the array door and the reference", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
