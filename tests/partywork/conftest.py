"""Fixtures for the partywork tests: the city plus a staff/member login helper."""
from __future__ import annotations

import pytest

from backend.auth.services import grant_role
from backend.extensions import db
from backend.seed import user_for


@pytest.fixture
def other_member(city):
    """A member of c2 (same street, another community)."""
    u = user_for("member-c2", name="member-c2")
    grant_role(None, u.id, "member", community_id=city.c2.id)
    db.session.commit()
    return u


def balance(user_id: int) -> int:
    from backend.timebank.service import wallet_summary

    return wallet_summary(db.session, user_id)["balance"]


def audit_actions(object_type: str | None = None) -> list[str]:
    from sqlalchemy import select

    from backend.audit.models import AuditLog

    q = select(AuditLog.action)
    if object_type:
        q = q.where(AuditLog.object_type == object_type)
    return list(db.session.scalars(q.order_by(AuditLog.id)))
