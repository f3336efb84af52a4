"""Rewards (with stock) and redemptions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class Reward(Base):
    """A good or service in a community's 爱心超市, priced in points."""

    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    points: Mapped[int] = mapped_column()
    stock: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
    )


PENDING, HANDED_OVER, CANCELLED = "pending", "handed_over", "cancelled"
REDEMPTION_STATUSES = (PENDING, HANDED_OVER, CANCELLED)


class Redemption(Base):
    """One reward redeemed by one person, paid by one ledger transfer.

    It waits (`pending`) until staff hand the goods over at the shelf against the person's
    pickup code (`handed_over`), or until the person or staff cancel it (`cancelled`: the
    payment reversed, the unit back in stock)."""

    __tablename__ = "redemptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reward_name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column()
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=PENDING, server_default=PENDING)
    pickup_code: Mapped[str | None] = mapped_column(String(8))  # shown by the person, typed in by staff
    handed_over_at: Mapped[datetime | None] = mapped_column()
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        Index("ix_redemptions_user", "user_id", "id"),
        Index("ix_redemptions_community", "community_id", "id"),
        Index("ix_redemptions_community_status", "community_id", "status", "id"),
        # a code names one waiting redemption of the shelf
        Index("uq_redemptions_pickup_code", "community_id", "pickup_code", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        CheckConstraint("status IN ('pending', 'handed_over', 'cancelled')", name="status"),
    )
