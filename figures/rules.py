"""The bureau's rules in one object: status margins, the official coverage rule, the small-count threshold.

Read from configuration (``store.config``); every figure that applies a rule takes it from here, so a
margin or a coverage rule is never typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store import stations
from store.config import settings


@dataclass(frozen=True)
class CoverageRule:
    """The official 15-minute service circle: within ``minutes`` on foot at ``speed_kmh`` along a path
    ``circuity`` times the straight line; rural cells within ``rural_distance_m`` in a straight line; from the
    stations of ``station_types`` (codes of store/stations.py; the bureau's setting, default all but partner)."""

    minutes: float = 15.0
    speed_kmh: float = 4.0
    circuity: float = 1.3
    rural_distance_m: float | None = 5000.0
    station_types: tuple[str, ...] = stations.COUNTED

    @property
    def partners_counted(self) -> bool:
        """Whether partner points count toward coverage under this rule."""
        return "partner" in self.station_types

    def kwargs(self) -> dict[str, float | None]:
        """Keyword arguments of :func:`service_circle.coverage`."""
        return {
            "minutes": self.minutes,
            "speed_kmh": self.speed_kmh,
            "circuity": self.circuity,
            "rural_distance_m": self.rural_distance_m,
        }


@dataclass(frozen=True)
class Rules:
    """Status margins (points), the coverage rule and the suppression threshold (persons)."""

    yellow_margin_pp: float = 5.0
    control_cushion_pp: float = 0.2
    coverage: CoverageRule = field(default_factory=CoverageRule)
    min_cell: int = 10
    card_green_score: float = 80.0  # district card (figures.targets.district_cards): green from this score up
    card_yellow_score: float = 60.0  # yellow from this score up, red below


def rules() -> Rules:
    """The configured rules (environment and ``.streamlit/secrets.toml``; cheap, call freely)."""
    cfg = settings()
    return Rules(
        yellow_margin_pp=cfg.yellow_margin_pp,
        control_cushion_pp=cfg.control_cushion_pp,
        min_cell=cfg.min_cell_persons,
        coverage=CoverageRule(station_types=cfg.coverage_station_types),
        card_green_score=cfg.card_green_score,
        card_yellow_score=cfg.card_yellow_score,
    )
