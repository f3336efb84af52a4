"""Follow-ups of quiet members, and 共驻共建 needs with their pledges and state history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

FOLLOW_UP_STATUSES = ("已联系", "外出务工", "失联", "已转出")
NEED_OPEN = "待认领"
NEED_PLEDGED = "已认领"
NEED_DONE = "已完成"
NEED_STATUSES = (NEED_OPEN, NEED_PLEDGED, NEED_DONE)


class FollowUp(Base):
    """Staff following up a quiet member; the latest row is the current state."""

    __tablename__ = "member_follow_ups"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_member_follow_ups_member", "community_id", "user_id", "id"),)


class CommunityNeed(Base):
    """A community's need (共驻共建): 待认领 → 已认领 (a unit pledged) → 已完成 (staff confirm)."""

    __tablename__ = "community_needs"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=NEED_OPEN)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()


class NeedPledge(Base):
    """A unit pledging one of its resources to a need."""

    __tablename__ = "need_pledges"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("community_needs.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    resource: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("need_id", "unit_id"),)


class NeedEvent(Base):
    """Every state change of a need, with who made it and when."""

    __tablename__ = "need_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("community_needs.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
