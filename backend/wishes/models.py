"""Wishes and the history of every change of their state."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

PENDING, APPROVED, REJECTED, CLAIMED = "待审批", "已通过", "已驳回", "已认领"
DONE, CANCELLED, RATED = "已完成", "已取消", "已评价"
STATUSES = (PENDING, APPROVED, REJECTED, CLAIMED, DONE, CANCELLED, RATED)
TYPES = ("物质", "精神")


class Wish(Base):
    """A resident's 微心愿 in a community."""

    __tablename__ = "wishes"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the resident who posted it
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    claimer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    rated_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        Index("ix_wishes_community_status", "community_id", "status"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
    )


class WishEvent(Base):
    """One change of a wish's state: who, when, from what to what, and why."""

    __tablename__ = "wish_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(10))  # None when the wish is posted
    to_status: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))
