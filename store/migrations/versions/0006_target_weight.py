"""the district card's weights per zone (seed 002 §四(一))

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03 10:45:00

Central districts are judged mainly on re-employment of people with employment difficulty and on graduates,
outer districts on rural labour transfer and returning migrant workers' start-ups, and urban new employment is
the core everywhere. The weights are the bureau's data; the defaults (store/card_weights.py) are loaded here. See
figures/targets.py (``district_cards``) and docs/targets.md.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

# The defaults as they were when this migration was written (store/card_weights.py may change later).
DEFAULTS = (
    ("central", "urban_new_employment", 30, "linear", True),
    ("central", "difficulty_employment", 15, "linear", False),
    ("central", "graduate_employment", 15, "seasonal", False),
    ("central", "reemployment", 10, "linear", False),
    ("central", "registered_unemployment_rate", 10, "linear", False),
    ("central", "skills_training", 5, "linear", False),
    ("central", "startup_loans_issued", 5, "linear", False),
    ("central", "rural_labour_transfer", 5, "linear", False),
    ("central", "zero_employment_cleared", 5, "linear", False),
    ("outer", "urban_new_employment", 30, "linear", True),
    ("outer", "rural_labour_transfer", 20, "linear", False),
    ("outer", "startup_loans_issued", 10, "linear", False),
    ("outer", "skills_training", 10, "linear", False),
    ("outer", "registered_unemployment_rate", 10, "linear", False),
    ("outer", "reemployment", 5, "linear", False),
    ("outer", "difficulty_employment", 5, "linear", False),
    ("outer", "graduate_employment", 5, "seasonal", False),
    ("outer", "zero_employment_cleared", 5, "linear", False),
)


def upgrade() -> None:
    table = op.create_table(
        "target_weight",
        sa.Column("zone", sa.String(length=8), nullable=False),
        sa.Column("indicator_code", sa.String(length=48), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("pace", sa.String(length=8), nullable=False),
        sa.Column("core", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["indicator_code"], ["indicator.code"]),
        sa.PrimaryKeyConstraint("zone", "indicator_code"),
    )
    # only where the indicator table already holds the codes (a fresh database gets them from its first load)
    present = {r[0] for r in op.get_bind().execute(sa.text("SELECT code FROM indicator"))}
    rows = [
        dict(zone=z, indicator_code=c, weight=w, pace=p, core=k) for z, c, w, p, k in DEFAULTS if c in present
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("target_weight")
