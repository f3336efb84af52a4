"""Feedback to employer units: evaluations, issued periods, consents, export jobs, certificates."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow

RATINGS = ("优秀", "合格", "基本合格", "不合格")


class Evaluation(Base):
    """Staff's rating of an approved member for one period; one per member, community, period."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period: Mapped[str] = mapped_column(String(8))  # "2026-Q4"
    rating: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("user_id", "community_id", "period"),
        Index("ix_evaluations_community_period", "community_id", "period"),
        Index("ix_evaluations_period_user", "period", "user_id"),
    )


class EvaluationVersion(Base):
    """Every version an evaluation ever had (the first one included): its history."""

    __tablename__ = "evaluation_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    version: Mapped[int] = mapped_column()
    rating: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("evaluation_id", "version"),)


class FeedbackIssue(Base):
    """A unit's feedback for a period was issued: its evaluations are locked from then on."""

    __tablename__ = "feedback_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the scheduler
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # counts at issue time
    __table_args__ = (UniqueConstraint("unit_id", "period"),)


class Consent(Base):
    """A person's current answer for one purpose (PIPL Art. 23); absent means not granted."""

    __tablename__ = "consents"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted: Mapped[bool] = mapped_column(default=False)
    policy_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_consents_purpose_user", "purpose", "granted", "user_id"),)


class ConsentChange(Base):
    """Every change of a consent, with its time and the privacy policy version shown."""

    __tablename__ = "consent_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column()
    policy_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_consent_changes_user", "user_id", "purpose", "id"),)


class ExportJob(Base):
    """A file built by a background job; `id` is the public job id of GET /api/v1/jobs/{id}.

    kind picks the builder (backend/feedback/exportjobs.py); scope_type/scope_id say whose data
    it is, so that whoever may read that scope may read the job and its file."""

    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    scope_type: Mapped[str] = mapped_column(String(20))  # unit | street | community | ...
    scope_id: Mapped[int | None] = mapped_column()
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outbox_id: Mapped[int | None] = mapped_column()  # the backend.jobs outbox row that runs it
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|started|finished|failed
    progress: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))  # under FILES_DIR
    download_name: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (Index("ix_export_jobs_requester", "requester_id", "created_at"),)


class Certificate(Base):
    """A 志愿服务记录证明 as issued: what GET /api/v1/certificates/{code} confirms."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    services: Mapped[int] = mapped_column(default=0)
    scanned_minutes: Mapped[int] = mapped_column(default=0)
    manual_minutes: Mapped[int] = mapped_column(default=0)
    total_minutes: Mapped[int] = mapped_column(default=0)
    digest: Mapped[str] = mapped_column(String(64))  # of the listed services: same record, same certificate
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_certificates_user_digest", "user_id", "digest"),)
