"""Demo party work in the first community: duty posts with holders and logs, households with
links and visits, a past meeting with attendance and an upcoming one, a quiet member (approved
long ago, never active) with a follow-up, and needs, one pledged by the first unit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from backend.auth.models import RoleGrant
from backend.db import utcnow
from backend.extensions import db
from backend.orgs.models import Grid
from backend.partywork import duty, households, meetings, needs, quiet
from backend.partywork.common import local_date
from backend.partywork.models_meetings import PRESENT, MeetingAttendee
from backend.reports import services as reports
from backend.reports.models import MemberReport
from backend.reports.units import unit_reported_to
from backend.seed import user_for


def _member(code: str, name: str, phone: str, community, unit, staff, days_ago: int = 0):
    """An approved member; days_ago backdates the approval (and the member role)."""
    user = user_for(code, name)
    report = reports.file_member_report(user, community_id=community.id, unit_id=unit.id,
                                        name=name[2:], phone=phone)
    reports.decide_member_report(staff, report.id, True)
    if days_ago:
        then = utcnow() - timedelta(days=days_ago)
        db.session.execute(update(MemberReport).where(MemberReport.id == report.id)
                           .values(created_at=then, decided_at=then))
        db.session.execute(update(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.role == "member")
                           .values(created_at=then))
    return user


def seed(ctx: dict) -> None:
    c1, u1 = ctx["communities"][0], ctx["units"][0]
    users = ctx["users"]
    staff, member, unit_admin = users["demo-staff"], users["demo-member"], users["demo-unit"]
    now = utcnow()
    grid = db.session.scalar(select(Grid).where(Grid.community_id == c1.id).order_by(Grid.id))
    sunli = _member("demo-member4", "党员孙丽", "13700000004", c1, u1, staff, days_ago=90)
    quiet_one = _member("demo-quiet", "党员周军", "13600000005", c1, u1, staff, days_ago=400)

    # Duty posts: demo-member is 楼栋长 since two months ago, with a confirmed and a pending log.
    leader = duty.create_post(staff, c1.id, name="楼栋长", duties="联系本楼居民，收集诉求，传达通知",
                              seats=1, grid_id=grid.id if grid else None, building="3栋", points_per_month=30)
    civility = duty.create_post(staff, c1.id, name="文明劝导岗", duties="劝导不文明行为，维护公共秩序",
                                seats=3, points_per_month=20)
    duty.create_post(staff, c1.id, name="党员先锋岗", duties="带头参加志愿服务", seats=5)
    holder = duty.apply_or_appoint(staff, leader.id, member.id)
    holder.applied_at = holder.started_at = holder.decided_at = now - timedelta(days=60)
    db.session.flush()
    done = duty.add_log(member, leader.id, date_=local_date(now - timedelta(days=5)), minutes=90,
                        note="检查楼道消防通道，清理杂物")
    duty.add_log(member, leader.id, date_=local_date(now - timedelta(days=1)), minutes=60, note="走访新住户")
    duty.confirm_logs(staff, c1.id, [done.id])
    duty.apply_or_appoint(sunli, civility.id)  # an application waiting for staff

    # Households: two looked after by demo-member (one visited and confirmed, one visited,
    # waiting for confirmation), one nobody has visited.
    h1 = households.create_household(staff, c1.id, address="幸福里小区3栋1单元201室", head_name="刘桂兰",
                                     building="3栋", phone="13912345678", tags=["孤寡老人"],
                                     grid_id=grid.id if grid else None, lat=30.5728, lng=114.2790)
    h2 = households.create_household(staff, c1.id, address="幸福里小区3栋2单元502室", head_name="陈建国",
                                     building="3栋", phone="13987654321", tags=["空巢", "残疾"])
    households.create_household(staff, c1.id, address="幸福里小区5栋1单元101室", head_name="王秀英",
                                building="5栋", tags=["低保", "困难家庭"])
    for h in (h1, h2):
        households.link(staff, h.id, member.id)
    v1 = households.add_visit(member, h1.id, visited_at=now - timedelta(days=10), minutes=60,
                              note="陪老人聊天，检查燃气和用电", lat=30.5729, lng=114.2791)
    households.add_visit(member, h2.id, visited_at=now - timedelta(days=2), minutes=45, note="帮忙代购药品")
    households.confirm_visits(staff, c1.id, [v1.id])

    # Meetings: a past 主题党日 (present, 请假, absent) and an upcoming 党课.
    past = meetings.create_meeting(staff, c1.id, kind="主题党日", title="学习贯彻全会精神主题党日",
                                   starts_at=now - timedelta(days=7), ends_at=now - timedelta(days=7, hours=-2),
                                   location="幸福里社区党群服务中心")
    row = db.session.scalar(select(MeetingAttendee).where(MeetingAttendee.meeting_id == past.id,
                                                          MeetingAttendee.user_id == member.id))
    row.status, row.checkin_at = PRESENT, past.starts_at + timedelta(minutes=3)
    meetings.mark_leave(staff, past.id, sunli.id, "外地出差")
    meetings.create_meeting(staff, c1.id, kind="党课", title="书记讲党课：新时代社区治理",
                            starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=1.5),
                            location="社区会议室")

    quiet.add_follow_up(staff, c1.id, quiet_one.id, "失联", "电话两次未接通，已请网格员上门")

    # 共驻共建: a need pledged by the first unit (reported to the community), one still open.
    health = needs.create_need(staff, c1.id, title="老年人健康义诊", category="医疗",
                               description="为辖区独居老人提供免费体检、义诊和健康讲座")
    needs.create_need(staff, c1.id, title="楼道照明维修", category="维修", description="3栋、5栋楼道灯损坏")
    needs.create_need(staff, c1.id, title="青少年暑期托管", category="教育", description="双职工家庭子女假期看护")
    if unit_reported_to(u1.id, c1.id):
        needs.pledge(unit_admin, health.id, unit_id=u1.id, resource="医疗义诊", note="每月第一个周六上午")
    db.session.flush()
