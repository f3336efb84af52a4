"""The notification outbox: written in the same transaction as the event that causes it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

KINDS = ("report_decided", "task_reminder", "task_cancelled", "wish_claimed", "feedback_ready", "report_reminder",
         "redemption_cancelled")


class Notification(Base):
    """One WeChat subscribe message to one user, and its delivery state."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # what the message says, untruncated
    ref_type: Mapped[str | None] = mapped_column(String(40))
    ref_id: Mapped[int | None] = mapped_column()
    # pending -> sending -> sent | refused (43101) | failed (gave up) | skipped (account closed);
    # a retryable failure goes back to pending with next_attempt_at
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None] = mapped_column()  # when a sender took it (status sending)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_errcode: Mapped[int | None] = mapped_column()
    __table_args__ = (Index("ix_notifications_status", "status", "id"),)


class NotificationAttempt(Base):
    """Every try at sending a notification, with WeChat's answer."""

    __tablename__ = "notification_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    errcode: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
