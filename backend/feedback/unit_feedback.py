"""党员社区表现反馈: a unit's members for a period, with their figures when they consented.

Members of a unit are the people on its roster (matched to reports by phone) and the people
whose report names the unit. Without consent to `unit_feedback` a unit sees only the report
status and community (PIPL Art. 23); the consent is to the person's own unit, the one their
report names, so a unit that only lists them (roster, a rejected or old report) never sees more.
Everything is loaded with a fixed number of statements, whatever the number of members."""
from __future__ import annotations

from sqlalchemy import or_, select, union

from backend.extensions import db
from backend.feedback import figures
from backend.feedback.consents import UNIT_FEEDBACK, consented
from backend.feedback.models import Consent, FeedbackIssue
from backend.feedback.periods import check_quarter, quarter_bounds
from backend.orgs.models import Community, Unit
from backend.reports.models import APPROVED, CLOSED, PENDING, REJECTED, MemberReport, UnitMember
from backend.reports.roster import mask_phone

NOT_REPORTED = "not_reported"
STATUS_LABELS = {APPROVED: "已报到", PENDING: "待审核", REJECTED: "已驳回", NOT_REPORTED: "未报到"}
_RANK = {APPROVED: 3, PENDING: 2, REJECTED: 1}
GATED = ("tasks_done", "scanned_minutes", "manual_minutes", "service_minutes", "points", "evaluations")


def _roster_phones(unit_ids: list[int]):
    return select(UnitMember.phone).where(UnitMember.unit_id.in_(unit_ids), UnitMember.removed_at.is_(None))


def _report_condition(unit_ids: list[int]):
    return (MemberReport.status != CLOSED) & or_(MemberReport.unit_id.in_(unit_ids),
                                                 MemberReport.phone.in_(_roster_phones(unit_ids)))


def member_users(unit_ids: list[int]):
    """A select of the user ids of the units' members (for aggregate queries)."""
    return union(
        select(MemberReport.user_id).where(_report_condition(unit_ids)),
        select(UnitMember.user_id).where(UnitMember.unit_id.in_(unit_ids), UnitMember.removed_at.is_(None),
                                         UnitMember.user_id.is_not(None)),
    )


def _better(a, b):
    if a is None:
        return b
    return b if (_RANK[b.status], b.id) > (_RANK[a.status], a.id) else a


def members(unit_ids: list[int]) -> list[dict]:
    """The units' members in order (per unit: roster by id, then reporters not on the roster):
    {unit_id, unit_member_id, on_roster, user_id, shares, name, phone (masked), status, community_id,
    community_name, report_id}; shares: the unit is the person's own (their consent may apply)."""
    reports = db.session.execute(
        select(MemberReport.id, MemberReport.user_id, MemberReport.unit_id, MemberReport.community_id,
               MemberReport.name, MemberReport.phone, MemberReport.status)
        .where(_report_condition(unit_ids))).all()
    by_phone, by_unit_user = {}, {}
    for r in reports:
        by_phone[r.phone] = _better(by_phone.get(r.phone), r)
        if r.unit_id in unit_ids:
            key = (r.unit_id, r.user_id)
            by_unit_user[key] = _better(by_unit_user.get(key), r)
    roster = db.session.execute(
        select(UnitMember.id, UnitMember.unit_id, UnitMember.name, UnitMember.phone, UnitMember.user_id)
        .where(UnitMember.unit_id.in_(unit_ids), UnitMember.removed_at.is_(None))
        .order_by(UnitMember.unit_id, UnitMember.id)).all()
    names = dict(db.session.execute(select(Community.id, Community.name).where(
        Community.id.in_({r.community_id for r in reports} or {-1}))).all())
    # the unit a person's approved report names, for those seen here through another report
    approved_unit = dict(db.session.execute(select(MemberReport.user_id, MemberReport.unit_id).where(
        MemberReport.user_id.in_({r.user_id for r in reports if r.status != APPROVED} or {-1}),
        MemberReport.status == APPROVED)).all())

    def item(unit_id, um, r):
        user_id = (um.user_id if um else None) or (r.user_id if r else None)
        # consent to unit_feedback shares with the person's own unit: the one their report names
        # (a roster is typed in by the unit, a rejected or pending report may name a unit they left)
        shares = (r is not None and r.user_id == user_id and r.unit_id == unit_id
                  and approved_unit.get(r.user_id, unit_id) == unit_id)
        return {"unit_id": unit_id, "unit_member_id": um.id if um else None, "on_roster": um is not None,
                "user_id": user_id, "shares": shares,
                "name": um.name if um else r.name, "phone": mask_phone(um.phone if um else r.phone),
                "status": r.status if r else NOT_REPORTED, "report_id": r.id if r else None,
                "community_id": r.community_id if r else None,
                "community_name": names.get(r.community_id) if r else None}

    roster_of, reporters_of = {}, {}
    for um in roster:
        roster_of.setdefault(um.unit_id, []).append(um)
    for (unit_id, _), r in by_unit_user.items():
        reporters_of.setdefault(unit_id, []).append(r)
    out = []
    for unit_id in unit_ids:
        rows = [item(unit_id, um, by_phone.get(um.phone)) for um in roster_of.get(unit_id, [])]
        phones = {um.phone for um in roster_of.get(unit_id, [])}
        users = {i["user_id"] for i in rows if i["user_id"]}
        extra = sorted(reporters_of.get(unit_id, []), key=lambda r: r.id)
        rows += [item(unit_id, None, r) for r in extra if r.phone not in phones and r.user_id not in users]
        out += rows
    return out


def attach_figures(items: list[dict], period: str, users) -> list[dict]:
    """Add consented and, when consented, the period's figures to each item (in place)."""
    start, end = quarter_bounds(period)
    agreed = set(db.session.scalars(consented(UNIT_FEEDBACK).where(figures._among(Consent.user_id, users))))
    services = figures.service_totals(users, start, end)
    points = figures.points_earned(users, start, end)
    evaluations = figures.evaluations_of(users, period)
    for i in items:
        uid = i["user_id"]
        i["consented"] = uid is not None and uid in agreed and i.get("shares", True)
        if not i["consented"]:
            i.update({k: None for k in GATED})
            continue
        s = services.get(uid, {"tasks_done": 0, "scanned_minutes": 0, "manual_minutes": 0})
        i.update(s, service_minutes=s["scanned_minutes"] + s["manual_minutes"], points=points.get(uid, 0),
                 evaluations=evaluations.get(uid, []))
    return items


def counts(items: list[dict]) -> dict:
    out = {"total": len(items), "reported": 0, "pending": 0, "rejected": 0, "not_reported": 0, "consented": 0}
    for i in items:
        out[{APPROVED: "reported"}.get(i["status"], i["status"])] += 1
        out["consented"] += bool(i.get("consented"))
    return out


def issue_of(unit_id: int, period: str) -> FeedbackIssue | None:
    return db.session.scalar(select(FeedbackIssue).where(FeedbackIssue.unit_id == unit_id,
                                                         FeedbackIssue.period == period))


def unit_feedback(unit_id: int, period: str, *, offset: int = 0, limit: int | None = None) -> dict:
    """The unit's feedback for a quarter: {"unit_id", "unit_name", "period", "issued_at", "counts",
    "items", "next_cursor"}; a page (offset/limit) computes figures for its own people only."""
    check_quarter(period)
    unit = db.session.get(Unit, unit_id)
    everyone = members([unit_id])
    page = everyone[offset:offset + limit] if limit else everyone[offset:]
    if limit:
        attach_figures(page, period, {i["user_id"] for i in page if i["user_id"]})
        agreed = set(db.session.scalars(consented(UNIT_FEEDBACK).where(
            Consent.user_id.in_(member_users([unit_id])))))
        summary = counts(everyone)
        summary["consented"] = sum(1 for i in everyone if i["shares"] and i["user_id"] in agreed)
    else:
        attach_figures(page, period, member_users([unit_id]))
        summary = counts(page)
    more = limit is not None and offset + limit < len(everyone)
    issue = issue_of(unit_id, period)
    return {"unit_id": unit_id, "unit_name": unit.name if unit else None, "period": period,
            "issued_at": issue.issued_at if issue else None, "counts": summary, "items": page,
            "next_cursor": str(offset + limit) if more else None}
