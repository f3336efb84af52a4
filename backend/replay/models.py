"""The stored first answers of idempotent requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class StoredAnswer(Base):
    """What a successful request under a key answered. `key` is the caller's id, the endpoint
    and the client's key, so two people (or two endpoints) never share a key."""

    __tablename__ = "idempotent_answers"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
