"""Attendance at a task: one row per (task, person), written by scans or by staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

CHECKED_IN = "checked_in"
CHECKED_OUT = "checked_out"
ABSENT = "absent"
STATUSES = (CHECKED_IN, CHECKED_OUT, ABSENT)
SOURCE_SCAN = "scan"  # 信用 minutes: proven by scans
SOURCE_MANUAL = "manual"  # 荣誉 minutes: entered by staff with a reason


class Attendance(Base):
    """A person's attendance at a task.

    checkin_at / checkout_at are the times the scans count for: the phone's `scanned_at` for a
    scan sent later (offline), else the arrival time. *_received_at is when the request
    arrived. minutes is set at check-out (clipped to the task's span) or by staff (manual).
    awarded_at is set once, by confirmation; points is what the time bank was asked to post.
    """

    __tablename__ = "attendances"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("task_claims.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))  # the task's, for figures
    status: Mapped[str] = mapped_column(String(20), default=CHECKED_IN)
    source: Mapped[str] = mapped_column(String(10), default=SOURCE_SCAN)
    manual_reason: Mapped[str | None] = mapped_column(String(200))
    checkin_at: Mapped[datetime | None] = mapped_column()
    checkin_received_at: Mapped[datetime | None] = mapped_column()
    checkin_offline: Mapped[bool] = mapped_column(default=False)
    checkin_distance_m: Mapped[int | None] = mapped_column()
    checkout_at: Mapped[datetime | None] = mapped_column()
    checkout_received_at: Mapped[datetime | None] = mapped_column()
    checkout_offline: Mapped[bool] = mapped_column(default=False)
    checkout_distance_m: Mapped[int | None] = mapped_column()
    minutes: Mapped[int] = mapped_column(default=0)
    awarded_at: Mapped[datetime | None] = mapped_column()
    points: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # staff, for manual/absent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_attendances_user", "user_id", "status"),
        Index("ix_attendances_task_status", "task_id", "status"),
        Index("ix_attendances_community_checkout", "community_id", "checkout_at"),
    )

    @property
    def finished(self) -> bool:
        """Checked out (by scan, bulk check-out or manual entry) with minutes to count."""
        return self.status == CHECKED_OUT and self.minutes > 0
