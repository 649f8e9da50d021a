"""Monthly unemployment forecasts with honest intervals (no UI, no database).

Public API: ``forecast``, ``backtest``, ``accuracy_summary``, ``describe_accuracy``, ``prob_above``,
``reconcile``, ``choose_reconciliation``, ``forecast_many``, ``reuse_fits``. See docs/forecasting.md.
"""

from ._prep import Event
from .core import VERSION, forecast, reuse_fits
from .evaluate import accuracy_summary, backtest, describe_accuracy, format_number, horizon_band
from .hierarchy import choose_reconciliation, forecast_many
from .probability import prob_above
from .reconcile import reconcile, residuals_from_forecasts, shrink_covariance

__all__ = [
    "VERSION",
    "Event",
    "accuracy_summary",
    "backtest",
    "choose_reconciliation",
    "describe_accuracy",
    "forecast",
    "forecast_many",
    "format_number",
    "horizon_band",
    "prob_above",
    "reconcile",
    "residuals_from_forecasts",
    "reuse_fits",
    "shrink_covariance",
]
