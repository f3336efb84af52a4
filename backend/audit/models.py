"""The audit log of every staff, unit_admin, street_admin and admin action. Append-only."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column()
    community_id: Mapped[int | None] = mapped_column()  # for street_admin scoping
    street_id: Mapped[int | None] = mapped_column()
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {"before": {...}, "after": {...}}
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_audit_actor", "actor_id", "id"),
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_action", "action", "id"),
        Index("ix_audit_street", "street_id", "id"),
    )


from sqlalchemy import event  # noqa: E402


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("audit_log is append-only")
