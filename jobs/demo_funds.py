"""Demo money, loans, households, surveys, annual targets and what districts reported."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from jobs import demo_records as rec
from jobs import geo

SUBSIDY_PER_RESIDENT_YEAR = {  # yuan per resident per year, by category
    "public_welfare_job": 24.0,
    "social_insurance": 30.0,
    "job_introduction": 5.0,
    "startup": 8.0,
    "loan_interest": 9.0,
}
FLOW_TARGETS = (
    "urban_new_employment",
    "reemployment",
    "difficulty_employment",
    "graduate_employment",
    "rural_labour_transfer",
    "skills_training",
    "startup_loans_issued",
)
CONTROL_LINE_PCT = {"central": 3.5, "outer": 3.8, "city": 3.5}


class Totals:
    """What the city-level tables need from the person-level records, summed chunk by chunk."""

    def __init__(self) -> None:
        self._actual: list[pd.DataFrame] = []
        self._training: list[pd.DataFrame] = []
        self._issued: list[pd.Series] = []

    def add(self, records: dict[str, pd.DataFrame]) -> None:
        loans, training = records["startup_loan"], records["training_record"]
        self._actual.append(monthly_actuals(records, loans))
        self._training.append(
            training.assign(district_code=training["street_code"].str[:6])
            .groupby(["district_code", "completed_on"], as_index=False)["subsidy_yuan"]
            .sum()
        )
        self._issued.append(
            loans.groupby([loans["district_code"], loans["issued_on"].str[:4].astype(int).rename("year")])[
                "amount_yuan"
            ].sum()
        )

    def actual(self) -> pd.DataFrame:
        """Street × year × month × indicator counts (chunks hold disjoint streets, so pieces just stack)."""
        return pd.concat(self._actual, ignore_index=True)

    def training_spend(self) -> pd.DataFrame:
        """Training subsidies paid per district and completion day: district_code, paid_on, amount_yuan."""
        frame = pd.concat(self._training, ignore_index=True)
        frame = frame.groupby(["district_code", "completed_on"], as_index=False)["subsidy_yuan"].sum()
        return frame.rename(columns={"completed_on": "paid_on", "subsidy_yuan": "amount_yuan"})

    def loans_issued(self) -> pd.Series:
        """Start-up loan amounts issued per (district_code, year), in yuan."""
        return pd.concat(self._issued).groupby(level=[0, 1]).sum()


def city_funds(
    rng: np.random.Generator,
    st: rec.StreetFrame,
    months: rec.Months,
    totals: Totals,
    area_year: pd.DataFrame,
    factor: float,
) -> dict[str, pd.DataFrame]:
    """Subsidy payments, fund allocations, guarantee funds, zero-employment households, surveys."""
    subsidies = subsidy_payments(rng, st, months, totals.training_spend(), factor)
    return {
        "subsidy_payment": subsidies,
        **allocations(rng, subsidies, totals.loans_issued(), area_year),
        "zero_employment_household": zero_employment(rng, st, months, factor),
        "survey_response": surveys(rng, st, months, factor),
    }


def startup_loans(
    rng: np.random.Generator, st: rec.StreetFrame, months: rec.Months, events: pd.DataFrame, factor: float
) -> pd.DataFrame:
    s_idx, m_idx = rec.monthly_draws(
        rng, st, months, np.full(len(st.codes), 0.00035 * factor), months.hiring_factor()
    )
    issued = rec.random_days(rng, months.periods, m_idx)
    amount = np.clip(np.round(rng.lognormal(np.log(150_000), 0.45, s_idx.size), -4), 20_000, 300_000)
    term_days = rng.choice([365 * 2, 365 * 3], s_idx.size)
    due = issued + term_days.astype("timedelta64[D]")
    cut_off = months.periods[-1].end_time.to_datetime64().astype("datetime64[D]")
    district = st.district[s_idx]
    bad = rng.random(s_idx.size) < np.where(np.isin(district, ["420113", "420117"]), 0.12, 0.04)
    early = issued + (term_days * rng.uniform(0.4, 1.0, s_idx.size)).astype("int64").astype("timedelta64[D]")
    repaid = np.where(bad, np.datetime64("NaT"), np.where(rng.random(s_idx.size) < 0.3, early, due))
    repaid = np.where(repaid > cut_off, np.datetime64("NaT"), repaid).astype("datetime64[D]")
    person = _pick_persons(rng, events, st.codes[s_idx])
    return pd.DataFrame(
        {
            "loan_id": np.arange(1, s_idx.size + 1),
            "person_id": person,
            "district_code": district,
            "street_code": st.codes[s_idx],
            "issued_on": rec.iso(issued),
            "amount_yuan": amount,
            "due_on": rec.iso(due),
            "repaid_on": rec.iso(repaid),
            "overdue": (bad & (due <= cut_off)).astype(int),
        }
    )


def _pick_persons(rng: np.random.Generator, events: pd.DataFrame, streets: np.ndarray) -> np.ndarray:
    """A random person with an employment record in the same street, for each of ``streets`` (0 if none)."""
    ordered = events.sort_values("street_code", kind="stable")
    codes = ordered["street_code"].to_numpy()
    first = np.searchsorted(codes, streets, side="left")
    count = np.searchsorted(codes, streets, side="right") - first
    pick = first + (rng.random(streets.size) * np.maximum(count, 1)).astype(np.int64)
    ids = ordered["person_id"].to_numpy()
    return np.where(count > 0, ids[np.minimum(pick, len(ids) - 1)], 0)


def subsidy_payments(
    rng: np.random.Generator, st: rec.StreetFrame, months: rec.Months, training: pd.DataFrame, factor: float
) -> pd.DataFrame:
    """Monthly batch payments per district and category (to employers and persons in bulk: no person id).

    ``training`` is the training subsidy already summed per district and day (district_code, paid_on,
    amount_yuan).
    """
    dpop = pd.Series(st.population, index=st.district).groupby(level=0).sum()
    rows = []
    relief = np.where(months.years == 2020, 1.5, 1.0)
    for code, pop in dpop.items():
        for cat, per_res in SUBSIDY_PER_RESIDENT_YEAR.items():
            base = pop * per_res * factor / 12 * rng.uniform(0.8, 1.2)
            amounts = base * relief * rng.gamma(8.0, 1 / 8.0, len(months.periods))
            for i, amount in enumerate(amounts):
                rows.append(
                    (code, months.periods[i].end_time.date().isoformat(), cat, round(float(amount), 2))
                )
    frame = pd.DataFrame(rows, columns=["district_code", "paid_on", "category", "amount_yuan"])
    frame = pd.concat([frame, training.assign(category="training")], ignore_index=True)
    frame["payment_id"] = np.arange(1, len(frame) + 1)
    frame["person_id"] = None
    return frame


def allocations(
    rng: np.random.Generator, subsidies: pd.DataFrame, issued: pd.Series, area_year: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Fund inputs by source (so that spending progress and balances vary) and the guarantee fund.

    ``issued``: start-up loan amounts per (district_code, year).
    """
    spend = (
        subsidies.assign(year=subsidies["paid_on"].str[:4].astype(int))
        .groupby(["district_code", "year"])["amount_yuan"]
        .sum()
    )
    revenue = area_year.set_index(["area_code", "year"])["budget_revenue_yuan"]
    rows, guarantee = [], []
    for (code, year), spent in spend.items():
        input_total = spent / rng.uniform(0.55, 0.97)
        last_rev = revenue.get((code, year - 1), revenue.get((code, year)))
        own = float(last_rev) * rng.normal(0.0158, 0.0025) * (spent / max(spent, 1.0))
        own = min(own, input_total * 0.6)
        rest = input_total - own
        for source, share in (("central", 0.5), ("provincial", 0.2), ("city", 0.3)):
            rows.append((year, code, source, round(rest * share, 2)))
        rows.append((year, code, "district_own", round(own, 2)))
        loans_year = float(issued.get((code, year), 0.0))
        guarantee.append(
            (
                year,
                code,
                round(loans_year * rng.uniform(0.12, 0.30), 2),
                round(max(loans_year, 1.0) * rng.uniform(0.92, 1.12), -4),
            )
        )
    return {
        "fund_allocation": pd.DataFrame(rows, columns=["year", "district_code", "source", "amount_yuan"]),
        "guarantee_fund": pd.DataFrame(
            guarantee, columns=["year", "district_code", "balance_yuan", "loan_target_yuan"]
        ),
    }


def zero_employment(
    rng: np.random.Generator, st: rec.StreetFrame, months: rec.Months, factor: float
) -> pd.DataFrame:
    """Year-to-date households identified and cleared per street; a few streets lag a month or two."""
    rows = []
    for i, code in enumerate(st.codes):
        ident = 0
        for y, m in zip(months.years, months.months, strict=True):
            ident = 0 if m == 1 else ident
            ident += int(rng.poisson(max(st.population[i] / 60_000 * factor, 0.05)))
            pending = int(rng.random() < 0.06) if ident else 0
            rows.append((int(y), int(m), code, st.district[i], ident, ident - pending))
    return pd.DataFrame(
        rows, columns=["year", "month", "street_code", "district_code", "identified", "cleared"]
    )


def surveys(rng: np.random.Generator, st: rec.StreetFrame, months: rec.Months, factor: float) -> pd.DataFrame:
    per_street = max(6.0 * min(factor, 1.0), 1.0)
    s_idx, m_idx = rec.expand(rng, np.full((len(st.codes), len(months.periods)), per_street))
    district_mean = {d: rng.uniform(3.7, 4.5) for d in np.unique(st.district)}
    mean = np.array([district_mean[d] for d in st.district[s_idx]])
    score = np.clip(np.round(rng.normal(mean, 0.8)), 1, 5).astype(int)
    return pd.DataFrame(
        {
            "response_id": np.arange(1, s_idx.size + 1),
            "district_code": st.district[s_idx],
            "street_code": st.codes[s_idx],
            "surveyed_on": rec.iso(rec.random_days(rng, months.periods, m_idx)),
            "satisfaction": score,
        }
    )


def monthly_actuals(records: dict[str, pd.DataFrame], loans: pd.DataFrame) -> pd.DataFrame:
    """Street × year × month × indicator counts from the records (the same definitions as jobs.refresh)."""
    ev = records["employment_event"]
    ym = _month_of(ev["event_date"])
    urban = ev["kind"] == "urban_new"
    parts = {
        "urban_new_employment": ev[urban],
        "reemployment": ev[urban & ev["group_code"].isin(["registered_unemployed", "difficulty"])],
        "difficulty_employment": ev[urban & (ev["group_code"] == "difficulty")],
        "graduate_employment": ev[urban & (ev["group_code"] == "graduate")],
        "rural_labour_transfer": ev[ev["kind"] == "rural_transfer"],
    }
    frames = [
        p.groupby(["street_code", ym[p.index]])
        .size()
        .rename("value")
        .reset_index(name="value")
        .rename(columns={"event_date": "ym"})
        .assign(indicator_code=k)
        for k, p in parts.items()
    ]
    tr = records["training_record"]
    frames.append(
        tr.groupby(["street_code", _month_of(tr["completed_on"]).rename("ym")])
        .size()
        .reset_index(name="value")
        .assign(indicator_code="skills_training")
    )
    frames.append(
        loans.groupby(["street_code", _month_of(loans["issued_on"]).rename("ym")])["amount_yuan"]
        .sum()
        .reset_index(name="value")
        .assign(indicator_code="startup_loans_issued")
    )
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["ym"].str[:4].astype(int)
    out["month"] = out["ym"].str[5:7].astype(int)
    out["district_code"] = out["street_code"].str[:6]
    return out.drop(columns="ym")


def _month_of(iso_dates: pd.Series) -> pd.Series:
    """ "YYYY-MM" of ISO date strings, sliced once per distinct day (a few thousand) instead of per record."""
    codes, days = pd.factorize(iso_dates)
    return pd.Series(
        np.asarray(days.str[:7], dtype=object)[codes], index=iso_dates.index, name=iso_dates.name
    )


def _split(total: float, weights: np.ndarray, step: float) -> np.ndarray:
    units = int(round(total / step))
    w = weights if weights.sum() > 0 else np.ones_like(weights)
    raw = w / w.sum() * units
    base = np.floor(raw).astype(int)
    base[np.argsort(-(raw - base), kind="stable")[: units - base.sum()]] += 1
    return base * step


def targets(
    rng: np.random.Generator,
    actual: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    effect: pd.DataFrame,
    months: rec.Months,
) -> pd.DataFrame:
    """Annual targets: set from last year's as-planned level plus ambition; streets split districts exactly."""
    d_year = actual.groupby(["district_code", "indicator_code", "year"])["value"].sum()
    s_year = actual.groupby(["street_code", "indicator_code", "year"])["value"].sum()
    streets = tables["area"].query("level == 'street'")[["area_code", "district_code", "zone"]]
    zones = tables["area"].query("level == 'district'").set_index("area_code")["zone"]
    street_codes = {d: g["area_code"].to_numpy() for d, g in streets.groupby("district_code")}
    rows = []
    for year in sorted(set(months.years)):
        base_year = max(year - 1, int(months.years.min()))
        for code in FLOW_TARGETS:
            step = 10_000.0 if code == "startup_loans_issued" else 10.0
            for d in zones.index:
                base = float(d_year.get((d, code, base_year), 0.0)) / float(effect.loc[d, base_year])
                total = round(base * rng.uniform(1.02, 1.07) / step) * step
                if total <= 0:
                    continue
                rows.append((year, d, code, d, total))
                sts = street_codes[d]
                w = np.array([float(s_year.get((s, code, base_year), 0.0)) for s in sts])
                rows += [(year, s, code, d, v) for s, v in zip(sts, _split(total, w, step), strict=True)]
        for d, zone in zones.items():
            rows.append((year, d, "registered_unemployment_rate", d, CONTROL_LINE_PCT[zone]))
            rows.append((year, d, "zero_employment_cleared", d, 1.0))
            for s in street_codes[d]:
                rows.append((year, s, "registered_unemployment_rate", d, CONTROL_LINE_PCT[zone]))
                rows.append((year, s, "zero_employment_cleared", d, 1.0))
    frame = pd.DataFrame(
        rows, columns=["year", "area_code", "indicator_code", "district_code", "target_value"]
    )
    city = frame[frame["area_code"].str.len() == 6].groupby(["year", "indicator_code"])["target_value"].sum()
    city_rows = [
        (
            y,
            geo.CITY_CODE,
            c,
            geo.CITY_CODE,
            CONTROL_LINE_PCT["city"]
            if c == "registered_unemployment_rate"
            else (1.0 if c == "zero_employment_cleared" else v),
        )
        for (y, c), v in city.items()
    ]
    return pd.concat([frame, pd.DataFrame(city_rows, columns=frame.columns)], ignore_index=True)


def reported(actual: pd.DataFrame, months: rec.Months) -> pd.DataFrame:
    """What districts reported each month, with the defects a real feed has.

    Xinzhou has not yet reported the latest month (late); Hannan's report seven months back does not reconcile
    with its person-level records; Dongxihu reported the latest month three weeks late.
    """
    frame = actual.groupby(["year", "month", "district_code", "indicator_code"], as_index=False)[
        "value"
    ].sum()
    frame["area_code"] = frame["district_code"]
    last = months.periods[-1]
    mismatch = months.periods[-8] if len(months.periods) > 8 else months.periods[0]
    is_last = (frame["year"] == last.year) & (frame["month"] == last.month)
    frame = frame[~(is_last & (frame["district_code"] == "420117"))].copy()
    bad = (
        (frame["year"] == mismatch.year)
        & (frame["month"] == mismatch.month)
        & (frame["district_code"] == "420113")
        & (frame["indicator_code"] == "urban_new_employment")
    )
    frame.loc[bad, "value"] = np.round(frame.loc[bad, "value"] * 1.27 + 12)
    ends = pd.PeriodIndex(
        pd.Period(year=y, month=m, freq="M") for y, m in zip(frame["year"], frame["month"], strict=True)
    ).end_time
    delay = np.where(is_last.loc[frame.index] & (frame["district_code"] == "420112"), 24, 5)
    frame["reported_on"] = [
        (e.date() + timedelta(days=int(d))).isoformat() for e, d in zip(ends, delay, strict=True)
    ]
    return frame
