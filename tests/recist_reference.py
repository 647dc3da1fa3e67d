"""A slow, plain reference for RECIST assessment of one patient (double programming).

Written independently of :mod:`simtrial.recist`: one patient, Python lists and loops, one
``if`` per sentence of the rule text, exactly rounded sums (:func:`math.fsum`). It follows the
same documented readings (EORTC RECIST FAQ) so that any disagreement with the array door is a
bug in one of the two:

1. Target response at a follow-up visit, first rule that applies:

   a. **PD** if the sum of the *measured* targets has increased over the nadir and is >= 120%
      of it and (RECIST 1.1) >= 5 mm above it; or, right after an overall CR, a target lesion
      is present again (non-nodal > 0 mm, node >= 10 mm by short axis).
   b. **NE** if any target was not measured.
   c. **CR** if every non-nodal target is 0 mm and every nodal target < 10 mm (RECIST 1.0:
      every target 0 mm).
   d. **PR** if the sum is <= 70% of the baseline sum.
   e. **SD** otherwise.

   The nadir is the smallest complete sum at an earlier visit, baseline included. Every
   threshold is inclusive up to ``SIZE_TOLERANCE_MM``; with ``exact=True`` the sizes are
   read as the decimals they were written as (``Fraction(repr(size))``) and compared exactly,
   with no tolerance — the reading a radiologist with a calculator would make.
2. Overall response: RECIST 1.1 Table 1 (with targets) and Table 2 (without).
3. Best overall response over the visits up to and including the first PD: a confirmed CR
   (a later CR >= ``confirm_days`` after it), else a confirmed PR (a later CR or PR), else SD
   (non-CR/non-PD without targets) if some CR/PR/SD/non-CR-non-PD assessment is
   >= ``min_sd_days`` after baseline, else PD if there is a PD, else NE. Without confirmation
   every CR / PR counts as confirmed.
4. Continued response (FAQ): after the first visit that establishes a response (an overall CR
   or PR that is, when confirmation is asked, itself the confirmation of an earlier CR or PR),
   target SD up to the first PD becomes PR; the overall response is read again from Table 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from simtrial.recist import SIZE_TOLERANCE_MM, Criteria

TOL = SIZE_TOLERANCE_MM

__all__ = ["ReferenceResult", "reference_assess"]


@dataclass(frozen=True)
class ReferenceResult:
    """Per follow-up visit (visit 1, 2, ...): responses by name, target sum (NaN when a target
    was not measured) and nadir before the visit; best response; first PD visit."""

    target: list[str]
    overall: list[str]
    target_sum: list[float]
    nadir: list[float]
    best: str
    pd_visit: int | None  # index in the visit list (baseline = 0), None without PD


def _overall(target: str, nontarget: str | None, new_lesion: bool, has_targets: bool) -> str:
    """RECIST 1.1 Table 1 (target disease) and Table 2 (non-target disease only)."""
    if new_lesion or target == "PD" or nontarget == "PD":
        return "PD"
    if has_targets:
        if target == "CR":
            if nontarget is None or nontarget == "CR":
                return "CR"
            return "PR"  # non-target non-CR/non-PD or not evaluated
        if target == "PR":
            return "PR"
        if target == "SD":
            return "SD"
        return "NE"
    if nontarget == "CR":
        return "CR"
    if nontarget == "NON_CR_NON_PD":
        return "NON_CR_NON_PD"
    return "NE"


def reference_assess(
    sizes_by_visit: list[list[float]],
    nodal: list[bool],
    days: list[float],
    new_lesion: list[bool],
    nontarget: list[str | None],
    criteria: Criteria,
    confirm: bool = False,
    confirm_days: float = 28,
    min_sd_days: float = 42,
    exact: bool = False,
) -> ReferenceResult:
    """Assess one patient by the rules in the module docstring.

    Parameters
    ----------
    sizes_by_visit : list of list of float
        ``sizes_by_visit[v][i]``: target lesion ``i`` at visit ``v`` in mm (visit 0 is
        baseline; NaN = not measured). Every visit took place.
    nodal : list of bool
        Per target lesion.
    days : list of float
        Day of each visit, baseline first.
    new_lesion, nontarget : list
        Per visit (entry 0, baseline, is ignored). ``nontarget`` holds ``"CR"``,
        ``"NON_CR_NON_PD"``, ``"PD"``, ``"NE"`` or None (no non-target disease).
    criteria, confirm, confirm_days, min_sd_days
        As in :func:`simtrial.recist.assess_visits`.
    exact : bool
        Exact decimal arithmetic without tolerance instead of floats with tolerance.
    """
    if exact:
        tol = 0

        def number(x: float) -> Fraction:
            return Fraction(repr(float(x)))

        def add(values) -> Fraction:
            return sum(values, Fraction(0))
    else:
        tol = TOL
        number = float
        add = math.fsum

    pr_factor = 1 - number(criteria.pr_decrease)
    pd_factor = 1 + number(criteria.pd_increase)
    pd_mm = None if criteria.pd_min_increase_mm is None else number(criteria.pd_min_increase_mm)

    def is_gone(size, is_node: bool) -> bool:
        if is_node and criteria.nodes_by_short_axis:
            return size < number(criteria.node_normal_mm) - tol
        return size <= tol if exact else size < tol

    n_visits = len(days)
    n_lesions = len(nodal)
    has_targets = n_lesions > 0
    baseline_sum = add(number(s) for s in sizes_by_visit[0])
    nadir = baseline_sum
    sums: list[float] = [math.nan] * n_visits
    nadirs: list[float] = [math.nan] * n_visits

    # 1-2. visit by visit, literal rules
    target: list[str] = ["NA"] * n_visits
    overall: list[str] = ["NA"] * n_visits
    for v in range(1, n_visits):
        if has_targets:
            measured = [i for i in range(n_lesions) if not math.isnan(sizes_by_visit[v][i])]
            sizes = {i: number(sizes_by_visit[v][i]) for i in measured}
            total = add(sizes.values())
            all_measured = len(measured) == n_lesions
            nadirs[v] = float(nadir)
            increase = total - nadir
            pd_by_sum = increase > tol and total >= pd_factor * nadir - tol
            if pd_mm is not None and increase < pd_mm - tol:
                pd_by_sum = False
            after_cr = overall[v - 1] == "CR"
            some_present = any(not is_gone(sizes[i], nodal[i]) for i in measured)
            reappeared = criteria.reappearance_after_cr_is_pd and after_cr and some_present
            if pd_by_sum or reappeared:
                target[v] = "PD"
            elif not all_measured:
                target[v] = "NE"
            elif not some_present:
                target[v] = "CR"
            elif total <= pr_factor * baseline_sum + tol:
                target[v] = "PR"
            else:
                target[v] = "SD"
            if all_measured:
                sums[v] = float(total)
                nadir = min(nadir, total)
        overall[v] = _overall(target[v], nontarget[v], new_lesion[v], has_targets)

    # 3. best overall response, from the visits up to the first PD
    pd_visit = next((v for v in range(1, n_visits) if overall[v] == "PD"), None)
    last = n_visits - 1 if pd_visit is None else pd_visit
    window = range(1, last + 1)

    def confirmed(v: int, good: tuple[str, ...]) -> bool:
        if overall[v] not in good:
            return False
        if not confirm:
            return True
        return any(
            overall[w] in good and days[w] - days[v] >= confirm_days for w in window if w > v
        )

    def confirms_earlier(w: int) -> bool:
        if overall[w] not in ("CR", "PR"):
            return False
        if not confirm:
            return True
        return any(
            overall[v] in ("CR", "PR") and days[w] - days[v] >= confirm_days
            for v in window
            if v < w
        )

    stable_names = ("CR", "PR", "SD", "NON_CR_NON_PD")
    if any(confirmed(v, ("CR",)) for v in window):
        best = "CR"
    elif any(confirmed(v, ("CR", "PR")) for v in window):
        best = "PR"
    elif any(overall[v] in stable_names and days[v] - days[0] >= min_sd_days for v in window):
        best = "SD" if has_targets else "NON_CR_NON_PD"
    elif pd_visit is not None:
        best = "PD"
    else:
        best = "NE"

    # 4. continued response: target SD after an established response, up to the first PD
    if criteria.continued_response and has_targets:
        established_at = next((w for w in window if confirms_earlier(w)), None)
        if established_at is not None:
            target = list(target)
            overall = list(overall)
            for v in range(established_at + 1, last + 1):
                if target[v] == "SD":
                    target[v] = "PR"
                    overall[v] = _overall("PR", nontarget[v], new_lesion[v], has_targets)

    return ReferenceResult(
        target=target[1:],
        overall=overall[1:],
        target_sum=sums[1:],
        nadir=nadirs[1:],
        best=best,
        pd_visit=pd_visit,
    )
