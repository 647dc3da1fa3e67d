"""Monte-Carlo runner: many simulated trials in chunks, on one or more processes, with
results that survive interruption.

- **Reproducible.** Replicate ``r`` draws from its own streams (:mod:`simtrial.streams`), so
  a run's results are bit-identical whatever the chunk size, the number of workers or the
  backend, and whether it was interrupted and resumed.
- **Bounded memory.** Only one chunk per worker is in memory; results are per-replicate rows.
- **Backends** map a chunk function over chunk specifications: in-process
  (:class:`SerialBackend`) or local processes (:class:`ProcessBackend`). Another backend (a
  Dask client, say) only has to provide the same ``map``.
- **Resumable.** With ``out``, each finished chunk is written atomically (temporary file, then
  rename) next to a manifest (scenario content hash, seed, package version, chunk layout);
  ``resume=True`` runs only the missing chunks and refuses a changed scenario or seed.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simtrial._version import __version__
from simtrial.patients import check_vectorised
from simtrial.scenario import Scenario, load_scenario
from simtrial.streams import ReplicateStreams, root_seed
from simtrial.trial import simulate_trial

__all__ = ["ENGINES", "ProcessBackend", "RunResult", "SerialBackend", "run"]

MANIFEST = "manifest.json"
_FORMAT = 1


@dataclass(frozen=True)
class _Chunk:
    index: int
    first: int
    count: int


@dataclass(frozen=True)
class _ChunkResult:
    index: int
    replicates: pd.DataFrame
    patients: pd.DataFrame | None


#: The simulation engines :func:`run` offers.
ENGINES = ("vectorised", "des")


def _simulate_chunk(
    scenario: Scenario, seed: int, chunk: _Chunk, keep_patients: int, engine: str = "vectorised"
) -> _ChunkResult:
    """Simulate one chunk of replicates (runs in a worker; must stay importable)."""
    streams = ReplicateStreams(
        seed, chunk.first, chunk.count, rows_per_replicate=scenario.n_patients
    )
    if engine == "des":
        from simtrial import des

        trials = des.simulate(scenario, chunk.count, rng=streams)
    else:
        trials = simulate_trial(scenario, chunk.count, rng=streams)
    replicates = trials.to_frame()
    replicates["rep"] += chunk.first
    patients = None
    kept = max(0, min(keep_patients - chunk.first, chunk.count))
    if kept:
        frame = trials.patient_frame()
        frame = frame[frame["rep"] < kept].copy()
        frame["rep"] += chunk.first
        patients = frame
    return _ChunkResult(chunk.index, replicates, patients)


class SerialBackend:
    """Runs chunks one after the other in this process."""

    def map(self, function: Callable, tasks: Iterable) -> Iterator:
        for task in tasks:
            yield function(*task)


class ProcessBackend:
    """Runs chunks on ``workers`` local processes (results arrive as they finish)."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"`workers` must be >= 1, got {workers}")
        self.workers = workers

    def map(self, function: Callable, tasks: Iterable) -> Iterator:
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(function, *task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()


@dataclass(frozen=True)
class RunResult:
    """The result of :func:`run`.

    Attributes
    ----------
    scenario : Scenario
    n_sims, seed, chunk_size : int
    replicates : pandas.DataFrame
        One row per replicate trial, one column per metric.
    patients : pandas.DataFrame or None
        One row per patient of the first ``keep_patients`` replicates.
    """

    scenario: Scenario
    n_sims: int
    seed: int
    chunk_size: int
    replicates: pd.DataFrame
    patients: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The per-replicate metrics (a copy)."""
        return self.replicates.copy()

    def summary(self) -> pd.DataFrame:
        """Per metric: ``n_finite`` (replicates where it is defined: a median not reached is
        NaN), mean, Monte-Carlo standard error, 2.5% / 97.5% quantiles over those replicates,
        and the published value where the scenario cites one."""
        values = self.replicates.drop(columns="rep").astype(float)
        finite = values.notna().sum()
        frame = pd.DataFrame(
            {
                "n_finite": finite,
                "mean": values.mean(),
                "se": values.std(ddof=1) / np.sqrt(finite.where(finite > 0)),
                "q025": values.quantile(0.025),
                "q975": values.quantile(0.975),
                "published": [
                    self.scenario.targets[m].published if m in self.scenario.targets else np.nan
                    for m in values.columns
                ],
            }
        )
        frame.index.name = "metric"
        return frame

    def to_json(self) -> dict:
        """The summary as a JSON-ready dict (NaN as null)."""

        def clean(x):
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

        summary = self.summary()
        return {
            "scenario": self.scenario.study.name,
            "n_sims": self.n_sims,
            "seed": self.seed,
            "metrics": {
                metric: {key: clean(row[key]) for key in summary.columns}
                for metric, row in summary.iterrows()
            },
        }


def _chunks(n_sims: int, chunk_size: int) -> list[_Chunk]:
    return [
        _Chunk(i, first, min(chunk_size, n_sims - first))
        for i, first in enumerate(range(0, n_sims, chunk_size))
    ]


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _manifest(
    scenario: Scenario, n_sims: int, seed: int, chunk_size: int, keep: int, engine: str
) -> dict:
    return {
        "format": _FORMAT,
        "engine": engine,
        "scenario": scenario.study.name,
        "scenario_hash": scenario.content_hash(),
        "seed": seed,
        "n_sims": n_sims,
        "chunk_size": chunk_size,
        "keep_patients": keep,
        "simtrial_version": __version__,
    }


def _prepare_out(out: Path, manifest: dict, resume: bool) -> set[int]:
    """Create or check the results folder; return the indices of chunks already done."""
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        if not resume:
            raise ValueError(
                f"{out} already holds a run; use resume=True (--resume) to finish it, or "
                "another folder"
            )
        try:
            found = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{manifest_path}: not a valid manifest ({error})") from None
        keys = (
            "format",
            "engine",
            "scenario_hash",
            "seed",
            "n_sims",
            "chunk_size",
            "keep_patients",
            "simtrial_version",
        )
        for key in keys:
            if found.get(key) != manifest[key]:
                what = "scenario" if key == "scenario_hash" else key
                raise ValueError(
                    f"{out}: cannot resume: the {what} differs from the interrupted run's "
                    f"({found.get(key)!r} there, {manifest[key]!r} now)"
                )
    else:
        try:
            (out / "chunks").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"cannot write results to {out}: {error.strerror}") from None
        if not os.access(out, os.W_OK):
            raise ValueError(f"cannot write results to {out}: not writable")
        _write_atomic(manifest_path, lambda p: p.write_text(json.dumps(manifest, indent=2)))
    (out / "chunks").mkdir(exist_ok=True)
    done = set()
    for path in (out / "chunks").glob("replicates-*.csv"):
        done.add(int(path.stem.split("-")[1]))
    return done


def _save_chunk(out: Path, result: _ChunkResult) -> None:
    if result.patients is not None:
        target = out / "chunks" / f"patients-{result.index:06d}.csv"
        _write_atomic(target, lambda p: result.patients.to_csv(p, index=False))
    # the replicate file marks the chunk as done, so it is written last
    target = out / "chunks" / f"replicates-{result.index:06d}.csv"
    _write_atomic(target, lambda p: result.replicates.to_csv(p, index=False))


def _load_chunk(out: Path, index: int) -> _ChunkResult:
    replicates = pd.read_csv(out / "chunks" / f"replicates-{index:06d}.csv")
    patients_path = out / "chunks" / f"patients-{index:06d}.csv"
    patients = pd.read_csv(patients_path) if patients_path.exists() else None
    return _ChunkResult(index, replicates, patients)


def run(
    scenario: Scenario | str | os.PathLike,
    n_sims: int = 1000,
    *,
    seed: int | None = None,
    chunk_size: int | None = None,
    workers: int = 1,
    backend=None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    keep_patients: int = 0,
    progress: bool | None = None,
    engine: str = "vectorised",
) -> RunResult:
    """Simulate ``n_sims`` trials of a scenario and collect per-replicate metrics.

    Parameters
    ----------
    scenario : Scenario or path
    n_sims : int
        Number of replicate trials.
    seed : int, optional
        Root seed; None draws a fresh one (reported in the result, so the run can be
        repeated).
    chunk_size : int, optional
        Replicates simulated together (memory grows with it; results do not change).
        Default 100 for the vectorised engine (fastest on this 2-core machine: 50 and 200
        cost 4-5% more CPU), 2 for the discrete-event one (so that an interrupted run loses
        little work and the progress bar moves).
    workers : int
        Local processes (1 = in this process).
    backend : object with ``map(function, tasks)``, optional
        Overrides ``workers``.
    out : path, optional
        Folder for the manifest and one file per finished chunk.
    resume : bool
        Finish the run already in ``out``.
    keep_patients : int
        Keep the patient-level table of the first this many replicates.
    progress : bool, optional
        Show a progress bar (default: when standard error is a terminal).
    engine : {"vectorised", "des"}
        The vectorised engine (fast), or the discrete-event model of :mod:`simtrial.des`
        (about a second per DECISION-sized trial: for checking the engine and for the
        scenario's ``[operations]``, which only it simulates).

    Returns
    -------
    RunResult

    Examples
    --------
    >>> from simtrial.engine import run
    >>> result = run("scenarios/pitoia2014.toml", n_sims=20, seed=1, progress=False)
    >>> result.summary().loc["bor_count.PR", ["mean", "published"]].round(2).tolist()[1]
    1.0
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    if chunk_size is None:
        chunk_size = 100 if engine == "vectorised" else 2
    for name, value, low in (
        ("n_sims", n_sims, 1),
        ("chunk_size", chunk_size, 1),
        ("workers", workers, 1),
        ("keep_patients", keep_patients, 0),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
    if engine == "vectorised":  # here too, so a refused scenario writes no --out folder
        check_vectorised(scenario)
    seed = root_seed(seed)
    chunks = _chunks(n_sims, chunk_size)
    done: set[int] = set()
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        manifest = _manifest(scenario, n_sims, int(seed), chunk_size, keep_patients, engine)
        done = _prepare_out(out_path, manifest, resume)
    elif resume:
        raise ValueError("resume=True needs `out`, the folder of the interrupted run")
    if backend is None:
        backend = SerialBackend() if workers == 1 else ProcessBackend(workers)

    results: dict[int, _ChunkResult] = {}
    todo = [c for c in chunks if c.index not in done]
    show = sys.stderr.isatty() if progress is None else progress
    bar = _progress_bar(n_sims, show, initial=sum(c.count for c in chunks if c.index in done))
    try:
        tasks = ((scenario, int(seed), c, keep_patients, engine) for c in todo)
        for result in backend.map(_simulate_chunk, tasks):
            if out_path is not None:
                _save_chunk(out_path, result)
            else:
                results[result.index] = result
            bar.update(len(result.replicates))
    finally:
        bar.close()
    if out_path is not None:
        results = {c.index: _load_chunk(out_path, c.index) for c in chunks}
    ordered = [results[c.index] for c in chunks]
    replicates = pd.concat([r.replicates for r in ordered], ignore_index=True)
    kept = [r.patients for r in ordered if r.patients is not None]
    patients = pd.concat(kept, ignore_index=True) if kept else None
    return RunResult(scenario, n_sims, int(seed), chunk_size, replicates, patients)


def _progress_bar(total: int, show: bool, initial: int = 0):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, disable=not show, unit="trial", desc="simulating", leave=False
    )
