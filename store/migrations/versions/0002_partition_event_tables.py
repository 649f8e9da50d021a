"""partition the person-level event tables by month (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:40:00

On PostgreSQL, ``employment_event``, ``unemployment_spell`` and ``training_record`` become range-partitioned
by their date, one partition per month plus a default partition (see ``bureau/partitions.py``); every row is
kept. SQLite is unchanged.
"""

from alembic import op

from store import partitions

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    partitions.apply(op.get_bind(), "month")


def downgrade() -> None:
    partitions.apply(op.get_bind(), "none")
