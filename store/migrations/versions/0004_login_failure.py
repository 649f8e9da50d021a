"""login failures counted per user and per address (lockout with back-off)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:30:00

Failed logins are counted in the database, not per session, so that a new session (or another app process)
does not reset the count. See bureau/auth.py (``check_lockout``, ``note_failure``) and docs/deployment.md.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "subject"),
    )


def downgrade() -> None:
    op.drop_table("login_failure")
