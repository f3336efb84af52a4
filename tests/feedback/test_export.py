"""The feedback workbook as an RQ job: progress, one file even after a retry, scoped downloads."""
from __future__ import annotations

import io
import os
import shutil
from datetime import timedelta

import openpyxl
import pytest
from rq.job import Job
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.feedback import exportjobs
from backend.feedback.models import ExportJob
from backend.jobs import rq_job_id
from backend.orgs import services as orgs
from tests.helpers import error_code


@pytest.fixture(autouse=True)
def _empty_exports(app):
    """FILES_DIR lives for the session: start each test with no exported files."""
    shutil.rmtree(os.path.join(app.config["FILES_DIR"], "exports"), ignore_errors=True)


def _setup(city, report, serve, consent):
    report(city.member, city.c1, city.u1, phone="13812345678", name="张三")
    report(city.member2, city.c1, city.u1, phone="13987654321", name="李四")
    serve(city.member, city.c1, 90, title="社区义诊")
    serve(city.member, city.c2, 30, source="manual", title="整理图书")
    serve(city.member2, city.c1, 60, title="不该出现的任务")
    consent("member")


def _export_dir(app):
    return os.path.join(app.config["FILES_DIR"], "exports")


def _files(app):
    return sorted(os.listdir(_export_dir(app))) if os.path.isdir(_export_dir(app)) else []


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_unit_export_end_to_end_with_a_real_worker(app, client, login, city, report, serve, consent, work):
    _setup(city, report, serve, consent)
    headers = login("unit1")
    resp = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"}, headers=headers)
    assert resp.status_code == 202, resp.get_json()
    job_id = resp.get_json()["job_id"]
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "queued" and status["progress"] == 0 and status["result_url"] is None
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
    assert audit.actor_id == city.unit1.id and audit.object_type == "unit" and audit.object_id == city.u1.id
    assert audit.changes["after"]["job_id"] == job_id and audit.street_id == city.street.id

    work()
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "finished" and status["progress"] == 100, status
    assert status["result_url"] == f"/api/v1/files/{job_id}"
    row = db.session.get(ExportJob, job_id)
    rq_job = Job.fetch(rq_job_id(row.outbox_id), connection=app.extensions["redis"])
    assert rq_job.get_meta()["progress"] == 100

    download = client.get(status["result_url"], headers=headers)
    assert download.status_code == 200
    assert download.mimetype == exportjobs.XLSX
    assert "attachment" in download.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(download.data))
    assert wb.sheetnames[:2] == ["成员", "任务"]
    members = _rows(wb["成员"])
    assert members[0][:6] == ["单位", "姓名", "手机号", "报到状态", "报到社区", "是否授权单位查看"]
    by_name = {r[1]: r for r in members[1:]}
    zhang, li = by_name["张三"], by_name["李四"]
    assert zhang[:6] == ["一单位", "张三", "138****5678", "已报到", "一社区", "是"]
    assert zhang[6:11] == [2, 90, 30, 120, 120]
    assert li[5] == "否" and li[6:] == ["未授权"] * 7 and li[2] == "139****4321"
    tasks = _rows(wb["任务"])
    assert tasks[0] == ["单位", "姓名", "服务日期", "服务社区", "任务", "服务时长（分钟）", "记录方式"]
    assert sorted((r[1], r[4], r[5], r[6]) for r in tasks[1:]) == [
        ("张三", "整理图书", 30, "人工补录"), ("张三", "社区义诊", 90, "扫码签到")]
    assert "13812345678" not in download.get_data(as_text=False).decode("latin-1")
    assert _files(app) == [f"unit_feedback-{job_id}.xlsx"]


def test_other_units_and_bad_periods_are_refused(client, login, city, work):
    own = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"},
                      headers=login("unit1")).get_json()["job_id"]
    other = login("unit2")
    resp = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"}, headers=other)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    for period in ("2026-13", "2026", "x", None):
        resp = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": period},
                           headers=login("unit1"))
        assert resp.status_code == 422 and "period" in resp.get_json()["error"]["details"]
    work()
    assert client.get(f"/api/v1/jobs/{own}", headers=other).status_code == 403
    assert client.get(f"/api/v1/files/{own}", headers=other).status_code == 403
    assert client.get(f"/api/v1/files/{own}", headers=login("streetadm")).status_code == 200
    assert client.get("/api/v1/jobs/nope", headers=other).status_code == 404
    assert db.session.query(ExportJob).count() == 1  # refused requests queued nothing


def test_a_job_that_fails_midway_is_retried_and_leaves_one_file(app, client, login, city, report, serve,
                                                                consent, work, monkeypatch, time_machine):
    _setup(city, report, serve, consent)
    real = exportjobs._publish
    calls = []

    def dies_once(tmp, final):
        calls.append(tmp)
        assert os.path.exists(tmp)  # the workbook was written under its temporary name...
        if len(calls) == 1:
            raise OSError("worker killed before the rename")  # ...and the run dies before publishing
        real(tmp, final)

    monkeypatch.setattr(exportjobs, "_publish", dies_once)
    headers = login("unit1")
    job_id = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"},
                         headers=headers).get_json()["job_id"]
    work()
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "queued" and status["result_url"] is None  # RQ will retry it
    assert _files(app) == []
    time_machine.move_to(utcnow() + timedelta(seconds=15))
    work(with_scheduler=True)
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "finished" and len(calls) == 2
    assert calls[0] == calls[1]  # the same deterministic temporary name both times
    assert _files(app) == [f"unit_feedback-{job_id}.xlsx"]
    db.session.expire_all()
    row = db.session.get(ExportJob, job_id)
    assert row.attempts == 2 and row.file_name == f"exports/unit_feedback-{job_id}.xlsx"
    assert client.get(status["result_url"], headers=headers).status_code == 200


def test_what_a_dead_worker_left_is_overwritten_not_doubled(app, client, login, city, report, work):
    report(city.member, city.c1, city.u1, name="张三")
    headers = login("unit1")
    job_id = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"},
                         headers=headers).get_json()["job_id"]
    os.makedirs(_export_dir(app), exist_ok=True)
    with open(os.path.join(_export_dir(app), f"unit_feedback-{job_id}.xlsx.part"), "wb") as f:
        f.write(b"half a workbook from a worker that was killed")
    db.session.query(ExportJob).filter_by(id=job_id).update({"status": "started", "attempts": 1})
    db.session.commit()
    work()
    assert _files(app) == [f"unit_feedback-{job_id}.xlsx"]
    wb = openpyxl.load_workbook(os.path.join(_export_dir(app), f"unit_feedback-{job_id}.xlsx"))
    assert _rows(wb["成员"])[1][1] == "张三"
    assert exportjobs.run_export(job_id) == f"exports/unit_feedback-{job_id}.xlsx"  # finished: not built again
    assert _files(app) == [f"unit_feedback-{job_id}.xlsx"]


def test_street_export_has_every_unit_of_the_street(app, client, login, city, report, serve, consent, work):
    u3 = orgs.create_unit("三单位", "企业", street_id=city.street.id)
    db.session.commit()
    _setup(city, report, serve, consent)
    from backend.auth.models import User

    other = User(openid="mock-x3", nickname="x3")
    db.session.add(other)
    db.session.commit()
    report(other, city.c2, u3, phone="13500000003", name="王五")
    report(city.resident, city.c3, city.u2, phone="13500000009", name="别街道的人")
    headers = login("streetadm")
    assert client.post(f"/api/v1/streets/{city.street.id}/feedback-exports", json={"period": "2026-Q4"},
                       headers=login("unit1")).status_code == 403
    assert client.post(f"/api/v1/streets/{city.other_street.id}/feedback-exports", json={"period": "2026-Q4"},
                       headers=headers).status_code == 403
    assert client.post("/api/v1/streets/9999/feedback-exports", json={"period": "2026-Q4"},
                       headers=login("admin")).status_code == 404
    resp = client.post(f"/api/v1/streets/{city.street.id}/feedback-exports", json={"period": "2026-Q4"},
                       headers=headers)
    assert resp.status_code == 202
    job_id = resp.get_json()["job_id"]
    work()
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "finished"
    assert client.get(f"/api/v1/jobs/{job_id}", headers=login("unit1")).status_code == 403
    wb = openpyxl.load_workbook(io.BytesIO(client.get(status["result_url"], headers=headers).data))
    members = _rows(wb["成员"])[1:]
    assert sorted((r[0], r[1]) for r in members) == [("一单位", "张三"), ("一单位", "李四"), ("三单位", "王五")]
    assert {r[0] for r in _rows(wb["任务"])[1:]} == {"一单位"}
    assert db.session.scalar(select(AuditLog.object_type).where(AuditLog.action == "export")) == "street"


def test_progress_climbs_through_the_job_meta_while_it_runs(app, client, login, city, report, serve, consent,
                                                            work, monkeypatch):
    _setup(city, report, serve, consent)
    seen, during = [], []
    real_save, real_publish = Job.save_meta, exportjobs._publish

    def save_meta(self, *a, **kw):
        seen.append(self.meta.get("progress"))
        return real_save(self, *a, **kw)

    def publish(tmp, final):  # the workbook is written, not yet published: what does the API say?
        during.append(exportjobs.job_status(city.unit1, job_id))
        real_publish(tmp, final)

    monkeypatch.setattr(Job, "save_meta", save_meta)
    monkeypatch.setattr(exportjobs, "_publish", publish)
    headers = login("unit1")
    job_id = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"},
                         headers=headers).get_json()["job_id"]
    work()
    progress = [p for p in seen if p is not None]
    assert progress[0] == 0 and progress[-1] == 100 and progress == sorted(progress)
    assert any(0 < p < 100 for p in progress), progress
    assert during and during[0]["status"] == "started" and during[0]["progress"] == 95
    assert during[0]["result_url"] is None
    assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["progress"] == 100
