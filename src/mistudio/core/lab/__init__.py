"""The SAE lab's science: evaluations of any SAE with bootstrap intervals (core metrics, feature
absorption, sparse probing, label summaries). Nothing here knows of the service."""

from mistudio.core.lab.bootstrap import Interval, bootstrap_weights, interval
from mistudio.core.lab.evals_run import (
    EVAL_VERSION,
    METRIC_GROUPS,
    EvalConfig,
    EvalReport,
    run_evals,
)

__all__ = [
    "EVAL_VERSION",
    "METRIC_GROUPS",
    "EvalConfig",
    "EvalReport",
    "Interval",
    "bootstrap_weights",
    "interval",
    "run_evals",
]
