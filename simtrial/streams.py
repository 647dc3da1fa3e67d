"""One random stream per replicate, drawn for many replicates at once.

Replicate ``r`` of a run with root seed ``s`` always draws from
``SeedSequence(s, spawn_key=(r, stream))``, so its result is the same whatever the chunk size, the
number of workers or the backend, and whether the run was resumed. The stages draw for a
whole chunk in one call: :class:`ReplicateStreams` splits each draw by replicate (rows are
replicate-major: row = replicate x patients + patient) and stacks the pieces, so the numpy
work stays vectorised and only the generator calls loop over the chunk's replicates.

Every stage accepts, as ``rng``, either a :class:`ReplicateStreams` or anything
``numpy.random.default_rng`` takes (a Generator, a seed, a SeedSequence or None), which is
then one stream for all rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ReplicateStreams", "RowDraws", "as_rng", "for_rows", "replicate_seed", "root_seed"]


def root_seed(seed) -> int:
    """A run's root seed: ``seed`` checked, or a fresh one (reported, so runs repeat)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    return int(seed)


def replicate_seed(root: int, replicate: int, stream: int = 0) -> np.random.SeedSequence:
    """The seed sequence of one replicate (and one of its independent streams) of a run.

    Streams separate what must not interact: the patients (stream 0), the trial around them
    (1: accrual, drop-out, death) and crossover (2), so that, for instance, changing the
    crossover rule cannot change a single progression.

    Examples
    --------
    >>> from simtrial.streams import replicate_seed
    >>> import numpy as np
    >>> a = np.random.default_rng(replicate_seed(7, 3)).random()
    >>> b = np.random.default_rng(replicate_seed(7, 3)).random()
    >>> a == b
    True
    """
    return np.random.SeedSequence(root, spawn_key=(int(replicate), int(stream)))


class RowDraws:
    """Generator-like object drawing ``counts[r]`` leading entries from generator ``r``.

    Its methods take the same arguments as ``numpy.random.Generator``'s; the leading size of
    every draw must equal the number of rows it covers. :meth:`rows` narrows it to a subset
    of those rows.
    """

    def __init__(self, generators, counts):
        self.generators = list(generators)
        self.counts = np.asarray(counts, np.int64)
        self.total = int(self.counts.sum())

    def rows(self, rows: np.ndarray | None) -> RowDraws:
        """Draws with one leading entry per element of ``rows`` (sorted row indices)."""
        if rows is None:
            return self
        owner = np.searchsorted(np.cumsum(self.counts), np.asarray(rows), side="right")
        return RowDraws(self.generators, np.bincount(owner, minlength=len(self.generators)))

    def _shape(self, size) -> tuple[int, ...]:
        size = (size,) if np.isscalar(size) else tuple(size)
        if size[0] != self.total:
            raise ValueError(f"a draw for {self.total} rows asked for leading size {size[0]}")
        return size

    def _fill(self, method: str, size, dtype) -> np.ndarray:
        """A draw by a method that takes ``out=``: each generator fills its own rows of one
        array (the same numbers as :meth:`_draw`, without pieces to concatenate)."""
        out = np.empty(self._shape(size), dtype)
        start = 0
        for generator, count in zip(self.generators, self.counts.tolist(), strict=True):
            if count:
                getattr(generator, method)(out=out[start : start + count], dtype=dtype)
                start += count
        return out

    def _draw(self, method: str, size, **kwargs) -> np.ndarray:
        size = self._shape(size)
        pieces = [
            getattr(g, method)(size=(int(c), *size[1:]), **kwargs)
            for g, c in zip(self.generators, self.counts, strict=True)
            if c
        ]
        if not pieces:
            return getattr(self.generators[0], method)(size=size, **kwargs)
        return np.concatenate(pieces, axis=0)

    def random(self, size, dtype=np.float64):
        return self._fill("random", size, dtype)

    def standard_normal(self, size, dtype=np.float64):
        return self._fill("standard_normal", size, dtype)

    def standard_exponential(self, size, dtype=np.float64):
        return self._fill("standard_exponential", size, dtype)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._draw("uniform", size, low=low, high=high)

    def poisson(self, lam=1.0, size=None):
        return self._draw("poisson", size, lam=lam)


class ReplicateStreams(RowDraws):
    """Independent generators for replicates ``first, ..., first + count - 1``.

    Parameters
    ----------
    root : int
        The run's root seed.
    first, count : int
        The replicates covered.
    rows_per_replicate : int
        Rows (patients) each replicate contributes to a full-width draw.
    stream : int
        Which of each replicate's independent streams (see :func:`replicate_seed`).

    Examples
    --------
    Two chunks of one replicate each draw exactly what one chunk of two draws:

    >>> import numpy as np
    >>> from simtrial.streams import ReplicateStreams
    >>> both = ReplicateStreams(1, 0, 2, rows_per_replicate=3).random((6,))
    >>> first = ReplicateStreams(1, 0, 1, rows_per_replicate=3).random((3,))
    >>> second = ReplicateStreams(1, 1, 1, rows_per_replicate=3).random((3,))
    >>> bool((both == np.concatenate([first, second])).all())
    True
    """

    def __init__(
        self, root: int, first: int, count: int, *, rows_per_replicate: int, stream: int = 0
    ):
        generators = [
            np.random.default_rng(replicate_seed(root, r, stream))
            for r in range(first, first + count)
        ]
        super().__init__(generators, np.full(count, int(rows_per_replicate)))
        self.root, self.first = int(root), int(first)


def as_rng(rng):
    """``rng`` if it is a :class:`RowDraws`, else ``numpy.random.default_rng(rng)``."""
    return rng if isinstance(rng, RowDraws) else np.random.default_rng(rng)


def for_rows(rng, rows: np.ndarray | None = None):
    """The generator to draw one leading entry per element of ``rows`` (None = every row)."""
    return rng.rows(rows) if isinstance(rng, RowDraws) else rng
