"""simtrial: Monte-Carlo simulation of oncology cohorts and trials at lesion level.

Importing simtrial starts nothing and patches nothing; sub-modules with heavy optional
dependencies (plots, dask) are imported only when used.
"""

from simtrial._version import __version__
from simtrial.design import power_curve, sample_size, sweep
from simtrial.engine import RunResult, run
from simtrial.patients import PatientSimulation, simulate_patients
from simtrial.recist import (
    RECIST_1_0,
    RECIST_1_1,
    Criteria,
    PatientAssessment,
    Response,
    VisitAssessment,
    assess_patient,
    assess_visits,
    select_targets,
)
from simtrial.scenario import Scenario, ScenarioError, load_scenario
from simtrial.survival import (
    CoxPHResult,
    KaplanMeierResult,
    LogRankResult,
    TwoArmAnalysis,
    analyse_two_arms,
    cox_ph,
    kaplan_meier,
    logrank,
)
from simtrial.trial import TrialSimulation, simulate_trial

__all__ = [
    "RECIST_1_0",
    "RECIST_1_1",
    "Criteria",
    "PatientAssessment",
    "Response",
    "VisitAssessment",
    "assess_patient",
    "assess_visits",
    "select_targets",
    "CoxPHResult",
    "KaplanMeierResult",
    "LogRankResult",
    "TwoArmAnalysis",
    "analyse_two_arms",
    "cox_ph",
    "kaplan_meier",
    "logrank",
    "PatientSimulation",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "simulate_patients",
    "RunResult",
    "TrialSimulation",
    "run",
    "simulate_trial",
    "power_curve",
    "sample_size",
    "sweep",
    "__version__",
]
