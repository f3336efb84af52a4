"""党员联系家庭: households, which member looks after which, and the visits they log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

LINK_ACTIVE = "active"
LINK_ENDED = "ended"
VISIT_PENDING = "pending"
VISIT_CONFIRMED = "confirmed"


class Household(Base):
    """A household a community looks after. Phone and address are private (see households.py)."""

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    building: Mapped[str | None] = mapped_column(String(100))
    head_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdLink(Base):
    """A member looking after a household; ended links are kept as history."""

    __tablename__ = "household_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    status: Mapped[str] = mapped_column(String(20), default=LINK_ACTIVE)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        Index("ix_household_links_user", "user_id", "status"),
        # A household's active links whatever the plan (a generic plan cannot use the partial
        # index below for `status = $n`, and read every link once per household listed).
        Index("ix_household_links_household", "household_id", "status"),
        Index("uq_household_links_active", "household_id", "user_id", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
    )


class Visit(Base):
    """A linked member's visit to a household; staff confirm it, which awards points once."""

    __tablename__ = "household_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    visited_at: Mapped[datetime] = mapped_column()
    minutes: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=VISIT_PENDING)
    points: Mapped[int] = mapped_column(default=0)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_household_visits_household", "household_id", "visited_at"),
        Index("ix_household_visits_user", "user_id", "visited_at"),
        Index("ix_household_visits_community", "community_id", "status", "id"),
    )
