"""Consents (PIPL Art. 23): a person's opt-in to share their record, each change kept."""
from __future__ import annotations

from sqlalchemy import select

from backend.auth.models import User
from backend.auth.services import lock_person
from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.feedback.models import Consent, ConsentChange

UNIT_FEEDBACK = "unit_feedback"
# purpose -> what it shares (shown beside the switch in the mini-program)
PURPOSES = {
    UNIT_FEEDBACK: "向所在单位党组织提供社区表现反馈（参与任务、服务时长、积分、社区评价）",
}


def _check(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise NotFound("未知的授权用途")


def _item(purpose: str, row: Consent | None) -> dict:
    return {"purpose": purpose, "description": PURPOSES[purpose], "granted": bool(row and row.granted),
            "at": row.at if row else None, "policy_version": row.policy_version if row else None}


def my_consents(user: User) -> list[dict]:
    """Every purpose with the person's current answer (never asked: not granted, at None)."""
    rows = {c.purpose: c for c in db.session.scalars(select(Consent).where(Consent.user_id == user.id))}
    return [_item(p, rows.get(p)) for p in PURPOSES]


def set_consent(user: User, purpose: str, granted: bool, policy_version: str) -> dict:
    """Grant or withdraw consent for a purpose; a change (not a repeat) is kept in the history."""
    _check(purpose)
    # the person's row locked until commit: the same switch sent twice at once is taken one after
    # the other (the second sees the first: a repeat), never two first rows and a 500
    lock_person(user.id)
    row = db.session.get(Consent, (user.id, purpose), populate_existing=True)
    if row is not None and row.granted == granted and row.policy_version == policy_version:
        return _item(purpose, row)
    now = utcnow()
    if row is None:
        row = Consent(user_id=user.id, purpose=purpose)
        db.session.add(row)
    row.granted, row.policy_version, row.at = granted, policy_version, now
    db.session.add(ConsentChange(user_id=user.id, purpose=purpose, granted=granted,
                                 policy_version=policy_version, at=now))
    db.session.flush()
    return _item(purpose, row)


def consent_history(user_id: int, purpose: str | None = None) -> list[dict]:
    """The person's consent changes, oldest first (for their own data export)."""
    q = select(ConsentChange).where(ConsentChange.user_id == user_id).order_by(ConsentChange.id)
    if purpose:
        q = q.where(ConsentChange.purpose == purpose)
    return [{"purpose": c.purpose, "granted": c.granted, "policy_version": c.policy_version, "at": c.at}
            for c in db.session.scalars(q)]


def consented(purpose: str):
    """A select of user ids who currently grant `purpose` (to join in aggregate queries)."""
    return select(Consent.user_id).where(Consent.purpose == purpose, Consent.granted.is_(True))
