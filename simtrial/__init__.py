"""simtrial: Monte-Carlo simulation of oncology cohorts and trials at lesion level.

Importing simtrial starts nothing and patches nothing; sub-modules with heavy optional
dependencies (plots, dask) are imported only when used.
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
]
