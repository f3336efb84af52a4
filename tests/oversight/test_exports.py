"""台账 exports: every kind in both formats through a real RQ worker, masking, 403/422, audit."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.auth.services import grant_role
from backend.extensions import db
from backend.oversight.ledger_sheets import SHEETS
from tests.helpers import error_code
from tests.jobs.util import run_worker
from tests.oversight import world

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def built(city):
    return world.build(city)


def export(client, app, headers, url, **body) -> tuple[dict, list[list], bytes]:
    """POST the export, run the worker, poll the job, download and parse the file."""
    resp = client.post(url, json=body, headers=headers)
    assert resp.status_code == 202, resp.get_json()
    job_id = resp.get_json()["job_id"]
    queued = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert queued["status"] == "queued" and queued["progress"] == 0
    run_worker(app)
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "finished" and status["progress"] == 100, status
    raw = client.get(status["result_url"], headers=headers)
    assert raw.status_code == 200
    data = raw.data
    if body["format"] == "csv":
        assert data.startswith(BOM)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        wb = load_workbook(io.BytesIO(data), read_only=True)
        assert wb.sheetnames == [SHEETS[body["kind"]].title, "说明"]
        rows = [[("" if v is None else v) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
    return status, rows, data


def col(rows, header):
    i = rows[0].index(header)
    return [r[i] for r in rows[1:]]


EXPECT = {  # c1, period 2026: what each kind must hold
    "members": ("姓名", ["张三", "李四"]),
    "reports": ("状态", ["已通过", "已通过", "待审核"]),
    "tasks": ("任务", ["上半年", "取消的任务", "清扫楼道"]),
    "attendances": ("记录方式", ["扫码签到", "扫码签到", "人工补录"]),
    "transfers": ("积分", [120, 30, 30, 50]),
    "households": ("户主", ["孙大爷"]),
    "meetings": ("出勤", ["出席", "请假", "缺席", "出席"]),
}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", list(EXPECT))
def test_every_kind_round_trips(client, app, login, city, built, kind, fmt):
    status, rows, _ = export(client, app, login("staff1"), f"/api/v1/communities/{city.c1.id}/exports",
                             kind=kind, format=fmt, period="2026")
    assert rows[0] == SHEETS[kind].headers
    header, values = EXPECT[kind]
    got = col(rows, header)
    if fmt == "csv" and isinstance(values[0], int):
        got = [int(v) for v in got]
    assert got == values
    assert status["kind"] == f"ledger_{kind}_{fmt}"


def test_cells_say_what_happened(client, app, login, city, built):
    h = login("staff1")
    _, rows, _ = export(client, app, h, f"/api/v1/communities/{city.c1.id}/exports", kind="transfers",
                        format="csv", period="2026-Q4")
    assert col(rows, "类型") == ["获得", "获得", "冲正", "兑换"]
    assert col(rows, "付出方")[0] == "一社区积分发放账户" and col(rows, "收入方")[0] == "member"
    assert col(rows, "收入方")[3] == "一社区爱心超市账户" and col(rows, "备注")[3] == "兑换毛巾"
    _, rows, _ = export(client, app, h, f"/api/v1/communities/{city.c1.id}/exports", kind="households",
                        format="xlsx")
    assert col(rows, "联系党员") == ["member"] and col(rows, "最近走访") == ["2026-10-20 10:00"]
    assert col(rows, "电话") == ["13700001234"]  # staff of the household's community
    _, rows, _ = export(client, app, h, f"/api/v1/communities/{city.c1.id}/exports", kind="attendances",
                        format="xlsx", period="2026-11")
    assert col(rows, "服务时长（分钟）") == [120, 30] and col(rows, "签到时间")[0] == "2026-11-10 09:00"


def test_period_filters_and_empty_file(client, app, login, city, built):
    h = login("staff1")
    _, rows, _ = export(client, app, h, f"/api/v1/communities/{city.c1.id}/exports", kind="tasks",
                        format="csv", period="2026-Q4")
    assert col(rows, "任务") == ["取消的任务", "清扫楼道"]
    _, rows, _ = export(client, app, h, f"/api/v1/communities/{city.c1.id}/exports", kind="meetings",
                        format="xlsx", period="2025")
    assert rows == [SHEETS["meetings"].headers]


def test_phones_masked_unless_staff_of_the_members_community(client, app, login, city, built):
    url = f"/api/v1/communities/{city.c1.id}/exports"
    _, rows, _ = export(client, app, login("staff1"), url, kind="members", format="csv")
    assert col(rows, "手机号") == ["13800000001", "13800000002"]
    _, rows, _ = export(client, app, login("admin"), url, kind="members", format="csv")
    assert col(rows, "手机号") == ["138****0001", "138****0002"]
    street = f"/api/v1/streets/{city.street.id}/exports"
    _, rows, _ = export(client, app, login("streetadm"), street, kind="members", format="xlsx")
    assert col(rows, "姓名") == ["张三", "李四", "王五"]
    assert col(rows, "手机号") == ["138****0001", "138****0002", "138****0003"]
    grant_role(None, city.streetadm.id, "staff", community_id=city.c2.id)  # now staff of c2 as well
    db.session.commit()
    _, rows, _ = export(client, app, login("streetadm"), street, kind="attendances", format="csv", period="2026")
    phones = dict(zip(col(rows, "姓名"), col(rows, "手机号")))
    assert phones["x"] == "13800000003" and phones["member"] == "138****0001"
    assert phones["quiet1"] == ""  # no approved report: no phone held


def test_export_is_audited(client, app, login, city, built):
    client.post(f"/api/v1/streets/{city.street.id}/exports", json={"kind": "tasks", "format": "csv"},
                headers=login("streetadm"))
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
    assert (row.actor_id, row.object_type, row.object_id) == (city.streetadm.id, "street", city.street.id)
    assert row.changes["after"]["params"] == {"kind": "tasks", "format": "csv", "period": None}


@pytest.mark.parametrize("body,field", [
    ({"kind": "people", "format": "csv"}, "kind"),
    ({"kind": "members", "format": "pdf"}, "format"),
    ({"kind": "members", "format": "csv", "period": "2026-Q7"}, "period"),
    ({"kind": "members", "format": "csv", "period": "9999-Q4"}, "period"),
    ({"format": "csv"}, "kind"),
    ({"kind": "members"}, "format"),
])
def test_bad_body_is_422(client, login, city, body, field):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/exports", json=body, headers=login("staff1"))
    assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR"
    details = resp.get_json()["error"]["details"]
    assert field in details.get("json", details)


@pytest.mark.parametrize("who,path,status", [
    ("staff2", "/communities/{c1}/exports", 403),
    ("member", "/communities/{c1}/exports", 403),
    ("unit1", "/communities/{c1}/exports", 403),
    ("streetadm", "/communities/{c3}/exports", 403),
    ("staff1", "/streets/{s}/exports", 403),
    ("streetadm", "/streets/{s2}/exports", 403),
    ("admin", "/streets/99999/exports", 404),
    ("admin", "/communities/99999/exports", 404),
    ("streetadm", "/communities/{c1}/exports", 202),
])
def test_who_may_export(client, login, city, who, path, status):
    url = "/api/v1" + path.format(c1=city.c1.id, c3=city.c3.id, s=city.street.id, s2=city.other_street.id)
    resp = client.post(url, json={"kind": "members", "format": "csv"}, headers=login(who))
    assert resp.status_code == status, resp.get_json()


def test_only_readers_of_the_scope_see_the_job(client, app, login, city, built):
    job_id = client.post(f"/api/v1/communities/{city.c1.id}/exports", json={"kind": "members", "format": "csv"},
                         headers=login("staff1")).get_json()["job_id"]
    run_worker(app)
    other = login("staff2")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=other).status_code == 403
    assert client.get(f"/api/v1/files/{job_id}", headers=other).status_code == 403
    assert client.get(f"/api/v1/jobs/{job_id}", headers=login("streetadm")).status_code == 200
