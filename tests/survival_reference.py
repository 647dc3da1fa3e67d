"""Slow, obviously correct survival statistics for one data set (double programming).

Written differently from `simtrial.survival` on purpose: a Python loop over the distinct
times, Kaplan–Meier products in exact rational arithmetic (`fractions.Fraction`), and a
Cox model for a general covariate from the textbook risk-set sums (Therneau & Grambsch
2000, section 3.3) solved by bracketing root finding instead of Newton's method.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import optimize, stats


def _event_times(time, event):
    return sorted({float(t) for t, e in zip(time, event, strict=True) if e})


def kaplan_meier_reference(time, event, conf_level=0.95, ci_transform="log", at=()):
    """Median, its interval (R survfit's band inversion) and S at `at` for one sample."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    survival = Fraction(1)
    greenwood = 0.0
    median = low = high = math.nan
    steps = []
    for t in _event_times(time, event):
        at_risk = int(np.sum(time >= t))
        deaths = int(np.sum((time == t) & event))
        survival *= Fraction(at_risk - deaths, at_risk)
        greenwood = (
            greenwood + deaths / (at_risk * (at_risk - deaths)) if at_risk > deaths else math.inf
        )
        steps.append((t, float(survival)))
        if survival == 0:
            lower = upper = math.nan  # R: the band is NA where S = 0
        elif ci_transform == "log":
            lower = float(survival) * math.exp(-z * math.sqrt(greenwood))
            upper = float(survival) * math.exp(z * math.sqrt(greenwood))
        else:
            log_s = math.log(survival)
            lower = math.exp(-math.exp(math.log(-log_s) - z * math.sqrt(greenwood) / log_s))
            upper = math.exp(-math.exp(math.log(-log_s) + z * math.sqrt(greenwood) / log_s))
        if math.isnan(median) and survival <= Fraction(1, 2):
            median = t
        if math.isnan(low) and lower <= 0.5:
            low = t
        if math.isnan(high) and upper <= 0.5:
            high = t
    survival_at = []
    for t in at:
        value = 1.0
        for step_time, step_value in steps:
            if step_time <= t:
                value = step_value
        survival_at.append(value)
    return dict(median=median, median_ci_low=low, median_ci_high=high, survival_at=survival_at)


def rmst_reference(time, event, tau):
    """Area under the Kaplan–Meier step function on [0, tau], interval by interval."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    area, level, previous = 0.0, 1.0, 0.0
    for t in _event_times(time, event):
        if t >= tau:
            break
        area += level * (t - previous)
        at_risk = np.sum(time >= t)
        level *= 1 - np.sum((time == t) & event) / at_risk
        previous = t
    return area + level * (tau - previous)


def _pooled_left_survival(time, event):
    """S(t-) of the pooled Kaplan–Meier at each distinct event time."""
    left, survival = {}, Fraction(1)
    for t in _event_times(time, event):
        left[t] = float(survival)
        at_risk = int(np.sum(time >= t))
        survival *= Fraction(at_risk - int(np.sum((time == t) & event)), at_risk)
    return left


def logrank_reference(time, event, group, strata=None, weights=(0.0, 0.0)):
    """Observed, expected, variance for group 1 and the chi-square test, stratum by stratum."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=int)
    strata = np.zeros(len(time), dtype=int) if strata is None else np.asarray(strata)
    rho, gamma = weights
    observed = expected = variance = 0.0
    for stratum in np.unique(strata):
        keep = strata == stratum
        t_s, e_s, g_s = time[keep], event[keep], group[keep]
        left = _pooled_left_survival(t_s, e_s)
        for t in _event_times(t_s, e_s):
            risk = t_s >= t
            n, n1 = risk.sum(), (risk & (g_s == 1)).sum()
            dead = (t_s == t) & e_s
            d, d1 = dead.sum(), (dead & (g_s == 1)).sum()
            weight = left[t] ** rho * (1 - left[t]) ** gamma
            observed += weight * d1
            expected += weight * d * n1 / n
            if n > 1:
                variance += weight**2 * d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    statistic = (observed - expected) ** 2 / variance if variance > 0 else math.nan
    pvalue = stats.chi2.sf(statistic, 1) if variance > 0 else math.nan
    return dict(
        statistic=statistic,
        pvalue=pvalue,
        observed=observed,
        expected=expected,
        variance=variance,
    )


def _cox_score_information(beta, time, event, x, ties):
    """Score and information of the partial likelihood for one covariate `x`."""
    score = information = 0.0
    for t in _event_times(time, event):
        risk = time >= t
        dead = (time == t) & event
        d = int(dead.sum())
        risk_weight = np.exp(beta * x[risk])
        dead_weight = np.exp(beta * x[dead])
        score += x[dead].sum()
        for rank in range(d):
            share = rank / d if ties == "efron" else 0.0
            s0 = risk_weight.sum() - share * dead_weight.sum()
            s1 = (x[risk] * risk_weight).sum() - share * (x[dead] * dead_weight).sum()
            s2 = (x[risk] ** 2 * risk_weight).sum() - share * (x[dead] ** 2 * dead_weight).sum()
            score -= s1 / s0
            information += s2 / s0 - (s1 / s0) ** 2
    return score, information


def cox_reference(time, event, group, ties="efron", conf_level=0.95, bound=30.0):
    """Hazard ratio, Wald interval and p-value; NaN unless the score changes sign."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    x = np.asarray(group, dtype=float)

    def score(beta):
        return _cox_score_information(beta, time, event, x, ties)[0]

    nan = dict(hazard_ratio=math.nan, log_hr=math.nan, se=math.nan, pvalue=math.nan)
    if not (event.any() and score(-bound) > 0 > score(bound)):
        return {**nan, "ci_low": math.nan, "ci_high": math.nan, "estimable": False}
    beta = optimize.brentq(score, -bound, bound, xtol=1e-14, rtol=1e-15, maxiter=500)
    se = 1 / math.sqrt(_cox_score_information(beta, time, event, x, ties)[1])
    z = stats.norm.ppf(0.5 + conf_level / 2)
    return dict(
        hazard_ratio=math.exp(beta),
        log_hr=beta,
        se=se,
        ci_low=math.exp(beta - z * se),
        ci_high=math.exp(beta + z * se),
        pvalue=stats.chi2.sf((beta / se) ** 2, 1),
        estimable=True,
    )
