"""index unemployment spells by their end date

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:25:00

The incremental refresh carries the registered-unemployed stock forward from the month before ``since`` and reads
the exits dated from ``since`` on; without an index on ``ended_on`` that read scans every spell (on PostgreSQL,
every month partition). See docs/scale.md.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_unemployment_spell_ended", "unemployment_spell", ["ended_on"])


def downgrade() -> None:
    op.drop_index("ix_unemployment_spell_ended", table_name="unemployment_spell")
