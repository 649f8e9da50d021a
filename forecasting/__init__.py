"""Monthly unemployment forecasts with honest intervals (no UI, no database)."""

from .core import VERSION, forecast

__all__ = ["VERSION", "forecast"]
