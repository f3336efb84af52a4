"""The unit feedback workbook (.xlsx, openpyxl write-only): sheets 成员, 任务 and 说明."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.auth import policy
from backend.auth.models import User
from backend.clock import TZ
from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.feedback import exportjobs, figures
from backend.feedback.consents import UNIT_FEEDBACK
from backend.feedback.models import Consent, ExportJob
from backend.feedback.periods import check_quarter, quarter_bounds
from backend.feedback.unit_feedback import STATUS_LABELS, attach_figures, member_users, members
from backend.orgs.models import Street, Unit

KIND = "unit_feedback"
MEMBER_HEADERS = ["单位", "姓名", "手机号", "报到状态", "报到社区", "是否授权单位查看", "参与任务数",
                  "扫码服务时长（分钟）", "补录服务时长（分钟）", "服务总时长（分钟）", "获得积分", "社区评价", "评价意见"]
TASK_HEADERS = ["单位", "姓名", "服务日期", "服务社区", "任务", "服务时长（分钟）", "记录方式"]
SOURCES = {"scan": "扫码签到", "manual": "人工补录"}
NO_CONSENT = "未授权"
UNITS_PER_BATCH = 50


def authorize(user: User, scope_type: str, scope_id: int | None) -> None:
    """Unit scope: the unit's readers; street scope: its street_admin (or admin)."""
    if scope_type == "unit":
        policy.require_unit_reader(user, scope_id)
    elif scope_type == "street":
        if db.session.get(Street, scope_id) is None:
            raise NotFound("街道不存在")
        policy.require_street_admin(user, scope_id)
    else:
        raise ValidationFailed(details={"scope": ["不支持的导出范围"]})


def start(user: User, scope_type: str, scope_id: int, period: str) -> ExportJob:
    """Queue the feedback workbook of a unit, or of every unit of a street, for a quarter."""
    check_quarter(period)
    return exportjobs.start_export(KIND, (scope_type, scope_id), {"period": period}, user)


def _units(job: ExportJob) -> list[Unit]:
    if job.scope_type == "unit":
        return [u for u in [db.session.get(Unit, job.scope_id)] if u]
    return list(db.session.scalars(select(Unit).where(Unit.street_id == job.scope_id).order_by(Unit.id)))


def _member_row(unit_name: str, i: dict) -> list:
    head = [unit_name, i["name"], i["phone"], STATUS_LABELS.get(i["status"], i["status"]),
            i["community_name"] or "", "是" if i["consented"] else "否"]
    if not i["consented"]:
        return head + [NO_CONSENT] * 7
    evals = i["evaluations"] or []
    return head + [i["tasks_done"], i["scanned_minutes"], i["manual_minutes"], i["service_minutes"], i["points"],
                   "；".join(f"{e['community_name']}：{e['rating']}" for e in evals),
                   "；".join(e["comment"] for e in evals if e["comment"])]


def _sheet(wb, title: str, headers: list[str], widths: list[int]):
    ws = wb.create_sheet(title)
    for n, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + n)].width = w
    ws.freeze_panes = "A2"
    ws.append(headers)
    return ws


def build(job: ExportJob, path: str, progress) -> str:
    """Write the workbook to path; progress 0-60 members, 60-95 services, 100 when saved."""
    from openpyxl import Workbook

    period = job.params["period"]
    start, end = quarter_bounds(period)
    units = _units(job)
    unit_ids = [u.id for u in units]
    wb = Workbook(write_only=True)
    members_ws = _sheet(wb, "成员", MEMBER_HEADERS, [20, 10, 14, 10, 16, 10, 10, 12, 12, 12, 10, 20, 30])
    tasks_ws = _sheet(wb, "任务", TASK_HEADERS, [20, 10, 12, 16, 30, 12, 10])
    owner: dict[int, tuple[str, str]] = {}  # consented user -> (unit name, member name)
    for b in range(0, len(units), UNITS_PER_BATCH):
        batch = units[b:b + UNITS_PER_BATCH]
        names = {u.id: u.name for u in batch}
        items = attach_figures(members([u.id for u in batch]), period, member_users([u.id for u in batch]))
        for i in items:
            members_ws.append(_member_row(names[i["unit_id"]], i))
            if i["consented"]:
                owner.setdefault(i["user_id"], (names[i["unit_id"]], i["name"]))
        progress(60 * (b + len(batch)) // max(1, len(units)))
    progress(60)
    agreed = select(Consent.user_id).where(Consent.purpose == UNIT_FEEDBACK, Consent.granted.is_(True),
                                           Consent.user_id.in_(member_users(unit_ids or [-1])))
    total = db.session.scalar(select(func.count()).select_from(
        figures.counted_services(agreed, start, end).subquery())) or 0
    for n, (uid, when, community, title, minutes, source, _) in enumerate(
            figures.service_rows(agreed, start, end), 1):
        if n % 1000 == 0:
            progress(60 + 35 * n // max(1, total))
        if uid not in owner:  # consented, but not to these units (a roster or old report names them)
            continue
        unit_name, name = owner[uid]
        tasks_ws.append([unit_name, name, when.astimezone(TZ).strftime("%Y-%m-%d"), community, title, minutes,
                         SOURCES.get(source, source)])
    progress(95)
    scope = units[0].name if job.scope_type == "unit" and units else (
        db.session.get(Street, job.scope_id).name if job.scope_type == "street" else "")
    about = wb.create_sheet("说明")
    for row in (["党员社区表现反馈", scope], ["统计期间", period],
                ["生成时间", utcnow().astimezone(TZ).strftime("%Y-%m-%d %H:%M")],
                ["说明", "未授权单位查看的党员仅显示报到状态（《个人信息保护法》第二十三条）；手机号已脱敏"]):
        about.append(row)
    wb.save(path)
    return f"{scope}-{period}-党员社区表现反馈.xlsx"


exportjobs.register(KIND, authorize=authorize, build=build)
