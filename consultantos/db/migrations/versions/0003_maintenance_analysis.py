"""Maintenance and analysis: daily rollups, anomaly models, analysis reports, and indexes on
alerts.snapshot_id and snapshots.checked_at (cleanup deletes snapshots in bulk, and each sets
its alerts' snapshot_id NULL; aggregation and cleanup read snapshots by time across monitors).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "snapshot_rollups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("alert_counts", sa.JSON(), nullable=False),
        sa.Column("response_time_p50_ms", sa.Float(), nullable=True),
        sa.Column("response_time_p95_ms", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("monitor_id", "day", name="uq_snapshot_rollups_monitor_day"),
    )
    with op.batch_alter_table("snapshot_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_snapshot_rollups_day", ["day"], unique=False)

    op.create_table(
        "anomaly_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=155), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("trained_at", sa.DateTime(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("snapshot_count", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("monitor_id", "run_id", name="uq_anomaly_models_run"),
        sa.UniqueConstraint("monitor_id", "version", name="uq_anomaly_models_version"),
    )

    op.create_table(
        "analysis_reports",
        sa.Column("id", sa.String(length=155), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("analysis_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_reports_company"), ["company"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_reports_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_snapshot_id", ["snapshot_id"], unique=False)
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_snapshots_checked_at", ["checked_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_checked_at")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_snapshot_id")

    with op.batch_alter_table("analysis_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_reports_user_id"))
        batch_op.drop_index(batch_op.f("ix_analysis_reports_company"))

    op.drop_table("analysis_reports")
    op.drop_table("anomaly_models")
    with op.batch_alter_table("snapshot_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshot_rollups_day")

    op.drop_table("snapshot_rollups")
