"""What each 台账 holds: headers, one streaming query per kind, and how a row becomes cells.

A sheet's query(cids, start, end) selects the rows of the scope's communities (start/end None:
no period); row(r, shown) turns one result row into cells, where shown is the set of communities
whose members' phones the exporter may see in full (staff of the member's own community)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from backend.attendance.models import Attendance
from backend.auth.models import User
from backend.clock import TZ
from backend.orgs.models import Community, Grid, Unit
from backend.oversight.sqltime import dialect
from backend.partywork.common import mask_address, mask_phone
from backend.partywork.models_households import LINK_ACTIVE, Household, HouseholdLink, Visit
from backend.partywork.models_meetings import Meeting, MeetingAttendee
from backend.reports.models import APPROVED, MemberReport
from backend.tasks.models import Task
from backend.timebank.models import Account, Transfer

STATUS = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回", "closed": "已关闭",
          "open": "进行中", "cancelled": "已取消", "checked_in": "已签到", "checked_out": "已签退",
          "absent": "缺勤", "expected": "缺席", "present": "出席", "leave": "请假"}
SOURCE = {"scan": "扫码签到", "manual": "人工补录"}
KIND = {"earn": "获得", "redeem": "兑换", "donate": "转赠", "reverse": "冲正", "expire": "过期", "adjust": "调整",
        "close": "注销清零"}
ACCOUNT = {"issuance": "积分发放账户", "rewards": "爱心超市账户", "expiry": "积分过期账户"}


def t(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _in_period(column, start, end):
    return and_(column >= start, column < end) if start is not None else True


def _phone(phone, community_id, shown) -> str:
    if not phone:
        return ""
    return phone if community_id in shown else mask_phone(phone)


def _person():
    return func.coalesce(User.name, User.nickname)


def _agg(column, sep: str = "、"):
    return func.string_agg(column, sep) if dialect() == "postgresql" else func.group_concat(column, sep)


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: list[str]
    query: Callable
    row: Callable
    uses_period: bool = True


def _approved():
    """Each person's approved report (their own community and phone)."""
    return aliased(MemberReport, select(MemberReport).where(MemberReport.status == APPROVED).subquery())


def members_q(cids, start, end):
    return (select(Community.name, MemberReport.name, MemberReport.phone, MemberReport.community_id, Unit.name,
                   Grid.name, MemberReport.skills, MemberReport.skills_other, MemberReport.decided_at,
                   MemberReport.user_id)
            .join(Community, Community.id == MemberReport.community_id).join(Unit, Unit.id == MemberReport.unit_id)
            .outerjoin(Grid, Grid.id == MemberReport.grid_id)
            .where(MemberReport.community_id.in_(cids), MemberReport.status == APPROVED)
            .order_by(MemberReport.community_id, MemberReport.id))


def members_row(r, shown):
    skills = "、".join(list(r[6] or []) + ([r[7]] if r[7] else []))
    return [r[0], r[1], _phone(r[2], r[3], shown), r[4], r[5] or "", skills, t(r[8]), r[9]]


def reports_q(cids, start, end):
    return (select(Community.name, MemberReport.name, MemberReport.phone, MemberReport.community_id, Unit.name,
                   MemberReport.status, MemberReport.created_at, MemberReport.decided_at, MemberReport.reason,
                   MemberReport.id)
            .join(Community, Community.id == MemberReport.community_id).join(Unit, Unit.id == MemberReport.unit_id)
            .where(MemberReport.community_id.in_(cids), _in_period(MemberReport.created_at, start, end))
            .order_by(MemberReport.id))


def reports_row(r, shown):
    return [r[9], r[0], r[1], _phone(r[2], r[3], shown), r[4], STATUS.get(r[5], r[5]), t(r[6]), t(r[7]), r[8] or ""]


def tasks_q(cids, start, end):
    return (select(Task.id, Community.name, Task.title, Task.category, Task.starts_at, Task.ends_at,
                   Task.location_name, Task.capacity, Task.claimed_count, Task.points_per_hour, Task.status,
                   Task.cancel_reason)
            .join(Community, Community.id == Task.community_id)
            .where(Task.community_id.in_(cids), _in_period(Task.starts_at, start, end)).order_by(Task.starts_at, Task.id))


def tasks_row(r, shown):
    return [r[0], r[1], r[2], r[3], t(r[4]), t(r[5]), r[6], r[7], r[8], r[9], STATUS.get(r[10], r[10]), r[11] or ""]


def attendances_q(cids, start, end):
    own = _approved()
    return (select(Attendance.id, Community.name, Task.title, Task.starts_at, _person(), own.phone,
                   own.community_id, Attendance.status, Attendance.source, Attendance.checkin_at,
                   Attendance.checkout_at, Attendance.minutes, Attendance.points, Attendance.awarded_at,
                   Attendance.checkin_offline, Attendance.manual_reason)
            .join(Task, Task.id == Attendance.task_id).join(Community, Community.id == Attendance.community_id)
            .join(User, User.id == Attendance.user_id).outerjoin(own, own.user_id == Attendance.user_id)
            .where(Attendance.community_id.in_(cids), _in_period(Task.starts_at, start, end))
            .order_by(Task.starts_at, Attendance.id))


def attendances_row(r, shown):
    return [r[0], r[1], r[2], t(r[3]), r[4], _phone(r[5], r[6], shown), STATUS.get(r[7], r[7]),
            SOURCE.get(r[8], r[8]), t(r[9]), t(r[10]), r[11], r[12], t(r[13]), "是" if r[14] else "否", r[15] or ""]


def transfers_q(cids, start, end):
    accounts = select(Account.id).where(Account.community_id.in_(cids))
    da, ca, du, cu = aliased(Account), aliased(Account), aliased(User), aliased(User)
    dc, cc = aliased(Community), aliased(Community)
    return (select(Transfer.id, Transfer.created_at, Transfer.kind, Transfer.amount,
                   da.kind, dc.name, func.coalesce(du.name, du.nickname),
                   ca.kind, cc.name, func.coalesce(cu.name, cu.nickname),
                   Transfer.memo, Transfer.ref_type, Transfer.ref_id, Transfer.reverses_id,
                   Transfer.debit_balance_after, Transfer.credit_balance_after)
            .join(da, da.id == Transfer.debit_account_id).join(ca, ca.id == Transfer.credit_account_id)
            .outerjoin(du, du.id == da.user_id).outerjoin(cu, cu.id == ca.user_id)
            .outerjoin(dc, dc.id == da.community_id).outerjoin(cc, cc.id == ca.community_id)
            .where(or_(Transfer.debit_account_id.in_(accounts), Transfer.credit_account_id.in_(accounts)),
                   _in_period(Transfer.created_at, start, end))
            .order_by(Transfer.id))


def _account(kind, community, person) -> str:
    return person or "" if kind == "wallet" else f"{community}{ACCOUNT.get(kind, kind)}"


def transfers_row(r, shown):
    ref = f"{r[11]}#{r[12]}" if r[11] else ""
    return [r[0], t(r[1]), KIND.get(r[2], r[2]), r[3], _account(r[4], r[5], r[6]), _account(r[7], r[8], r[9]),
            r[10] or "", ref, r[13] or "", r[14], r[15]]


def households_q(cids, start, end):
    linked = (select(_agg(_person())).select_from(HouseholdLink).join(User, User.id == HouseholdLink.user_id)
              .where(HouseholdLink.household_id == Household.id, HouseholdLink.status == LINK_ACTIVE)
              .correlate(Household).scalar_subquery())
    last_visit = (select(func.max(Visit.visited_at)).where(Visit.household_id == Household.id)
                  .correlate(Household).scalar_subquery())
    return (select(Household.id, Community.name, Grid.name, Household.building, Household.address,
                   Household.head_name, Household.phone, Household.community_id, Household.tags, linked, last_visit)
            .join(Community, Community.id == Household.community_id).outerjoin(Grid, Grid.id == Household.grid_id)
            .where(Household.community_id.in_(cids)).order_by(Household.community_id, Household.id))


def households_row(r, shown):
    last = r[10]
    if isinstance(last, str):  # SQLite hands back a scalar subquery's time as text
        last = datetime.fromisoformat(last).replace(tzinfo=ZoneInfo("UTC"))
    address = r[4] if r[7] in shown else mask_address(r[4])  # private, as in the households API
    return [r[0], r[1], r[2] or "", r[3] or "", address, r[5], _phone(r[6], r[7], shown), "、".join(r[8] or []),
            r[9] or "", t(last)]


def meetings_q(cids, start, end):
    own = _approved()
    return (select(Meeting.id, Community.name, Meeting.kind, Meeting.title, Meeting.starts_at, Meeting.ends_at,
                   Meeting.location, _person(), own.phone, own.community_id, MeetingAttendee.expected,
                   MeetingAttendee.status, MeetingAttendee.checkin_at, MeetingAttendee.leave_reason)
            .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
            .join(Community, Community.id == Meeting.community_id)
            .join(User, User.id == MeetingAttendee.user_id).outerjoin(own, own.user_id == MeetingAttendee.user_id)
            .where(Meeting.community_id.in_(cids), _in_period(Meeting.starts_at, start, end))
            .order_by(Meeting.starts_at, Meeting.id, MeetingAttendee.id))


def meetings_row(r, shown):
    return [r[0], r[1], r[2], r[3], t(r[4]), t(r[5]), r[6], r[7], _phone(r[8], r[9], shown),
            "是" if r[10] else "否（列席）", STATUS.get(r[11], r[11]), t(r[12]), r[13] or ""]


SHEETS: dict[str, Sheet] = {
    "members": Sheet("党员名册", ["社区", "姓名", "手机号", "工作单位", "网格", "技能特长", "报到通过时间", "用户ID"],
                     members_q, members_row, uses_period=False),
    "reports": Sheet("报到记录", ["报到编号", "社区", "姓名", "手机号", "工作单位", "状态", "提交时间", "审核时间",
                                  "驳回理由"], reports_q, reports_row),
    "tasks": Sheet("志愿任务", ["任务编号", "社区", "任务", "类别", "开始时间", "结束时间", "地点", "名额", "已认领",
                                "每小时积分", "状态", "取消原因"], tasks_q, tasks_row),
    "attendances": Sheet("服务签到", ["编号", "社区", "任务", "任务开始", "姓名", "手机号", "状态", "记录方式",
                                      "签到时间", "签退时间", "服务时长（分钟）", "积分", "确认时间", "离线签到",
                                      "补录理由"], attendances_q, attendances_row),
    "transfers": Sheet("积分流水", ["流水号", "时间", "类型", "积分", "付出方", "收入方", "备注", "关联", "冲正流水号",
                                    "付出方余额", "收入方余额"], transfers_q, transfers_row),
    "households": Sheet("联系家庭", ["编号", "社区", "网格", "楼栋", "地址", "户主", "电话", "标签", "联系党员",
                                     "最近走访"], households_q, households_row, uses_period=False),
    "meetings": Sheet("三会一课", ["会议编号", "社区", "类型", "主题", "开始时间", "结束时间", "地点", "姓名", "手机号",
                                   "应到", "出勤", "签到时间", "请假理由"], meetings_q, meetings_row),
}
