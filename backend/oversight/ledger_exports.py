"""台账 exports of a community or a whole street, built by the feedback export machinery.

Each (kind, format) is one registered exporter, "ledger_<kind>_<format>". The worker streams the
rows (yield_per, a server-side cursor on PostgreSQL) into openpyxl's write-only workbook or a
csv written row by row (UTF-8 with BOM, so Excel reads the Chinese), so memory stays bounded
whatever the row count. Phones are masked unless the exporter is staff of the community the
member reported to (for households: the household's community, whose address is masked alike).
"""
from __future__ import annotations

import csv
from datetime import datetime

from sqlalchemy import func, select

from backend.auth import policy
from backend.auth.models import User
from backend.clock import TZ
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.feedback import exportjobs
from backend.feedback.models import ExportJob
from backend.orgs.models import Community, Street
from backend.oversight.ledger_sheets import SHEETS
from backend.oversight.sqltime import period_bounds

KINDS = tuple(SHEETS)
FORMATS = ("xlsx", "csv")
CHUNK = 2000
PROGRESS_EVERY = 5000
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def kind_name(kind: str, fmt: str) -> str:
    return f"ledger_{kind}_{fmt}"


def authorize(user: User, scope_type: str, scope_id: int | None) -> None:
    """Community: its staff, its street_admin, admin. Street: its street_admin, admin."""
    if scope_type == "community":
        policy.require_community_reader(user, scope_id)
    elif scope_type == "street":
        if db.session.get(Street, scope_id) is None:
            raise NotFound("街道不存在")
        policy.require_street_admin(user, scope_id)
    else:
        raise ValidationFailed(details={"scope": ["不支持的导出范围"]})


def check(kind: str, fmt: str, period: str | None) -> None:
    """422 with per-field details for an unknown kind or format or a malformed period."""
    details = {}
    if kind not in KINDS:
        details["kind"] = ["导出类型应为：" + "、".join(KINDS)]
    if fmt not in FORMATS:
        details["format"] = ["格式应为 xlsx 或 csv"]
    if period is not None:
        try:
            period_bounds(period)
        except ValidationFailed:
            details["period"] = ["格式应为 2026-11、2026-Q4 或 2026"]
    if details:
        raise ValidationFailed(details=details)


def start(user: User, scope_type: str, scope_id: int, *, kind: str, fmt: str, period: str | None = None) -> ExportJob:
    """Queue a 台账 export of a community or a street (job row, audit row, outbox job)."""
    check(kind, fmt, period)
    return exportjobs.start_export(kind_name(kind, fmt), (scope_type, scope_id),
                                   {"kind": kind, "format": fmt, "period": period}, user)


def _scope(job: ExportJob) -> tuple[list[int], str]:
    """(community ids, scope name) of a job."""
    if job.scope_type == "community":
        c = db.session.get(Community, job.scope_id)
        return ([c.id], c.name) if c else ([], "")
    street = db.session.get(Street, job.scope_id)
    cids = list(db.session.scalars(select(Community.id).where(Community.street_id == job.scope_id)
                                   .order_by(Community.id)))
    return cids, street.name if street else ""


def _shown(requester_id: int | None) -> set[int]:
    """Communities whose members' phones this exporter sees in full: where they are staff."""
    user = db.session.get(User, requester_id) if requester_id else None
    return policy.scopes(user, "staff", "community_id") if user else set()


def _safe(value):
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(_RISKY):
        return "'" + value
    return value


class _Xlsx:
    def __init__(self, path: str, title: str, headers: list[str]):
        from openpyxl import Workbook

        self.path, self.wb = path, Workbook(write_only=True)
        self.ws = self.wb.create_sheet(title)
        self.ws.freeze_panes = "A2"
        self.ws.append(headers)

    def write(self, cells: list) -> None:
        self.ws.append([_safe(c) for c in cells])

    def close(self, about: list[list]) -> None:
        info = self.wb.create_sheet("说明")
        for row in about:
            info.append(row)
        self.wb.save(self.path)


class _Csv:
    def __init__(self, path: str, title: str, headers: list[str]):
        self.fh = open(path, "w", encoding="utf-8-sig", newline="")
        self.out = csv.writer(self.fh)
        self.out.writerow(headers)

    def write(self, cells: list) -> None:
        self.out.writerow([_safe(c) for c in cells])

    def close(self, about: list[list]) -> None:
        self.fh.close()


def build(job: ExportJob, path: str, progress) -> str:
    """Write the file at path, CHUNK rows at a time; returns the download name."""
    kind, fmt, period = job.params["kind"], job.params["format"], job.params.get("period")
    sheet = SHEETS[kind]
    start, end = period_bounds(period) if period and sheet.uses_period else (None, None)
    cids, scope_name = _scope(job)
    shown = _shown(job.requester_id)
    query = sheet.query(cids or [-1], start, end)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    writer = (_Xlsx if fmt == "xlsx" else _Csv)(path, sheet.title, sheet.headers)
    n = 0
    try:
        for row in db.session.execute(query.execution_options(yield_per=CHUNK, stream_results=True)):
            writer.write(sheet.row(row, shown))
            n += 1
            if n % PROGRESS_EVERY == 0:
                progress(min(99, 100 * n // max(1, total)))
    finally:
        writer.close([["台账", sheet.title], ["范围", scope_name], ["期间", period or "全部"],
                      ["行数", n], ["生成时间", datetime.now(TZ).strftime("%Y-%m-%d %H:%M")],
                      ["说明", "手机号（及联系家庭的地址）仅对所在社区的工作人员完整显示，其余已脱敏"]])
    return f"{scope_name}-{sheet.title}-{period or '全部'}.{fmt}"


for _kind in KINDS:
    for _fmt in FORMATS:
        exportjobs.register(kind_name(_kind, _fmt), authorize=authorize, build=build, suffix=_fmt,
                            content_type=exportjobs.XLSX if _fmt == "xlsx" else exportjobs.CSV, personal=True)
