"""双报到: member reports, unit reports, unit rosters and the reminders sent from them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow
from backend.orgs.models import Community, Grid, Unit

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
CLOSED = "closed"
STATUSES = (PENDING, APPROVED, REJECTED, CLOSED)
LIVE = (PENDING, APPROVED)

# The fixed skill list members pick from (anything else goes to skills_other as free text).
SKILLS = (
    "医疗护理", "法律咨询", "心理疏导", "教育辅导", "文艺宣传", "信息技术",
    "维修服务", "环境保护", "治安巡逻", "助老助残", "驾驶", "摄影摄像",
)


class MemberReport(Base):
    """个人到居住地社区报到. Live = pending or approved; closed ones are history (moved house)."""

    __tablename__ = "member_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    skills_other: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    community: Mapped[Community] = relationship(lazy="selectin")
    unit: Mapped[Unit] = relationship(lazy="selectin")
    grid: Mapped[Grid | None] = relationship(lazy="selectin")
    reporter: Mapped["User"] = relationship("User", foreign_keys=[user_id], lazy="selectin", viewonly=True)
    __table_args__ = (
        Index("ix_member_reports_user", "user_id", "status"),
        Index("ix_member_reports_community", "community_id", "status", "id"),
        # At most one pending and one approved report per person, even under concurrent filing.
        Index("uq_member_reports_pending", "user_id", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("uq_member_reports_approved", "user_id", unique=True,
              postgresql_where=text("status = 'approved'"), sqlite_where=text("status = 'approved'")),
    )

    @property
    def phone_verified(self) -> bool:
        """The phone named is the one WeChat vouched for to the reporter (POST /me/phone)."""
        return self.reporter is not None and self.reporter.verified_phone == self.phone


class UnitReport(Base):
    """单位到社区报到, with what the unit offers (resources) and needs (共驻共建)."""

    __tablename__ = "unit_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    resources: Mapped[list] = mapped_column(JSON, default=list)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    community: Mapped[Community] = relationship(lazy="selectin")
    unit: Mapped[Unit] = relationship(lazy="selectin")
    __table_args__ = (
        Index("ix_unit_reports_community", "community_id", "status", "id"),
        # A unit's reports (by status or not) whatever the plan: the partial index below serves
        # only a plan that sees a literal live status, a generic plan read every unit report.
        Index("ix_unit_reports_unit", "unit_id", "status"),
        Index("uq_unit_reports_live", "unit_id", "community_id", unique=True,
              postgresql_where=text("status IN ('pending', 'approved')"),
              sqlite_where=text("status IN ('pending', 'approved')")),
    )


class UnitMember(Base):
    """One in-service party member on a unit's roster, matched to reports by phone."""

    __tablename__ = "unit_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()  # left the unit; kept for history
    __table_args__ = (UniqueConstraint("unit_id", "phone"),)


class ReportReminder(Base):
    """A reminder to report in (not_reported) or to renew an old report (stale)."""

    __tablename__ = "report_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit_member_id: Mapped[int] = mapped_column(ForeignKey("unit_members.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))  # not_reported | stale
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_report_reminders_member", "unit_member_id", "created_at"),)
