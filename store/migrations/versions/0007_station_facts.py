"""service stations: floor area and the free services each offers (seeds 001 §四(三), 004's annex)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:50:00

Floor area is judged against the standard of its station type (store/stations.py); the free public services of
seed 004's annex are yes/no per station and service (no row: not offered). See docs/service-circle-page.md ("Stations").
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_point", sa.Column("floor_area_m2", sa.Float(), nullable=True))
    op.create_table(
        "service_point_item",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=32), nullable=False),
        sa.Column("offered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("point_id", "item_code"),
    )


def downgrade() -> None:
    op.drop_table("service_point_item")
    with op.batch_alter_table("service_point") as batch:
        batch.drop_column("floor_area_m2")
