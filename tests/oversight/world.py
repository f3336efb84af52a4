"""A hand-built world for the dashboard and exports: every row placed on purpose, period 2026-Q4.

The figures it should give are listed in EXPECTED (and derived in the comments)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import update

from backend.attendance.models import CHECKED_IN, CHECKED_OUT, SOURCE_MANUAL, Attendance
from backend.auth.models import RoleGrant
from backend.auth.services import grant_role
from backend.extensions import db
from backend.orgs import services as orgs
from backend.partywork.models_duty import DutyHolder, DutyLog, DutyPost
from backend.partywork.models_households import Household, HouseholdLink, Visit
from backend.partywork.models_meetings import LEAVE, PRESENT, Meeting, MeetingAttendee
from backend.partywork.models_misc import NEED_DONE, CommunityNeed
from backend.reports.models import APPROVED, PENDING, MemberReport, UnitMember, UnitReport
from backend.seed import user_for
from backend.tasks.models import TASK_CANCELLED, Task, TaskClaim
from backend.timebank import earn
from backend.timebank.accounts import community_accounts, ensure_wallet
from backend.timebank.service import reverse, transfer
from backend.wishes.models import APPROVED as WISH_APPROVED
from backend.wishes.models import DONE, Wish

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=TZ)
PERIOD = "2026-Q4"


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ).astimezone(timezone.utc)


# What the dashboards must show for 2026-Q4 as of NOW.
EXPECTED_C1 = {
    # c1 lists u1 (named by reports: 4 live roster rows) and u3 (unit report: 2) = 6; P1, P2 approved = 2
    "report_rate": round(2 / 6, 4), "report_counts": {"reported": 2, "listed": 6},
    "members_active": 3,  # member (scan), member2 (manual entry, duty), x (walk-in at the meeting)
    "tasks": 1,  # T1; T2 cancelled, T4 in May
    "minutes_by_month": [{"month": "2026-10", "scanned": 0, "manual": 15},
                         {"month": "2026-11", "scanned": 120, "manual": 30},
                         {"month": "2026-12", "scanned": 0, "manual": 45}],
    "points_issued": 120,  # 120 + 30 earned, the 30 reversed
    "points_spent": 50,
    "wishes": {"posted": 3, "fulfilled": 2},
    "needs_fulfilled": 1,
    "meeting_attendance_rate": round(1 / 3, 4),  # member present, member2 on leave, quiet1 absent
    "quiet_members": 1,  # quiet1; newbie joined too recently
    "top_units": [{"unit_id": None, "name": "一单位", "minutes": 210, "members": 2}],
}
EXPECTED_STREET = {
    "report_rate": 0.5, "report_counts": {"reported": 3, "listed": 6},  # u1 (4) + u3 (2); P1, P2, P3
    "members_active": 3,  # x counted once though active in c1 and c2
    "tasks": 2,
    "minutes_by_month": [{"month": "2026-10", "scanned": 0, "manual": 15},
                         {"month": "2026-11", "scanned": 120, "manual": 30},
                         {"month": "2026-12", "scanned": 60, "manual": 45}],
    "points_issued": 180, "points_spent": 50,
    "wishes": {"posted": 3, "fulfilled": 2}, "needs_fulfilled": 1,
    "meeting_attendance_rate": round(1 / 3, 4), "quiet_members": 1,
    "top_units": [{"unit_id": None, "name": "一单位", "minutes": 270, "members": 3}],
}


def _task(c, title, starts, ends, status="open", pph=60):
    t = Task(community_id=c.id, title=title, starts_at=starts, ends_at=ends, capacity=10, points_per_hour=pph,
             status=status, location_name="活动室", category="环境")
    db.session.add(t)
    db.session.flush()
    return t


def _attend(task, user, **kw):
    claim = TaskClaim(task_id=task.id, user_id=user.id)
    db.session.add(claim)
    db.session.flush()
    a = Attendance(task_id=task.id, user_id=user.id, claim_id=claim.id, community_id=task.community_id, **kw)
    db.session.add(a)
    db.session.flush()
    return a


def build(city) -> SimpleNamespace:
    """Rows for 2026-Q4 in c1 and c2 (street) and c3 (other street); commits."""
    c1, c2, c3, u1 = city.c1, city.c2, city.c3, city.u1
    with time_machine.travel(at(2026, 1, 10), tick=False) as clock:
        u3 = orgs.create_unit("三单位", "企业", street_id=city.other_street.id)
        x = user_for("x", name="x")
        quiet1 = user_for("quiet1", name="quiet1")
        grant_role(None, x.id, "member", community_id=c2.id)
        grant_role(None, quiet1.id, "member", community_id=c1.id)
        db.session.execute(update(RoleGrant).where(RoleGrant.role == "member").values(created_at=at(2026, 1, 5)))
        roster = [("成员一", "13800000001"), ("成员二", "13800000002"), ("成员三", "13800000003"),
                  ("成员四", "13800000004")]
        for name, phone in roster:
            db.session.add(UnitMember(unit_id=u1.id, name=name, phone=phone))
        db.session.add(UnitMember(unit_id=u1.id, name="离职", phone="13800000009", removed_at=at(2026, 1, 9)))
        db.session.add_all([UnitMember(unit_id=u3.id, name="甲", phone="13900000001"),
                            UnitMember(unit_id=u3.id, name="乙", phone="13900000002")])
        db.session.add(UnitReport(unit_id=u3.id, community_id=c1.id, status=APPROVED))
        reports = [(city.member, c1, "13800000001", APPROVED, "张三"), (city.member2, c1, "13800000002", APPROVED, "李四"),
                   (x, c2, "13800000003", APPROVED, "王五"), (quiet1, c1, "13800000004", PENDING, "赵六")]
        for user, c, phone, status, name in reports:
            db.session.add(MemberReport(user_id=user.id, community_id=c.id, unit_id=u1.id, name=name, phone=phone,
                                        status=status, skills=["驾驶"], decided_at=at(2026, 1, 6)))
        db.session.commit()

        clock.move_to(at(2026, 11, 1))
        newbie = user_for("newbie", name="newbie")
        grant_role(None, newbie.id, "member", community_id=c1.id)
        # tasks
        t1 = _task(c1, "清扫楼道", at(2026, 11, 10, 9), at(2026, 11, 10, 11))
        _task(c1, "取消的任务", at(2026, 10, 5), at(2026, 10, 5, 12), status=TASK_CANCELLED)
        t3 = _task(c2, "义诊", at(2026, 12, 1, 10), at(2026, 12, 1, 11))
        t4 = _task(c1, "上半年", at(2026, 5, 30, 9), at(2026, 5, 30, 10))
        a1 = _attend(t1, city.member, status=CHECKED_OUT, checkin_at=at(2026, 11, 10, 9),
                     checkout_at=at(2026, 11, 10, 11), minutes=120, awarded_at=at(2026, 11, 11), points=120)
        a2 = _attend(t1, city.member2, status=CHECKED_OUT, source=SOURCE_MANUAL, manual_reason="忘记扫码",
                     minutes=30, awarded_at=at(2026, 11, 11), points=30)
        a3 = _attend(t3, x, status=CHECKED_OUT, checkin_at=at(2026, 12, 1, 10), checkout_at=at(2026, 12, 1, 11),
                     minutes=60, awarded_at=at(2026, 12, 2), points=60)
        _attend(t4, quiet1, status=CHECKED_IN, checkin_at=at(2026, 5, 30, 9))  # before the quiet cutoff, not confirmed
        # points
        clock.move_to(at(2026, 11, 11))
        earn.award(db.session, community_id=c1.id, actor_id=city.staff1.id, entries=[
            {"user_id": city.member.id, "amount": 120, "ref_type": "attendance", "ref_id": a1.id, "memo": "清扫"},
            {"user_id": city.member2.id, "amount": 30, "ref_type": "attendance", "ref_id": a2.id, "memo": "补录"}])
        earn.award(db.session, community_id=c2.id, actor_id=city.staff2.id, entries=[
            {"user_id": x.id, "amount": 60, "ref_type": "attendance", "ref_id": a3.id, "memo": "义诊"}])
        from sqlalchemy import select

        from backend.timebank.models import Transfer
        t_member2 = db.session.scalar(select(Transfer.id).where(Transfer.idempotency_key == f"earn:attendance:{a2.id}"))
        clock.move_to(at(2026, 11, 20))
        reverse(db.session, transfer_id=t_member2, actor_id=city.staff1.id, reason="重复")
        transfer(db.session, debit_account_id=ensure_wallet(db.session, city.member.id),
                 credit_account_id=community_accounts(db.session, c1.id)["rewards"], amount=50, kind="redeem",
                 actor_id=city.member.id, idempotency_key="redeem-1", memo="兑换毛巾")
        # wishes: 3 posted in Q4 (one fulfilled), one posted in Q3 and fulfilled in Q4
        for title, created, status, done in (("轮椅", at(2026, 10, 2), DONE, at(2026, 11, 3)),
                                             ("读报", at(2026, 10, 3), WISH_APPROVED, None),
                                             ("理发", at(2026, 12, 1), WISH_APPROVED, None),
                                             ("旧愿", at(2026, 9, 1), DONE, at(2026, 10, 9)),
                                             ("别处", at(2026, 10, 1), WISH_APPROVED, None)):
            db.session.add(Wish(community_id=(c3 if title == "别处" else c1).id, user_id=city.resident.id,
                                title=title, type="物质", status=status, created_at=created, completed_at=done))
        db.session.add_all([CommunityNeed(community_id=c1.id, title="场地", status=NEED_DONE, completed_at=at(2026, 11, 5)),
                            CommunityNeed(community_id=c1.id, title="图书")])
        # meeting: member present, member2 on leave, quiet1 absent, x walked in
        m = Meeting(community_id=c1.id, kind="党课", title="十一月党课", starts_at=at(2026, 11, 1, 14),
                    ends_at=at(2026, 11, 1, 16), location="会议室")
        db.session.add(m)
        db.session.flush()
        db.session.add_all([
            MeetingAttendee(meeting_id=m.id, user_id=city.member.id, status=PRESENT, checkin_at=at(2026, 11, 1, 14)),
            MeetingAttendee(meeting_id=m.id, user_id=city.member2.id, status=LEAVE, leave_reason="出差"),
            MeetingAttendee(meeting_id=m.id, user_id=quiet1.id),
            MeetingAttendee(meeting_id=m.id, user_id=x.id, expected=False, status=PRESENT,
                            checkin_at=at(2026, 11, 1, 14, 5))])
        # duty log (member2, Dec) and a visit (member, Oct), both confirmed
        post = DutyPost(community_id=c1.id, name="楼栋长", seats=2)
        db.session.add(post)
        db.session.flush()
        holder = DutyHolder(post_id=post.id, user_id=city.member2.id, status="active")
        db.session.add(holder)
        db.session.flush()
        db.session.add(DutyLog(post_id=post.id, holder_id=holder.id, user_id=city.member2.id, community_id=c1.id,
                               date=date(2026, 12, 2), minutes=45, note="巡楼", status="confirmed"))
        h = Household(community_id=c1.id, address="幸福路1号3栋201", head_name="孙大爷", phone="13700001234",
                      tags=["独居老人"])
        db.session.add(h)
        db.session.flush()
        db.session.add(HouseholdLink(household_id=h.id, user_id=city.member.id, community_id=c1.id))
        db.session.add(Visit(household_id=h.id, user_id=city.member.id, community_id=c1.id,
                             visited_at=at(2026, 10, 20), minutes=15, note="量血压", status="confirmed"))
        db.session.commit()
    return SimpleNamespace(u3=u3, x=x, quiet1=quiet1, newbie=newbie, t1=t1, t3=t3, meeting=m, household=h, post=post)
