"""Evaluations of members by community staff, and issuing a unit's quarterly feedback."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import RoleGrant, User
from backend.db import savepoint, utcnow
from backend.errors import InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.feedback import unit_feedback
from backend.feedback.models import Evaluation, EvaluationVersion, FeedbackIssue
from backend.feedback.periods import check_quarter
from backend.notifications.services import notify_many
from backend.orgs.models import Unit
from backend.reports.services import approved_report

LOCKED_MESSAGE = "该季度的单位反馈已下发，评价不能再修改"


def _snapshot(e: Evaluation | None) -> dict:
    return {} if e is None else {"rating": e.rating, "comment": e.comment, "version": e.version}


def is_issued(unit_id: int | None, period: str) -> bool:
    """True once the unit's feedback for the period was issued (its evaluations are locked)."""
    return unit_id is not None and db.session.scalar(select(FeedbackIssue.id).where(
        FeedbackIssue.unit_id == unit_id, FeedbackIssue.period == period)) is not None


def evaluate(actor: User, community_id: int, *, user_id: int, period: str, rating: str,
             comment: str = "") -> tuple[Evaluation, bool]:
    """Staff of the community rate one of its approved members for a quarter (upsert).

    Returns (evaluation, created). Every version is kept; once the feedback of the member's
    unit for that period is issued the rating is locked (INVALID_STATE)."""
    policy.require_staff(actor, community_id)
    check_quarter(period)
    report = approved_report(user_id)
    if report is None or report.community_id != community_id:
        raise ValidationFailed(details={"user_id": ["该用户不是本社区已报到的党员"]})
    if report.unit_id is not None:
        # shares the lock issue_units takes: an issue in flight either sees this edit or blocks it
        db.session.execute(select(Unit.id).where(Unit.id == report.unit_id).with_for_update(read=True))
    if is_issued(report.unit_id, period):
        raise InvalidState(LOCKED_MESSAGE)
    comment = (comment or "").strip()
    key = (Evaluation.user_id == user_id, Evaluation.community_id == community_id, Evaluation.period == period)
    row = db.session.scalar(select(Evaluation).where(*key).with_for_update())
    created = row is None
    if created:
        try:
            with savepoint(db.session):
                row = Evaluation(user_id=user_id, community_id=community_id, period=period, rating=rating,
                                 comment=comment, version=1, created_by_id=actor.id, updated_by_id=actor.id)
                db.session.add(row)
        except IntegrityError:  # a concurrent first rating won: update it instead
            created = False
            row = db.session.scalar(select(Evaluation).where(*key).with_for_update())
    before = {} if created else _snapshot(row)
    if not created:
        if row.rating == rating and row.comment == comment:
            return row, False  # nothing changed: no new version
        row.rating, row.comment, row.version = rating, comment, row.version + 1
        row.updated_by_id, row.updated_at = actor.id, utcnow()
    db.session.flush()
    db.session.add(EvaluationVersion(evaluation_id=row.id, version=row.version, rating=rating,
                                     comment=comment, actor_id=actor.id, at=row.updated_at))
    db.session.flush()
    record(actor.id, "evaluation." + ("create" if created else "update"), "evaluation", row.id,
           before=before, after={"user_id": user_id, "period": period, **_snapshot(row)},
           community_id=community_id)
    return row, created


def community_evaluations(actor: User, community_id: int, period: str | None = None):
    """A select() of the community's evaluations (staff, its street_admin, admin), for paging."""
    policy.require_community_reader(actor, community_id)
    q = select(Evaluation).where(Evaluation.community_id == community_id)
    if period:
        q = q.where(Evaluation.period == check_quarter(period))
    return q


def evaluation_history(actor: User, evaluation_id: int) -> list[EvaluationVersion]:
    """Every version of an evaluation, oldest first (readers of its community)."""
    e = db.session.get(Evaluation, evaluation_id)
    if e is None:
        raise NotFound("评价不存在")
    policy.require_community_reader(actor, e.community_id)
    return list(db.session.scalars(select(EvaluationVersion).where(
        EvaluationVersion.evaluation_id == e.id).order_by(EvaluationVersion.version)))


def describe(rows: list[Evaluation]) -> list[dict]:
    """Evaluations with the member's name and whether they are locked (two statements)."""
    from backend.reports.models import APPROVED, MemberReport

    users = {e.user_id for e in rows}
    reports = {r.user_id: r for r in db.session.execute(select(
        MemberReport.user_id, MemberReport.name, MemberReport.unit_id).where(
        MemberReport.user_id.in_(users or {-1}), MemberReport.status == APPROVED))}
    issued = set(db.session.execute(select(FeedbackIssue.unit_id, FeedbackIssue.period).where(
        FeedbackIssue.unit_id.in_({r.unit_id for r in reports.values()} or {-1}))).all())
    out = []
    for e in rows:
        r = reports.get(e.user_id)
        out.append({"id": e.id, "user_id": e.user_id, "name": r.name if r else None, "community_id": e.community_id,
                    "period": e.period, "rating": e.rating, "comment": e.comment, "version": e.version,
                    "updated_at": e.updated_at, "locked": bool(r and (r.unit_id, e.period) in issued)})
    return out


def issue_units(unit_ids: list[int], period: str, *, actor: User | None = None,
                now: datetime | None = None) -> list[FeedbackIssue]:
    """Issue the feedback of several units for a quarter, each once: lock their evaluations,
    notify their unit_admins. Figures for the whole batch come from one set of aggregate
    queries. Returns the newly issued rows (units already issued are skipped)."""
    check_quarter(period)
    done = set(db.session.scalars(select(FeedbackIssue.unit_id).where(
        FeedbackIssue.unit_id.in_(unit_ids), FeedbackIssue.period == period)))
    # lock the units (in id order): an evaluation being edited for their members finishes first,
    # one not yet started will find the issue and be refused. NO KEY UPDATE: rows referencing a
    # unit (reports, grants) may still be inserted meanwhile (their FOR KEY SHARE does not conflict)
    units = [u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.id)
                                           .with_for_update(key_share=True))
             if u.id not in done]
    if not units:
        return []
    ids = [u.id for u in units]
    items = unit_feedback.members(ids)
    unit_feedback.attach_figures(items, period, {i["user_id"] for i in items if i["user_id"]})
    per_unit: dict[int, list[dict]] = {}
    for i in items:
        per_unit.setdefault(i["unit_id"], []).append(i)
    admins: dict[int, list[int]] = {}
    for uid, unit_id in db.session.execute(select(RoleGrant.user_id, RoleGrant.unit_id).where(
            RoleGrant.role == "unit_admin", RoleGrant.revoked_at.is_(None), RoleGrant.unit_id.in_(ids))):
        admins.setdefault(unit_id, []).append(uid)
    now = now or utcnow()
    summaries = {u.id: unit_feedback.counts(per_unit.get(u.id, [])) for u in units}
    # one statement for the batch; a unit issued concurrently in the meantime is skipped, not doubled
    insert = (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)
    stmt = insert(FeedbackIssue).values([
        {"unit_id": u.id, "period": period, "issued_at": now, "issued_by_id": actor.id if actor else None,
         "summary": summaries[u.id]} for u in units
    ]).on_conflict_do_nothing(index_elements=["unit_id", "period"]).returning(FeedbackIssue.id, FeedbackIssue.unit_id)
    new_ids = dict((unit_id, issue_id) for issue_id, unit_id in db.session.execute(stmt))
    if not new_ids:
        return []
    issued = [u for u in units if u.id in new_ids]
    # every unit_admin of the batch in one multi-row INSERT (and one of send jobs), not 3 per admin
    notify_many([{"user_id": uid, "kind": "feedback_ready", "ref_type": "feedback_issue", "ref_id": new_ids[u.id],
                  "data": {"unit": u.name, "unit_id": u.id, "period": period,
                           "members": summaries[u.id]["total"], "at": now}}
                 for u in issued for uid in admins.get(u.id, [])])
    if actor is not None:
        for u in issued:
            record(actor.id, "feedback.issue", "unit", u.id, after={"period": period, **summaries[u.id]},
                   street_id=u.street_id)
    return list(db.session.scalars(select(FeedbackIssue).where(FeedbackIssue.id.in_(new_ids.values()))
                                   .order_by(FeedbackIssue.unit_id)))


def issue_feedback(unit_id: int, period: str, *, actor: User | None = None,
                   now: datetime | None = None) -> FeedbackIssue | None:
    """Issue one unit's feedback for a quarter; None when it was already issued."""
    policy.unit(unit_id)
    issued = issue_units([unit_id], period, actor=actor, now=now)
    return issued[0] if issued else None


def issue_for_actor(actor: User, unit_id: int, period: str) -> FeedbackIssue:
    """A street_admin of the unit's street (or admin) issues its feedback ahead of the schedule."""
    unit = policy.unit(unit_id)
    if unit.street_id is None:
        policy.require_admin(actor)
    else:
        policy.require_street_admin(actor, unit.street_id)
    issue = issue_feedback(unit_id, period, actor=actor)
    if issue is None:
        raise InvalidState("该季度的单位反馈已下发")
    return issue
