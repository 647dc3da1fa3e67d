"""Tests of simtrial.survival against R, lifelines, scipy, statsmodels and a slow reference.

Where a reference library follows a different convention from ours the test says so next
to the comparison and compares against the convention that matches:

* KM median at a plateau of exactly 0.5: we and lifelines take the first time with
  S <= 0.5 (we with a 1e-10 tolerance for rounding); statsmodels uses S < 0.5 (SAS) and so
  gives the next event time; R takes the midpoint. Such data sets are compared with the
  exact-arithmetic reference only.
* KM median CI: lifelines inverts the log-log band (our ``ci_transform="log-log"``); where
  S drops to 0 the band is undefined (R: NA, we: NaN), but lifelines' search stops on
  those NaN values and reports the time of the drop as a limit.
  statsmodels ``quantile_ci`` inverts the z-test on the event-time grid (SAS); R and we
  invert the pointwise band. They agree when the accepted set is one run of event times
  followed by a time where the upper band is <= 0.5; otherwise (empty or split set, or the
  curve dropping to 0 right after it, where R reports NA) we follow R.
* Log-rank with no event (variance 0): lifelines reports statistic 0 and p = 1; we
  report NaN (the test is undefined).
* Cox model without a finite MLE: lifelines and statsmodels return a large finite log HR
  with a ConvergenceWarning; we report ``estimable=False`` and NaN.
* statsmodels ``PHReg`` defaults to Breslow ties, lifelines and R to Efron: we pass
  ``ties`` explicitly.
* lifelines ``CoxPHFitter`` stops when the Newton decrement is below ``precision``
  (default 1e-7) without taking the last step, leaving log HR ~1e-8 off: the tests
  tighten it (``precision=1e-24``, ``r_precision=1e-30``).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import assume, given
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight
from survival_reference import (
    cox_reference,
    kaplan_meier_reference,
    logrank_reference,
    rmst_reference,
)

from simtrial import survival
from simtrial.survival import (
    analyse_two_arms,
    cox_ph,
    kaplan_meier,
    logrank,
)

RTOL = 1e-8  # agreement asked of the same method computed by another library
SCAN_INTERVAL = 56 / 30.4375  # 8 weeks in months: assessments every scan day give ties


# --------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------


def make_trial(rng, n_control, n_treatment, kind="continuous"):
    """One seeded two-arm data set: exponential times, uniform censoring.

    kind: "continuous"; "ties" (times rounded up to 8-weekly scan days); "all_censored";
    "no_treatment_events" (arm 1 entirely censored).
    """
    group = np.r_[np.zeros(n_control, dtype=int), np.ones(n_treatment, dtype=int)]
    latent = rng.exponential(np.where(group == 1, 10.8, 5.8) / math.log(2))
    censor = rng.uniform(0.0, 30.0, size=group.size)
    event = latent <= censor
    time = np.minimum(latent, censor)
    if kind == "ties":
        time = np.ceil(time / SCAN_INTERVAL) * SCAN_INTERVAL
    elif kind == "all_censored":
        event[:] = False
    elif kind == "no_treatment_events":
        event[group == 1] = False
    return time, event, group


def seeded_trials(seed, count, kinds=("continuous", "ties"), sizes=(2, 60)):
    rng = np.random.default_rng(seed)
    for index in range(count):
        n_control, n_treatment = rng.integers(sizes[0], sizes[1] + 1, size=2)
        yield make_trial(rng, n_control, n_treatment, kinds[index % len(kinds)])


def assert_close(actual, expected, rtol=RTOL, atol=0.0, what=""):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )


@contextlib.contextmanager
def quiet_reference():
    """Silence warnings raised inside a reference library (degenerate inputs) only."""
    with warnings.catch_warnings():
        for module in ("lifelines", "statsmodels", "scipy", "pandas", "numpy"):
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=module)
        warnings.filterwarnings("ignore", message=".*[Cc]onvergence.*")
        yield


# --------------------------------------------------------------------------------------
# R: survival::aml, the example of ?survfit, ?survdiff and ?coxph
# --------------------------------------------------------------------------------------

AML_MAINTAINED = ([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161], [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
AML_NONMAINTAINED = (
    [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
)


def aml_data():
    time = np.r_[AML_MAINTAINED[0], AML_NONMAINTAINED[0]].astype(float)
    event = np.r_[AML_MAINTAINED[1], AML_NONMAINTAINED[1]]
    group = np.r_[np.zeros(11, dtype=int), np.ones(12, dtype=int)]
    return time, event, group


def test_kaplan_meier_matches_r_survfit_on_aml():
    # R 4.x, survival 3.x:  survfit(Surv(time, status) ~ x, data = aml)
    #                  n events median 0.95LCL 0.95UCL
    # x=Maintained    11      7     31      18      NA
    # x=Nonmaintained 12     11     23       8      NA
    maintained = kaplan_meier(*AML_MAINTAINED)
    nonmaintained = kaplan_meier(*AML_NONMAINTAINED)
    assert (maintained.n_subjects, maintained.n_events) == (11, 7)
    assert (maintained.median, maintained.median_ci_low) == (31.0, 18.0)
    assert math.isnan(maintained.median_ci_high)
    assert (nonmaintained.n_subjects, nonmaintained.n_events) == (12, 11)
    assert (nonmaintained.median, nonmaintained.median_ci_low) == (23.0, 8.0)
    assert math.isnan(nonmaintained.median_ci_high)


def test_logrank_and_cox_match_r_on_aml():
    time, event, group = aml_data()
    # survdiff(Surv(time, status) ~ x, data = aml)
    #                  N Observed Expected (O-E)^2/E (O-E)^2/V
    # x=Nonmaintained 12       11     7.31      1.86       3.4
    #  Chisq= 3.4  on 1 degrees of freedom, p= 0.07
    result = logrank(time, event, group)
    assert result.observed == 11
    assert result.expected == pytest.approx(7.31, abs=5e-3)
    assert result.statistic == pytest.approx(3.4, abs=5e-2)
    assert result.pvalue == pytest.approx(0.07, abs=5e-3)
    # coxph(Surv(time, status) ~ x, data = aml)   (Efron ties)
    #                  coef exp(coef) se(coef)     z      p
    # xNonmaintained 0.9155    2.4981   0.5119 1.788 0.0737
    fit = cox_ph(time, event, group)
    assert fit.log_hr == pytest.approx(0.9155, abs=5e-5)
    assert fit.hazard_ratio == pytest.approx(2.4981, abs=5e-5)
    assert fit.se == pytest.approx(0.5119, abs=5e-5)
    assert fit.pvalue == pytest.approx(0.0737, abs=5e-5)


def test_statsmodels_reports_the_drop_to_zero_where_r_reports_na():
    # Non-maintained arm of aml: the accepted set ends at 43 and S drops to 0 at 45,
    # where R's band is undefined (NA). statsmodels' grid inversion reports 45.
    with quiet_reference():
        sf = SurvfuncRight(*map(np.asarray, AML_NONMAINTAINED))
        _, upper = sf.quantile_ci(0.5, method="log")
    assert upper == 45.0
    assert math.isnan(kaplan_meier(*AML_NONMAINTAINED).median_ci_high)


# --------------------------------------------------------------------------------------
# Double programming: the slow reference in tests/survival_reference.py
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ci_transform", ["log", "log-log"])
def test_kaplan_meier_matches_reference(ci_transform):
    at = [0.0, 3.0, 10.0, 100.0]
    kinds = ("continuous", "ties", "all_censored", "no_treatment_events")
    for time, event, _ in seeded_trials(11, 60, kinds, sizes=(1, 40)):
        km = kaplan_meier(time, event, at=at, ci_transform=ci_transform)
        expected = kaplan_meier_reference(time, event, ci_transform=ci_transform, at=at)
        for name in ("median", "median_ci_low", "median_ci_high"):
            assert_close(getattr(km, name), expected[name], rtol=0, what=name)
        assert_close(km.survival_at, expected["survival_at"], rtol=1e-12)
        for tau in (1.0, 7.5, 40.0):
            assert_close(km.rmst(tau), rmst_reference(time, event, tau), rtol=1e-12)


def test_median_at_exact_half_is_the_first_time_despite_rounding():
    # 10 patients, 5 deaths: S = 9/10 * 8/9 * ... = 1/2 exactly, which the cumulative
    # product computes as 0.5000000000000001 in floating point.
    time = np.arange(1.0, 11.0)
    km = kaplan_meier(time, np.ones(10))
    assert km.median == 5.0
    assert kaplan_meier_reference(time, np.ones(10))["median"] == 5.0


@pytest.mark.parametrize("weights", [None, (1.0, 0.0), (0.0, 1.0), (0.5, 2.0)])
def test_logrank_matches_reference(weights):
    rng = np.random.default_rng(12)
    for time, event, group in seeded_trials(12, 40, sizes=(1, 50)):
        for strata in (None, rng.integers(0, 3, size=time.size)):
            result = logrank(time, event, group, strata=strata, weights=weights)
            expected = logrank_reference(time, event, group, strata, weights or (0.0, 0.0))
            for name, value in expected.items():
                # O - E can be 0 exactly; the statistic is then ~1e-31 from rounding.
                assert_close(getattr(result, name), value, rtol=1e-10, atol=1e-12, what=name)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_matches_reference(ties):
    kinds = ("continuous", "ties", "all_censored", "no_treatment_events", "continuous")
    for time, event, group in seeded_trials(13, 30, kinds, sizes=(1, 30)):
        fit = cox_ph(time, event, group, ties=ties)
        expected = cox_reference(time, event, group, ties)
        assert fit.estimable == expected["estimable"]
        assert fit.converged == expected["estimable"]
        for name in ("hazard_ratio", "log_hr", "se", "ci_low", "ci_high", "pvalue"):
            assert_close(getattr(fit, name), expected[name], rtol=1e-9, what=name)


# --------------------------------------------------------------------------------------
# lifelines
# --------------------------------------------------------------------------------------


def lifelines_cox(time, event, group):
    frame = pd.DataFrame({"time": time, "event": event, "group": group})
    fitter = CoxPHFitter()  # Efron ties, penalizer 0
    fitter.fit(frame, "time", "event", fit_options={"precision": 1e-24, "r_precision": 1e-30})
    row = fitter.summary.loc["group"]
    return [row[name] for name in ("exp(coef)", "se(coef)", "exp(coef) lower 95%")] + [
        row["exp(coef) upper 95%"],
        row["p"],
    ]


def lifelines_median(time, event):
    fitter = KaplanMeierFitter().fit(time, event)  # band: log-log ("exponential Greenwood")
    low, high = median_survival_times(fitter.confidence_interval_).to_numpy().ravel()
    # lifelines reports "not reached" as inf, we as NaN.
    return [
        np.nan if np.isinf(value) else value for value in (fitter.median_survival_time_, low, high)
    ]


def exact_half_plateau(time, event):
    """True where the KM curve equals 0.5 (within rounding) at some event time."""
    with quiet_reference():
        steps = SurvfuncRight(time, np.asarray(event, dtype=float)).surv_prob
    return bool(np.any(np.abs(steps - 0.5) < 1e-10))


LIFELINES_CASES = [
    ("continuous", 1, 200),
    ("ties", 2, 200),
    ("continuous", 3, 1000),  # n = 2,000
    ("ties", 4, 1000),
    ("continuous", 5, 2),
    ("continuous", 6, 1),
]


@pytest.mark.parametrize(("kind", "seed", "n_per_arm"), LIFELINES_CASES)
def test_against_lifelines_on_a_trial(kind, seed, n_per_arm):
    time, event, group = make_trial(np.random.default_rng(seed), n_per_arm, n_per_arm, kind)
    _check_against_lifelines(time, event, group)


def test_against_lifelines_on_many_small_trials():
    for time, event, group in seeded_trials(21, 20, sizes=(2, 40)):
        _check_against_lifelines(time, event, group)


def _check_against_lifelines(time, event, group):
    with quiet_reference():
        test = logrank_test(
            time[group == 0], time[group == 1], event[group == 0], event[group == 1]
        )
        weighted = logrank_test(
            time[group == 0],
            time[group == 1],
            event[group == 0],
            event[group == 1],
            weightings="fleming-harrington",
            p=0.5,
            q=1.5,
        )
        medians = [lifelines_median(time[group == arm], event[group == arm]) for arm in (0, 1)]
    for weights, expected in ((None, test), ((0.5, 1.5), weighted)):
        result = logrank(time, event, group, weights=weights)
        if result.variance == 0:  # lifelines: statistic 0, p = 1; we: undefined, NaN
            assert math.isnan(result.pvalue) and expected.p_value == pytest.approx(1.0)
            continue
        assert_close([result.statistic, result.pvalue], [expected.test_statistic, expected.p_value])

    for arm in (0, 1):
        km = kaplan_meier(time[group == arm], event[group == arm], ci_transform="log-log")
        if exact_half_plateau(time[group == arm], event[group == arm]):
            continue
        expected = medians[arm]
        # Where S drops to 0 the band is undefined (R: NA); lifelines' search for the
        # band's median stops on those NaN values and reports the time of the drop.
        drop_to_zero = km.time[km.survival == 0].min(initial=np.inf)
        for k, mine in enumerate((km.median_ci_low, km.median_ci_high), start=1):
            if math.isnan(mine) and expected[k] == drop_to_zero:
                expected[k] = np.nan
        mine = [km.median, km.median_ci_low, km.median_ci_high]
        assert_close(mine, expected, rtol=0, what=f"arm {arm} median and CI")

    fit = cox_ph(time, event, group)
    if fit.estimable:
        with quiet_reference():
            expected = lifelines_cox(time, event, group)
        mine = [fit.hazard_ratio, fit.se, fit.ci_low, fit.ci_high, fit.pvalue]
        assert_close(mine, expected, what="Cox vs lifelines")


def test_lifelines_logrank_without_events_reports_p_one_we_report_nan():
    time, event, group = make_trial(np.random.default_rng(7), 5, 5, "all_censored")
    with quiet_reference():
        test = logrank_test(
            time[group == 0], time[group == 1], event[group == 0], event[group == 1]
        )
    assert test.p_value == pytest.approx(1.0)
    result = logrank(time, event, group)
    assert math.isnan(result.statistic) and math.isnan(result.pvalue)
    assert result.variance == 0 and result.observed == 0


def test_lifelines_returns_a_large_log_hr_where_no_mle_exists():
    time, event, group = make_trial(np.random.default_rng(8), 20, 20, "no_treatment_events")
    with quiet_reference():
        expected = CoxPHFitter().fit(
            pd.DataFrame({"time": time, "event": event, "group": group}), "time", "event"
        )
    assert expected.params_["group"] < -5  # drifting towards -inf
    fit = cox_ph(time, event, group)
    assert not fit.estimable and not fit.converged
    assert math.isnan(fit.hazard_ratio) and math.isnan(fit.se) and math.isnan(fit.pvalue)


# --------------------------------------------------------------------------------------
# scipy
# --------------------------------------------------------------------------------------


def test_against_scipy_logrank():
    # scipy.stats.logrank(x, y) returns the signed z of sample x: our `z` with x = group 1.
    for time, event, group in seeded_trials(31, 30, sizes=(2, 80)):
        samples = [
            scipy.stats.CensoredData.right_censored(time[group == arm], ~event[group == arm])
            for arm in (1, 0)
        ]
        if not event.any():
            continue
        expected = scipy.stats.logrank(*samples)
        result = logrank(time, event, group)
        assert_close([result.z, result.pvalue], [expected.statistic, expected.pvalue])


# --------------------------------------------------------------------------------------
# statsmodels
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_against_statsmodels_phreg(ties):
    for time, event, group in seeded_trials(41, 40, sizes=(2, 100)):
        fit = cox_ph(time, event, group, ties=ties)
        if not fit.estimable:
            continue
        model = PHReg(time, group[:, None].astype(float), status=event.astype(float), ties=ties)
        with quiet_reference():
            expected = model.fit(tol=1e-12, maxiter=100)
        assert_close([fit.log_hr, fit.se], [expected.params[0], expected.bse[0]])


def grid_inversion_is_an_interval(time, event, method, conf_level=0.95):
    """True where statsmodels' test inversion and R's band inversion must agree.

    That is when the z-statistic r(t) of statsmodels is > z, then within [-z, z] on a
    non-empty run of event times, then < -z, and the time after the run has S > 0.
    """
    sf = SurvfuncRight(time, np.asarray(event, dtype=float))
    z = scipy.stats.norm.ppf(0.5 + conf_level / 2)
    surv, se = sf.surv_prob, sf.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):  # S = 0: r is NaN, as in statsmodels
        if method == "log":
            r = (np.log(surv) - np.log(0.5)) / (se / surv)
        else:
            r = -(np.log(-np.log(surv)) - np.log(-np.log(0.5))) / (se / (surv * -np.log(surv)))
    inside = np.abs(r) <= z
    if not inside.any():
        return False
    first, last = np.flatnonzero(inside)[[0, -1]]
    after = r[last + 1 :]
    return bool(
        inside[first : last + 1].all()
        and np.all(r[:first] > z)
        and np.all(after[np.isfinite(after)] < -z)
        and (last + 1 == len(surv) or surv[last + 1] > 0)
    )


@pytest.mark.parametrize(("ci_transform", "method"), [("log", "log"), ("log-log", "cloglog")])
def test_kaplan_meier_against_statsmodels(ci_transform, method):
    compared = total = 0
    kinds = ("continuous", "ties", "all_censored")
    for time, event, _ in seeded_trials(51, 90, kinds, sizes=(2, 150)):
        km = kaplan_meier(time, event, ci_transform=ci_transform)
        with quiet_reference():
            sf = SurvfuncRight(time, event.astype(float))
            median = sf.quantile(0.5)
            low, high = sf.quantile_ci(0.5, method=method)
            plateau = exact_half_plateau(time, event)
            interval = grid_inversion_is_an_interval(time, event, method)
        if plateau:
            # statsmodels uses S < 0.5 (SAS): the next event time after the plateau.
            assert median > km.median
        else:
            assert_close(km.median, median, rtol=0)
        total += bool(event.any())
        if interval:
            compared += 1
            high = np.nan if np.isinf(high) else high  # "not reached": inf there, NaN here
            assert_close([km.median_ci_low, km.median_ci_high], [low, high], rtol=0)
    assert compared >= 0.7 * total


# --------------------------------------------------------------------------------------
# Degenerate data: no exception, no warning, NaN where undefined
# --------------------------------------------------------------------------------------


def test_degenerate_replicates_give_nan_without_warnings():
    rng = np.random.default_rng(61)
    rows = [
        (np.arange(1.0, 9.0), np.ones(8, dtype=bool), np.arange(8) % 2),  # interleaved
        make_trial(rng, 4, 4, "all_censored"),
        make_trial(rng, 4, 4, "no_treatment_events"),
        (np.arange(1.0, 9.0), np.ones(8, dtype=bool), np.zeros(8, dtype=int)),  # one group
        (np.arange(1.0, 9.0), np.ones(8, dtype=bool), np.r_[[0] * 4, [1] * 4]),  # separated
    ]
    time, event, group = (np.vstack(parts) for parts in zip(*rows, strict=True))
    fit = cox_ph(time, event, group)
    np.testing.assert_array_equal(fit.estimable, [True, False, False, False, False])
    assert np.isnan(fit.hazard_ratio[1:]).all() and np.isnan(fit.ci_high[1:]).all()
    test = logrank(time, event, group)
    assert np.isfinite(test.statistic[[0, 2, 4]]).all()
    assert np.isnan(test.statistic[[1, 3]]).all() and np.isnan(test.pvalue[[1, 3]]).all()
    km = kaplan_meier(time, event, mask=np.zeros_like(event) | (np.arange(5) != 1)[:, None])
    assert np.isnan(km.median[1]) and km.n_subjects[1] == 0
    assert np.isnan(km.rmst(5.0)[1])


def test_one_and_two_patients_per_arm():
    # One per arm, both die: the last death is alone in its risk set, so the likelihood
    # keeps rising as the HR of the first to die grows: no MLE.
    assert not cox_ph([1.0, 2.0], [1, 1], [0, 1]).estimable
    assert not cox_reference([1.0, 2.0], [1, 1], [0, 1])["estimable"]
    # Two per arm, interleaved deaths: the score changes sign.
    time, event, group = [1.0, 3.0, 2.0, 4.0], [1, 1, 1, 1], [0, 0, 1, 1]
    fit = cox_ph(time, event, group)
    assert fit.estimable and fit.converged
    assert_close(fit.hazard_ratio, cox_reference(time, event, group)["hazard_ratio"], rtol=1e-9)
    km = kaplan_meier([3.0], [1])
    assert km.median == 3.0 and math.isnan(km.median_ci_low) and math.isnan(km.median_ci_high)


# --------------------------------------------------------------------------------------
# 2-D, mask and the single-sort analysis
# --------------------------------------------------------------------------------------


def fields_of(result, names):
    return {name: np.asarray(getattr(result, name), dtype=float) for name in names}


KM_FIELDS = ("median", "median_ci_low", "median_ci_high", "n_subjects", "n_events")
LOGRANK_FIELDS = ("statistic", "pvalue", "observed", "expected", "variance")
COX_FIELDS = ("hazard_ratio", "log_hr", "se", "ci_low", "ci_high", "pvalue", "estimable")


def test_analyse_two_arms_equals_separate_calls():
    rng = np.random.default_rng(71)
    shape = (25, 60)
    time = rng.exponential(8.0, size=shape).round(0)
    event = rng.random(shape) < 0.7
    group = rng.random(shape) < 0.5
    mask = rng.random(shape) < 0.9
    analysis = analyse_two_arms(time, event, group, mask=mask)
    for arm, km in ((0, analysis.km_control), (1, analysis.km_treatment)):
        alone = kaplan_meier(time, event, mask=mask & (group == arm))
        for name, value in fields_of(alone, KM_FIELDS).items():
            assert_close(getattr(km, name), value, rtol=0, what=name)
        assert_close(km.rmst(6.0), alone.rmst(6.0), rtol=1e-12)
    for name, value in fields_of(logrank(time, event, group, mask=mask), LOGRANK_FIELDS).items():
        assert_close(getattr(analysis.logrank, name), value, rtol=0, what=name)
    for name, value in fields_of(cox_ph(time, event, group, mask=mask), COX_FIELDS).items():
        assert_close(getattr(analysis.cox, name), value, rtol=0, what=name)
    frame = analysis.to_frame()
    assert len(frame) == shape[0]
    assert {"control_median", "treatment_median", "logrank_pvalue", "cox_hazard_ratio"} <= set(
        frame.columns
    )


def test_to_frame_one_row_per_replicate():
    rng = np.random.default_rng(72)
    time = rng.exponential(5.0, size=(4, 30))
    event = rng.random((4, 30)) < 0.8
    group = np.tile(np.arange(30) % 2, (4, 1))
    km_frame = kaplan_meier(time, event, at=[1.0, 2.5]).to_frame()
    assert list(km_frame.columns) == [
        "replicate",
        "n_subjects",
        "n_events",
        "median",
        "median_ci_low",
        "median_ci_high",
        "survival_at_1",
        "survival_at_2.5",
    ]
    assert len(km_frame) == 4
    assert len(logrank(time, event, group).to_frame()) == 4
    assert cox_ph(time, event, group).to_frame()["estimable"].dtype == bool
    single = cox_ph(time[0], event[0], group[0]).to_frame()
    assert len(single) == 1 and single["replicate"].tolist() == [0]


def test_one_dataset_gives_python_scalars():
    time, event, group = aml_data()
    assert type(kaplan_meier(time, event).median) is float
    assert type(kaplan_meier(time, event).n_events) is int
    assert type(logrank(time, event, group).pvalue) is float
    fit = cox_ph(time, event, group)
    assert type(fit.hazard_ratio) is float and type(fit.estimable) is bool


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@st.composite
def two_arm_data(draw, min_size=2, max_size=30):
    """Integer-valued times (so ties are frequent and rescaling keeps the order)."""
    size = draw(st.integers(min_size, max_size))
    time = np.array(draw(st.lists(st.integers(0, 40), min_size=size, max_size=size)), float)
    event = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    group = np.array(draw(st.lists(st.integers(0, 1), min_size=size, max_size=size)))
    assume(0 < group.sum() < size)
    return time, event, group


def all_results(time, event, group, **kwargs):
    return {
        "km": fields_of(kaplan_meier(time, event, **kwargs), KM_FIELDS),
        "logrank": fields_of(logrank(time, event, group, **kwargs), LOGRANK_FIELDS),
        "cox": fields_of(cox_ph(time, event, group, **kwargs), COX_FIELDS),
    }


def assert_same_results(actual, expected, rtol=1e-12):
    for part, fields in expected.items():
        for name, value in fields.items():
            assert_close(actual[part][name], value, rtol=rtol, atol=1e-12, what=f"{part}.{name}")


@given(two_arm_data(), st.floats(0.01, 100.0))
def test_rescaling_time_changes_neither_p_nor_hr(data, scale):
    time, event, group = data
    before, after = logrank(time, event, group), logrank(time * scale, event, group)
    assert_close(after.pvalue, before.pvalue, rtol=1e-12)
    fit_before, fit_after = cox_ph(time, event, group), cox_ph(time * scale, event, group)
    assert fit_after.estimable == fit_before.estimable
    assert_close(fit_after.hazard_ratio, fit_before.hazard_ratio, rtol=1e-9)
    assert_close(fit_after.pvalue, fit_before.pvalue, rtol=1e-9, atol=1e-14)
    km_before, km_after = kaplan_meier(time, event), kaplan_meier(time * scale, event)
    assert_close(km_after.median, km_before.median * scale, rtol=1e-14)


@given(two_arm_data())
def test_swapping_arms_inverts_hr_and_keeps_p(data):
    time, event, group = data
    fit, swapped = cox_ph(time, event, group), cox_ph(time, event, 1 - group)
    assert swapped.estimable == fit.estimable
    assert_close(swapped.hazard_ratio, 1 / fit.hazard_ratio, rtol=1e-9)
    assert_close(swapped.pvalue, fit.pvalue, rtol=1e-9, atol=1e-14)
    test, swapped_test = logrank(time, event, group), logrank(time, event, 1 - group)
    assert_close(swapped_test.pvalue, test.pvalue, rtol=1e-10)
    assert_close(
        swapped_test.observed - swapped_test.expected,
        test.expected - test.observed,
        rtol=1e-10,
        atol=1e-12,
    )


@given(two_arm_data(), st.randoms(use_true_random=False))
def test_permuting_patients_changes_nothing(data, random):
    time, event, group = data
    order = np.array(random.sample(range(time.size), time.size))
    assert_same_results(
        all_results(time[order], event[order], group[order]), all_results(time, event, group)
    )


@given(st.lists(two_arm_data(min_size=12, max_size=12), min_size=1, max_size=5))
def test_each_row_of_2d_input_equals_the_1d_result(datasets):
    time, event, group = (np.vstack(parts) for parts in zip(*datasets, strict=True))
    stacked = all_results(time, event, group)
    for row, (row_time, row_event, row_group) in enumerate(datasets):
        single = all_results(row_time, row_event, row_group)
        row_values = {
            part: {name: values[row] for name, values in fields.items()}
            for part, fields in stacked.items()
        }
        assert_same_results(row_values, single, rtol=0)


@given(two_arm_data(min_size=4, max_size=30), st.randoms(use_true_random=False))
def test_mask_equals_dropping_the_entries(data, random):
    time, event, group = data
    keep = np.array([random.random() < 0.7 for _ in time])
    assume(0 < group[keep].sum() < keep.sum())
    # Whatever sits in masked-out entries is ignored: NaN time, event 7, group -1.
    garbage_time = np.where(keep, time, np.nan)
    garbage_event = np.where(keep, event, 7)
    garbage_group = np.where(keep, group, -1)
    masked = all_results(
        garbage_time[None], garbage_event[None], garbage_group[None], mask=keep[None]
    )
    dropped = all_results(time[keep], event[keep], group[keep])
    assert_same_results(
        {
            part: {name: value[0] for name, value in fields.items()}
            for part, fields in masked.items()
        },
        dropped,
    )


# --------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------

T3, E3, G3 = [1.0, 2.0, 3.0], [1, 0, 1], [0, 1, 1]

BAD_INPUTS = [
    (
        kaplan_meier,
        ([1.0, -1.0, 2.0], [1, 1, 1]),
        {},
        "`time` must be non-negative and finite; got -1.0 at index 1",
    ),
    (
        kaplan_meier,
        ([1.0, np.nan], [1, 1]),
        {},
        "`time` must be non-negative and finite; got nan at index 1",
    ),
    (logrank, ([[1.0, np.inf]], [[1, 1]], [[0, 1]]), {}, r"`time` .* got inf at index \(0, 1\)"),
    (kaplan_meier, ([[[1.0]]], [[[1]]]), {}, r"`time` must be 1-D .* got shape \(1, 1, 1\)"),
    (kaplan_meier, ([], []), {}, "`time` must hold at least one patient"),
    (kaplan_meier, (["a", "b"], [1, 1]), {}, "`time` must be an array of numbers"),
    (
        kaplan_meier,
        (T3, [1, 0]),
        {},
        r"`event` must have the same shape as `time`, \(3,\); got shape \(2,\)",
    ),
    (kaplan_meier, (T3, [1, 2, 0]), {}, "`event` must be boolean or 0/1; got 2 at index 1"),
    (kaplan_meier, (T3, ["y", "n", "y"]), {}, "`event` must be boolean or 0/1; got dtype"),
    (logrank, (T3, E3, [0, 1, 2]), {}, "`group` must be boolean or 0/1; got 2 at index 2"),
    (
        logrank,
        (T3, E3, [1, 1, 1]),
        {},
        "`group` must contain both 0 and 1 among present patients; got all 1",
    ),
    (cox_ph, (T3, E3, [0, 0, 0]), {}, "`group` must contain both 0 and 1 .* got all 0"),
    (cox_ph, (T3, E3, G3), {"mask": [True, False, False]}, "`group` must contain both 0 and 1"),
    (cox_ph, (T3, E3, [0, 1]), {}, "`group` must have the same shape as `time`"),
    (kaplan_meier, (T3, E3), {"mask": [1, 0]}, "`mask` must have the same shape"),
    (
        kaplan_meier,
        (T3, E3),
        {"mask": [1, 0, np.nan]},
        "`mask` must be boolean or 0/1; got nan at index 2",
    ),
    (kaplan_meier, (T3, E3), {"conf_level": 1.5}, r"`conf_level` must be in \(0, 1\); got 1.5"),
    (cox_ph, (T3, E3, G3), {"conf_level": 0}, r"`conf_level` must be in \(0, 1\); got 0"),
    (
        kaplan_meier,
        (T3, E3),
        {"ci_transform": "plain"},
        "`ci_transform` must be 'log' or 'log-log'; got 'plain'",
    ),
    (
        kaplan_meier,
        (T3, E3),
        {"at": [1.0, -2.0]},
        "`at` must be non-negative and finite; got -2.0 at index 1",
    ),
    (cox_ph, (T3, E3, G3), {"ties": "exact"}, "`ties` must be 'efron' or 'breslow'; got 'exact'"),
    (cox_ph, (T3, E3, G3), {"max_iter": 0}, "`max_iter` must be a positive integer; got 0"),
    (cox_ph, (T3, E3, G3), {"tol": -1.0}, "`tol` must be positive and finite; got -1.0"),
    (logrank, (T3, E3, G3), {"weights": (1.0, -1.0)}, r"`weights` must be a pair \(rho, gamma\)"),
    (logrank, (T3, E3, G3), {"weights": 1.0}, r"`weights` must be a pair \(rho, gamma\)"),
    (
        logrank,
        (T3, E3, G3),
        {"strata": [0, 0.5, 1]},
        "`strata` must be integer labels; got 0.5 at index 1",
    ),
    (logrank, (T3, E3, G3), {"strata": [0, 1]}, "`strata` must have the same shape"),
    (analyse_two_arms, (T3, E3, G3), {"ties": "Efron"}, "`ties` must be 'efron' or 'breslow'"),
]


@pytest.mark.parametrize(("function", "args", "kwargs", "message"), BAD_INPUTS)
def test_bad_input_raises_value_error(function, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        function(*args, **kwargs)


def test_bad_rmst_tau():
    km = kaplan_meier(T3, E3)
    with pytest.raises(ValueError, match=re.escape("`tau` must be positive and finite; got 0")):
        km.rmst(0)


def test_masked_entries_may_hold_anything():
    time = np.array([[1.0, np.nan, 3.0, -5.0]])
    event = np.array([[1.0, np.nan, 1.0, 3.0]])
    group = np.array([[0.0, np.nan, 1.0, 9.0]])
    mask = np.array([[True, False, True, False]])
    result = logrank(time, event, group, mask=mask)
    assert result.observed[0] == 1.0


def test_row_blocks_give_the_same_results(monkeypatch):
    # Large inputs are analysed in blocks of rows (cache); force many small blocks.
    rng = np.random.default_rng(73)
    shape = (23, 40)
    time = rng.exponential(6.0, size=shape).round(1)
    event = rng.random(shape) < 0.75
    group = rng.random(shape) < 0.5
    mask = rng.random(shape) < 0.85
    strata = time > 3  # a boolean stratum label

    def analyses():
        return (
            analyse_two_arms(time, event, group, mask=mask),
            kaplan_meier(time, event, mask=mask, at=[2.0, 5.0]),
            logrank(time, event, group, mask=mask, strata=strata, weights=(1.0, 1.0)),
        )

    whole = analyses()
    monkeypatch.setattr(survival, "_BLOCK_ENTRIES", 3 * shape[1])
    blocked = analyses()
    for one, other in zip(whole, blocked, strict=True):
        pd.testing.assert_frame_equal(other.to_frame(), one.to_frame())
    np.testing.assert_array_equal(blocked[1].time, whole[1].time)
    np.testing.assert_array_equal(blocked[1].survival, whole[1].survival)
    assert_close(blocked[1].rmst(4.0), whole[1].rmst(4.0), rtol=0)


def test_curve_steps_are_the_distinct_event_times():
    time = [1.0, 2.0, 2.0, 3.0, 5.0, 8.0]
    event = [1, 1, 1, 0, 1, 0]
    km = kaplan_meier(time, event)
    np.testing.assert_array_equal(km.time, [1.0, 2.0, 5.0])
    assert_close(km.survival, [5 / 6, 5 / 6 * 3 / 5, 5 / 6 * 3 / 5 * 1 / 2], rtol=1e-15)
    two = kaplan_meier(np.array([time, time]), np.array([event, [0] * 6]))
    assert two.time.shape == (2, 3) and np.isnan(two.time[1]).all()
