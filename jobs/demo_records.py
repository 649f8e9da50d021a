"""Synthetic person-level business records for the demo city, month by month.

Everything is drawn at street level from expected monthly counts (seasonality, the 2020 shock and recovery, a
district performance effect per year) so that districts sum to the city by construction. Unemployment spells
end in re-employment events for the same pseudonymous person, so the records hang together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Share of a year's new employment falling in each month: Spring Festival dip, spring hiring, graduates in July.
NEW_EMPLOYMENT_SEASON = np.array(
    [0.055, 0.050, 0.095, 0.095, 0.085, 0.085, 0.110, 0.090, 0.085, 0.075, 0.080, 0.095]
)
UNEMPLOYMENT_SEASON = np.array([1.15, 1.25, 1.05, 0.95, 0.90, 0.95, 1.10, 1.05, 0.95, 0.90, 0.85, 0.90])
GRADUATE_SEASON = np.array([0.3, 0.3, 0.6, 0.7, 0.8, 1.4, 3.2, 2.2, 1.0, 0.6, 0.5, 0.4])
# Wuhan's 2020: lockdown from 23 January to 8 April, then a long recovery.
SHOCK_2020_HIRING = np.array([0.70, 0.05, 0.15, 0.45, 0.70, 0.85, 0.92, 0.95, 0.97, 0.98, 1.0, 1.0])
SHOCK_2020_LAYOFFS = np.array([1.1, 1.3, 2.2, 2.4, 1.9, 1.5, 1.3, 1.2, 1.1, 1.0, 1.0, 1.0])

MEAN_SPELL_MONTHS = 9.0
LABOUR_FORCE_SHARE = 0.36  # urban labour force (the registered-rate denominator) per resident


@dataclass
class Months:
    """The months generated: from ``start`` (inclusive) through the data cut-off month."""

    periods: pd.PeriodIndex
    years: np.ndarray = field(init=False)
    months: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.years = self.periods.year.to_numpy()
        self.months = self.periods.month.to_numpy()

    def hiring_factor(self) -> np.ndarray:
        """Seasonal share × 12 × the 2020 shock × a slow growth trend, per month."""
        f = NEW_EMPLOYMENT_SEASON[self.months - 1] * 12
        f = np.where(self.years == 2020, f * SHOCK_2020_HIRING[self.months - 1], f)
        return f * (1.0 + 0.015 * (self.years - 2019))

    def layoff_factor(self) -> np.ndarray:
        f = UNEMPLOYMENT_SEASON[self.months - 1]
        f = np.where(self.years == 2020, f * SHOCK_2020_LAYOFFS[self.months - 1], f)
        return np.where(self.years == 2021, f * 1.1, f)


def random_days(rng: np.random.Generator, periods: pd.PeriodIndex, index: np.ndarray) -> np.ndarray:
    """A uniform random day within each selected month, as numpy datetime64[D]."""
    starts = periods.start_time.to_numpy().astype("datetime64[D]")[index]
    lengths = periods.days_in_month.to_numpy()[index]
    return starts + (rng.random(index.size) * lengths).astype("int64").astype("timedelta64[D]")


def iso(days: np.ndarray) -> np.ndarray:
    """datetime64[D] values as ISO strings (NaT → None), the form both databases accept in bulk loads.

    Each distinct day is formatted once and looked up by its offset (millions of records span a few thousand
    days; formatting every value was the slowest step of the demo build).
    """
    days = np.asarray(days).astype("datetime64[D]")
    out = np.full(days.shape, None, dtype=object)
    ok = ~np.isnat(days)
    if ok.any():
        numbers = days[ok].astype("int64")
        first = int(numbers.min())
        table = np.datetime_as_string(
            np.arange(first, int(numbers.max()) + 1).astype("datetime64[D]"), unit="D"
        ).astype(object)
        out[ok] = table[numbers - first]
    return out


def expand(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts for an (area × month) matrix of expected counts → (area index, month index) per record."""
    counts = rng.poisson(np.clip(expected, 0, None))
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    return np.divmod(flat, counts.shape[1])


@dataclass
class StreetFrame:
    """Streets with what the records are drawn from."""

    codes: np.ndarray
    district: np.ndarray
    population: np.ndarray
    central: np.ndarray


def unemployment_spells(
    rng: np.random.Generator, st: StreetFrame, months: Months, cut_off: np.datetime64, scale: float
) -> pd.DataFrame:
    """Registration spells; a burn-in year before the first month builds the opening stock."""
    lf = st.population * LABOUR_FORCE_SHARE * scale
    rate = np.where(st.central, 0.0030, 0.0033)  # monthly inflow per labour-force member
    expected = (lf * rate)[:, None] * months.layoff_factor()[None, :]
    s_idx, m_idx = expand(rng, expected)
    start = random_days(rng, months.periods, m_idx)
    in_2020 = months.years[m_idx] == 2020
    mean_days = MEAN_SPELL_MONTHS * 30.4 * np.where(in_2020, 1.35, 1.0)
    dur = rng.gamma(1.6, mean_days / 1.6).astype("int64")
    ended = start + dur.astype("timedelta64[D]")
    ended = np.where(ended > cut_off, np.datetime64("NaT"), ended)
    return pd.DataFrame(
        {
            "street": s_idx,
            "registered_on": start,
            "ended_on": ended,
            "difficulty": rng.random(s_idx.size) < 0.15,
        }
    )


def hiring_records(
    rng: np.random.Generator, st: StreetFrame, months: Months, district_effect: pd.DataFrame, scale: float
) -> pd.DataFrame:
    """New urban employment other than re-employment: graduates, rural labour moving in, other new entrants."""
    pieces = []
    eff = district_effect.reindex(st.district).to_numpy()  # streets × years
    year_col = months.years - months.years.min()
    perf = eff[:, year_col]
    base_other = st.population * np.where(st.central, 0.0095, 0.0075) / 12 * scale
    base_grad = st.population * np.where(st.central, 0.0060, 0.0028) / 12 * scale
    base_rural = st.population * np.where(st.central, 0.0006, 0.0020) / 12 * scale
    hf = months.hiring_factor()
    grad_f = GRADUATE_SEASON[months.months - 1] * np.where(
        months.years == 2020, SHOCK_2020_HIRING[months.months - 1], 1
    )
    for group, base, factor in (
        ("other", base_other, hf),
        ("graduate", base_grad, grad_f),
        ("rural_labour", base_rural, hf),
    ):
        s_idx, m_idx = expand(rng, base[:, None] * factor[None, :] * perf)
        pieces.append(
            pd.DataFrame({"street": s_idx, "month_index": m_idx, "group_code": group, "kind": "urban_new"})
        )
    rural_transfer = st.population * np.where(st.central, 0.0008, 0.0120) / 12 * scale
    s_idx, m_idx = expand(rng, rural_transfer[:, None] * hf[None, :] * perf)
    pieces.append(
        pd.DataFrame(
            {"street": s_idx, "month_index": m_idx, "group_code": "rural_labour", "kind": "rural_transfer"}
        )
    )
    return pd.concat(pieces, ignore_index=True)


def monthly_draws(
    rng: np.random.Generator, st: StreetFrame, months: Months, per_person_year: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(street index, month index) of records drawn at ``per_person_year`` × population, shaped by ``factor``."""
    return expand(rng, (st.population * per_person_year / 12)[:, None] * factor[None, :])


def pick_same_street(
    rng: np.random.Generator, pool_street: np.ndarray, pool_ids: np.ndarray, streets: np.ndarray
) -> np.ndarray:
    """For each of ``streets`` (street indices), a random id from the pool living in the same street (-1 if none)."""
    order = np.argsort(pool_street, kind="stable")
    sorted_streets, sorted_ids = pool_street[order], pool_ids[order]
    first = np.searchsorted(sorted_streets, streets, side="left")
    count = np.searchsorted(sorted_streets, streets, side="right") - first
    pick = first + (rng.random(streets.size) * np.maximum(count, 1)).astype(np.int64)
    return np.where(count > 0, sorted_ids[np.minimum(pick, len(sorted_ids) - 1)], -1)
