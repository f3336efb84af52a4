"""Volunteer posts (tasks) and the claims members make on them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

TASK_OPEN = "open"
TASK_CANCELLED = "cancelled"
CLAIM_ACTIVE = "active"
CLAIM_CANCELLED = "cancelled"


class Task(Base):
    """A volunteer post: time, place, seats, skills and points per hour."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(50), default="")
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    location_name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column()
    claimed_count: Mapped[int] = mapped_column(default=0)  # kept exact by a conditional UPDATE
    points_per_hour: Mapped[int] = mapped_column(default=0)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=TASK_OPEN)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_tasks_community_starts", "community_id", "starts_at"),)


class TaskClaim(Base):
    """A member's claim on a task; at most one active claim per person and task."""

    __tablename__ = "task_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=CLAIM_ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()  # the task_reminder went out (once per claim)
    __table_args__ = (
        # user_id last: a task's claims by status, and one person's claim on a task whatever
        # plan the database picks (with (task_id, status) alone a prepared generic plan read every
        # claim of the task for each scan: a check-in burst was quadratic)
        Index("ix_task_claims_task", "task_id", "status", "user_id"),
        Index(
            "uq_task_claims_active", "task_id", "user_id", unique=True,
            postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'"),
        ),
    )
