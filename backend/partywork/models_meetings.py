"""三会一课 and 主题党日: branch meetings and each expected member's attendance."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

KINDS = ("支部党员大会", "支委会", "党小组会", "党课", "主题党日")
EXPECTED = "expected"  # not (yet) there
PRESENT = "present"
LEAVE = "leave"  # 请假, with a reason


class Meeting(Base):
    """A branch meeting at a time and place."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    location: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_meetings_community_starts", "community_id", "starts_at"),)


class MeetingAttendee(Base):
    """One member at one meeting: expected, present (scanned in) or on leave."""

    __tablename__ = "meeting_attendees"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expected: Mapped[bool] = mapped_column(default=True)  # False: came without being on the list
    status: Mapped[str] = mapped_column(String(20), default=EXPECTED)
    checkin_at: Mapped[datetime | None] = mapped_column()
    checkin_offline: Mapped[bool] = mapped_column(default=False)
    leave_reason: Mapped[str | None] = mapped_column(Text)
    leave_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    leave_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)
