"""Duty posts (设岗定责): standing posts, who holds them when, and the duty work they log."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

# Holder states: an application waits (pending); approved or appointed holders are active;
# a refused application is rejected; a holder who steps down (or withdraws) has ended.
HOLDER_PENDING = "pending"
HOLDER_ACTIVE = "active"
HOLDER_REJECTED = "rejected"
HOLDER_ENDED = "ended"
LOG_PENDING = "pending"
LOG_CONFIRMED = "confirmed"


class DutyPost(Base):
    """A standing post in a community (楼栋长, 党小组长, 文明劝导岗, ...), optionally per grid/building."""

    __tablename__ = "duty_posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    duties: Mapped[str] = mapped_column(Text, default="")
    seats: Mapped[int] = mapped_column()
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    building: Mapped[str | None] = mapped_column(String(100))
    points_per_month: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DutyHolder(Base):
    """One person's tenure (or application) at a post; ended rows are the history."""

    __tablename__ = "duty_holders"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("duty_posts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=HOLDER_PENDING)
    appointed: Mapped[bool] = mapped_column(default=False)  # staff appointed rather than applied
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        Index("ix_duty_holders_post", "post_id", "status"),
        # One live (pending or active) row per person and post, even under concurrent requests.
        Index("uq_duty_holders_live", "post_id", "user_id", unique=True,
              postgresql_where=text("status IN ('pending', 'active')"),
              sqlite_where=text("status IN ('pending', 'active')")),
    )


class DutyLog(Base):
    """A holder's duty work on one day; staff confirm it, which awards points once."""

    __tablename__ = "duty_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("duty_posts.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("duty_holders.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=LOG_PENDING)
    points: Mapped[int] = mapped_column(default=0)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_duty_logs_user", "user_id", "date"),
        Index("ix_duty_logs_community", "community_id", "status", "id"),
    )
