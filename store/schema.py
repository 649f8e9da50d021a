"""The employment database, as SQLAlchemy Core tables.

Grain of every table is documented in docs/data-model.md. Every business table carries ``district_code`` so that
it can be filtered (and, on Citus, distributed) by district. Migrations live in ``bureau/migrations``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# --- geography and reference data -------------------------------------------------------------------------

area = Table(
    "area",
    metadata,
    Column("area_code", String(16), primary_key=True),
    Column("level", String(12), nullable=False),  # city / district / street / community
    Column("parent_code", String(16), ForeignKey("area.area_code"), nullable=True),
    Column("district_code", String(16), nullable=True),  # the district it lies in (itself for a district)
    Column("name_zh", String(64), nullable=False),
    Column("name_en", String(96), nullable=False),
    Column("zone", String(8), nullable=True),  # central / outer (districts and below)
    Column("is_rural", Boolean, nullable=False, default=False),  # judged by the 5 km rule, not 15 minutes
    Column("area_km2", Float, nullable=True),
    Column("centroid_lon", Float, nullable=True),
    Column("centroid_lat", Float, nullable=True),
    Column("boundary_geojson", Text, nullable=True),
    Column("datum", String(8), nullable=False, default="GCJ-02"),
)
Index("ix_area_level_parent", area.c.level, area.c.parent_code)

population_cell = Table(
    "population_cell",
    metadata,
    Column("cell_id", Integer, primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("population", Integer, nullable=False),
    Column("working_age", Integer, nullable=False),
    Column("is_rural", Boolean, nullable=False, default=False),
    Column("datum", String(8), nullable=False, default="GCJ-02"),
)
Index("ix_population_cell_district", population_cell.c.district_code)

service_point = Table(
    "service_point",
    metadata,
    Column("point_id", Integer, primary_key=True),
    Column("name_zh", String(96), nullable=False),
    Column("name_en", String(128), nullable=False),
    # a station type of store/stations.py: district_centre / street_station / community_point / gig_market / partner
    Column("level", String(20), nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date, nullable=True),
    Column("staff", Integer, nullable=False, default=1),
    Column("capacity_people", Integer, nullable=False),  # residents one point can serve
    Column("datum", String(8), nullable=False, default="GCJ-02"),
    Column("floor_area_m2", Float, nullable=True),  # service floor area; NULL when not recorded
)
Index("ix_service_point_district", service_point.c.district_code)

# The free public services of each station (seed 004's annex; codes in store/stations.py SERVICE_ITEMS): yes/no per
# station and service; a service without a row is not offered.
service_point_item = Table(
    "service_point_item",
    metadata,
    # service_point.point_id (no foreign key: an import may replace the points)
    Column("point_id", Integer, primary_key=True),
    Column("item_code", String(32), primary_key=True),
    Column("offered", Boolean, nullable=False, default=True),
)

indicator = Table(
    "indicator",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name_zh", String(64), nullable=False),
    Column("name_en", String(96), nullable=False),
    Column("unit", String(16), nullable=False),  # persons / pct / yuan / yes_no / score
    Column("direction", String(12), nullable=False),  # higher / lower / control / yes_no
    Column("kind", String(8), nullable=False),  # flow (summed over months) / stock / rate / flag
    Column("category", String(12), nullable=False),  # target / fund / series
    Column("sort_order", Integer, nullable=False, default=0),
    Column("description_en", Text, nullable=True),
    Column("description_zh", Text, nullable=True),
)

target = Table(
    "target",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("area_code", String(16), ForeignKey("area.area_code"), primary_key=True),
    Column("indicator_code", String(48), ForeignKey("indicator.code"), primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("target_value", Float, nullable=False),  # persons, yuan, a rate line in %, or 1 for yes/no
)

# The district card's weights (seed 002 §四(一)): per zone and target indicator, the points it carries, the pace
# line the card judges it on and whether it is the core indicator; the bureau's data (defaults:
# store/card_weights.py, loaded by migration 0006 and the demo).
target_weight = Table(
    "target_weight",
    metadata,
    Column("zone", String(8), primary_key=True),  # central / outer
    Column("indicator_code", String(48), ForeignKey("indicator.code"), primary_key=True),
    Column("weight", Float, nullable=False),  # points; read as shares of the zone's sum
    Column("pace", String(8), nullable=False),  # linear / seasonal
    Column("core", Boolean, nullable=False, default=False),  # never a green card while it is behind
)

area_year = Table(
    "area_year",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("area_code", String(16), ForeignKey("area.area_code"), primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("resident_population", Integer, nullable=False),
    Column("working_age_population", Integer, nullable=False),
    Column("labour_force", Integer, nullable=False),  # denominator of the registered unemployment rate
    Column("secondary_share_pct", Float, nullable=False),  # employment in industry
    Column("tertiary_share_pct", Float, nullable=False),  # employment in services
    Column("budget_revenue_yuan", Float, nullable=True),  # general budget revenue (districts)
    Column("fiscal_capacity_per_capita_yuan", Float, nullable=True),
)

# --- person-level business records (pseudonymous: no names, no ID numbers) ---------------------------------

person = Table(
    "person",
    metadata,
    Column("person_id", BigInteger, primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("birth_year", Integer, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("education", String(12), nullable=False),
)

employment_event = Table(
    "employment_event",
    metadata,
    Column("event_id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),  # urban_new / rural_transfer
    # registered_unemployed / difficulty / graduate / rural_labour / other
    Column("group_code", String(24), nullable=False),
    Column(
        "employment_type", String(16), nullable=False
    ),  # enterprise / self_employed / flexible / public_welfare
)
Index("ix_employment_event_district_date", employment_event.c.district_code, employment_event.c.event_date)

unemployment_spell = Table(
    "unemployment_spell",
    metadata,
    Column("spell_id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("ended_on", Date, nullable=True),
    Column("difficulty", Boolean, nullable=False, default=False),
)
Index(
    "ix_unemployment_spell_district", unemployment_spell.c.district_code, unemployment_spell.c.registered_on
)
# Exits since a month: the incremental refresh's stock reads spells ended from ``since`` on (1.5 s as a scan of
# every partition on the large database; see docs/scale.md).
Index("ix_unemployment_spell_ended", unemployment_spell.c.ended_on)

training_record = Table(
    "training_record",
    metadata,
    Column("training_id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("course", String(24), nullable=False),
    Column("subsidy_yuan", Float, nullable=False),
)
Index("ix_training_record_district", training_record.c.district_code, training_record.c.completed_on)

startup_loan = Table(
    "startup_loan",
    metadata,
    Column("loan_id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("amount_yuan", Float, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("repaid_on", Date, nullable=True),
    Column("overdue", Boolean, nullable=False, default=False),
)
Index("ix_startup_loan_district", startup_loan.c.district_code, startup_loan.c.issued_on)

subsidy_payment = Table(
    "subsidy_payment",
    metadata,
    Column("payment_id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, nullable=True),  # null for payments to employers
    Column("district_code", String(16), nullable=False),
    Column("paid_on", Date, nullable=False),
    # public_welfare_job / social_insurance / job_introduction / training / startup / loan_interest
    Column("category", String(24), nullable=False),
    Column("amount_yuan", Float, nullable=False),
)
Index("ix_subsidy_payment_district", subsidy_payment.c.district_code, subsidy_payment.c.paid_on)

fund_allocation = Table(
    "fund_allocation",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("district_code", String(16), primary_key=True),
    Column("source", String(16), primary_key=True),  # central / provincial / city / district_own
    Column("amount_yuan", Float, nullable=False),
)

guarantee_fund = Table(
    "guarantee_fund",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("district_code", String(16), primary_key=True),
    Column("balance_yuan", Float, nullable=False),  # year-end balance of the loan guarantee fund
    Column("loan_target_yuan", Float, nullable=False),
)

zero_employment_household = Table(
    "zero_employment_household",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("street_code", String(16), primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("identified", Integer, nullable=False),
    Column("cleared", Integer, nullable=False),
)

survey_response = Table(
    "survey_response",
    metadata,
    Column("response_id", BigInteger, primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("street_code", String(16), nullable=False),
    Column("surveyed_on", Date, nullable=False),
    Column("satisfaction", Integer, nullable=False),  # 1..5
)

road_node = Table(
    "road_node",
    metadata,
    Column("node_id", BigInteger, primary_key=True),
    Column("lon", Float, nullable=False),  # in the datum of the area boundaries (GCJ-02 in the demo)
    Column("lat", Float, nullable=False),
)

road_edge = Table(
    "road_edge",
    metadata,
    Column("edge_id", BigInteger, primary_key=True),
    Column("u", BigInteger, nullable=False),
    Column("v", BigInteger, nullable=False),
    Column("length_m", Float, nullable=False),
)

# --- what districts reported, and the monthly aggregates the pages read ------------------------------------

reported_monthly = Table(
    "reported_monthly",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("area_code", String(16), primary_key=True),
    Column("indicator_code", String(48), primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("value", Float, nullable=False),
    Column("reported_on", Date, nullable=False),
)

calendar_month = Table(
    "calendar_month",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("month_end", Date, nullable=False),
)

agg_monthly = Table(
    "agg_monthly",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("area_code", String(16), primary_key=True),
    Column("indicator_code", String(48), primary_key=True),
    Column("group_code", String(24), primary_key=True),  # "all" or a group
    Column("level", String(12), nullable=False),
    Column("district_code", String(16), nullable=False),
    Column("value", Float, nullable=False),
    Column(
        "persons", Integer, nullable=False
    ),  # distinct persons behind the value, for small-count suppression
)
Index("ix_agg_monthly_level_year", agg_monthly.c.level, agg_monthly.c.year, agg_monthly.c.indicator_code)

# --- jobs, versions and stored results ----------------------------------------------------------------------

data_load = Table(
    "data_load",
    metadata,
    Column("load_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # demo / import / refresh / forecast
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("cut_off", Date, nullable=True),  # the last day the data covers
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("note", Text, nullable=True),
    Column("loaded_by", String(64), nullable=True),
    Column("source", Text, nullable=True),  # file names, encodings and datums detected
)

data_change = Table(
    "data_change",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("load_id", Integer, ForeignKey("data_load.load_id"), nullable=False),
    Column("table_name", String(48), nullable=False),
    Column("row_key", Text, nullable=False),  # JSON of the replaced row's key
    Column("previous_json", Text, nullable=True),  # the values before (null for a new row)
    Column("new_json", Text, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("changed_by", String(64), nullable=False),
)

scoring_scheme = Table(
    "scoring_scheme",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("definition_json", Text, nullable=False),
    Column("locked", Boolean, nullable=False, default=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

forecast_run = Table(
    "forecast_run",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("cut_off", Date, nullable=False),
    Column("model_version", String(64), nullable=False),
)

forecast_value = Table(
    "forecast_value",
    metadata,
    Column("run_id", Integer, ForeignKey("forecast_run.run_id"), primary_key=True),
    Column("area_code", String(16), primary_key=True),
    Column("indicator_code", String(48), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("district_code", String(16), nullable=False),
    Column("mean", Float, nullable=False),
    Column("lo_80", Float, nullable=False),
    Column("hi_80", Float, nullable=False),
    Column("lo_95", Float, nullable=False),
    Column("hi_95", Float, nullable=False),
    Column("model", String(64), nullable=False),
)

forecast_accuracy = Table(
    "forecast_accuracy",
    metadata,
    Column("run_id", Integer, ForeignKey("forecast_run.run_id"), primary_key=True),
    Column("area_code", String(16), primary_key=True),
    Column("indicator_code", String(48), primary_key=True),
    Column("model", String(32), primary_key=True),
    Column("horizon_band", String(8), primary_key=True),  # 1-3 / 4-6 / 7-12
    Column("district_code", String(16), nullable=False),
    Column("mae", Float, nullable=False),
    Column("mase", Float, nullable=False),
    Column("smape", Float, nullable=False),
    Column("coverage_80", Float, nullable=False),
    Column("coverage_95", Float, nullable=False),
)

pack_snapshot = Table(
    "pack_snapshot",
    metadata,
    Column("snapshot_id", Integer, primary_key=True, autoincrement=True),
    Column("quarter", String(8), nullable=False),  # e.g. 2026Q3
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("cut_off", Date, nullable=False),  # the data cut-off the pack was frozen at
    Column("scheme_name", String(64), nullable=True),
    Column("model_version", String(64), nullable=True),
    Column("forecast_run_id", Integer, nullable=True),
    Column("content_json", Text, nullable=False),  # every table of the pack, frozen
    Column("note", Text, nullable=True),
)

# --- who may see what ---------------------------------------------------------------------------------------

app_user = Table(
    "app_user",
    metadata,
    Column("username", String(128), primary_key=True),  # login name, or the e-mail an identity provider gives
    Column(
        "password_hash", String(256), nullable=True
    ),  # scrypt with a per-user salt; null for SSO-only users
    Column("role", String(16), nullable=True),  # leader / planner / analyst / admin; null sees nothing
    Column("district_code", String(16), nullable=True),  # a planner's own district
    Column("display_name", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("username", String(128), nullable=False),
    Column("role", String(16), nullable=True),
    Column("action", String(16), nullable=False),  # login / view / export / denied / failed_login
    Column("target", String(128), nullable=False),  # page, export or command
    Column("detail", Text, nullable=True),
)
Index("ix_audit_log_at", audit_log.c.at)

login_failure = Table(
    "login_failure",
    metadata,
    Column("kind", String(8), primary_key=True),  # "user" or "address": what the failures are counted against
    Column("subject", String(128), primary_key=True),  # the user name tried, or the client's address
    Column(
        "failures", Integer, nullable=False
    ),  # failed logins since the last success (or the window's start)
    Column("last_failed_at", DateTime, nullable=False),
    Column("locked_until", DateTime, nullable=True),  # refused without checking the password until then
)

#: Tables with one row per person or per person's event (they grow with the data): never shown or exported row
#: by row (docs/privacy.md), and distributed by district under Citus (bureau.partitions).
PERSON_LEVEL_TABLES = (
    "person",
    "employment_event",
    "unemployment_spell",
    "training_record",
    "startup_loan",
    "subsidy_payment",
    "survey_response",
)

BUSINESS_TABLES = (
    person,
    employment_event,
    unemployment_spell,
    training_record,
    startup_loan,
    subsidy_payment,
    fund_allocation,
    guarantee_fund,
    zero_employment_household,
    survey_response,
)
