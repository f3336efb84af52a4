"""The street dashboard's charts and the unit admin's quarter feedback, in the browser."""
from __future__ import annotations

import pytest
import requests

from backend.extensions import db


def built(live, path: str) -> bool:
    return path in requests.get(live + "/api/v1/openapi.json").json()["paths"]


def test_charts_are_drawn_to_scale(phone, city):
    """The SVG charts themselves, fed known numbers (whatever the dashboard endpoint answers)."""
    p = phone("street")
    page = p.login("streetadm")
    sizes = page.evaluate("""async () => {
        const m = await import('/mock/js/street.js');
        const box = document.createElement('div');
        box.className = 'card';
        box.append(m.rateBars([{ name: '一社区', report_rate: 0.5 }, { name: '二社区', report_rate: 1 }]),
                   m.minutesChart([{ month: '2026-10', scanned: 120, manual: 30 }, { month: '2026-11', scanned: 60, manual: 0 }]));
        document.querySelector('#view').prepend(box);
        const w = [...box.querySelectorAll('[data-test=chart-report-rate] [data-test=bar]')].map((r) => r.getBBox().width);
        const hgt = [...box.querySelectorAll('[data-test=chart-minutes] [data-test=bar]')].map((r) => r.getBBox().height);
        const labels = [...box.querySelectorAll('text')].map((t) => t.textContent);
        return { w, hgt, labels };
    }""")
    assert len(sizes["w"]) == 2 and abs(sizes["w"][1] / sizes["w"][0] - 2) < 0.01
    assert len(sizes["hgt"]) == 2 and abs(sizes["hgt"][0] / sizes["hgt"][1] - 2) < 0.01
    assert {"50%", "100%", "10月", "11月", "一社区"} <= set(sizes["labels"])
    p.shot("charts")


def test_street_dashboard_page(phone, city, live):
    if not built(live, "/api/v1/streets/{street_id}/dashboard"):
        pytest.skip("not built yet: GET /api/v1/streets/{id}/dashboard")
    p = phone("street")
    page = p.login("streetadm")
    assert page.evaluate("() => location.hash") == "#/street"
    page.wait_for_selector("[data-test=chart-report-rate]")
    bars = page.locator("[data-test=chart-report-rate] [data-test=bar]").count()
    assert bars == 2  # 一社区 and 二社区 are in the street; 三社区 is not
    assert page.locator("[data-test=report-rate]").inner_text() == "—"  # no unit lists anyone yet: no rate, not 0 %
    assert page.inner_text("[data-test=tasks]").isdigit()
    p.shot("dashboard")


def test_unit_feedback_for_a_quarter(phone, city, live):
    if not built(live, "/api/v1/units/{unit_id}/feedback"):
        pytest.skip("not built yet: GET /api/v1/units/{id}/feedback")
    from backend.extensions import db
    from backend.reports import services as reports

    report = reports.file_member_report(city.member, community_id=city.c1.id, unit_id=city.u1.id,
                                        name="王小红", phone="13800001111", skills=[], skills_other="")
    reports.decide_member_report(city.staff1, report.id, True)
    db.session.commit()
    p = phone("unit")
    page = p.login("unit1")
    item = page.wait_for_selector("[data-test=feedback-item]:has-text('王小红')")
    assert "一社区" in item.inner_text()
    p.shot("feedback")


def test_export_progress_and_download_follow_the_contract(phone, city):
    """The unit page's export, with the job endpoints answered by the browser as API.md says
    (202 {job_id} → GET /jobs/{id} {status, progress, result_url} → the .xlsx): the progress bar
    moves, the file downloads. The journey covers the real endpoints once they exist."""
    import json
    from io import BytesIO

    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    wb.active.append(["姓名", "服务时长"])
    buf = BytesIO()
    wb.save(buf)
    polls = iter([{"status": "queued", "progress": 0}, {"status": "started", "progress": 40},
                  {"status": "started", "progress": 80}])
    seen = {"posted": None, "progress": []}

    def exports(route):
        seen["posted"] = json.loads(route.request.post_data)
        route.fulfill(status=202, json={"job_id": "job-1"})

    def job(route):
        state = next(polls, {"status": "finished", "progress": 100, "result_url": "/api/v1/files/feedback.xlsx"})
        seen["progress"].append(state["progress"])
        route.fulfill(json=state)

    def result(route):
        assert route.request.headers["authorization"].startswith("Bearer ")
        route.fulfill(body=buf.getvalue(), headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": "attachment; filename*=UTF-8''%E5%8F%8D%E9%A6%88.xlsx"})

    p = phone("unit")
    page = p.page
    page.route("**/api/v1/units/*/feedback-exports", exports)
    page.route("**/api/v1/jobs/job-1", job)
    page.route("**/api/v1/files/feedback.xlsx", result)
    p.login("unit1")
    page.select_option("[data-test=period]", index=1)
    period = page.eval_on_selector("[data-test=period]", "s => s.value")
    page.click("[data-test=export]")
    page.wait_for_selector("[data-test=progress-text]:has-text('40%')")
    link = page.wait_for_selector("[data-test=download]")
    assert seen["posted"] == {"period": period}
    assert seen["progress"] == [0, 40, 80, 100]
    assert page.get_attribute("[data-test=progress-bar]", "data-pct") == "100"
    p.shot("export")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "反馈.xlsx"
    assert load_workbook(BytesIO(open(info.value.path(), "rb").read())).active["A1"].value == "姓名"


def test_community_dashboard_for_its_staff(phone, city, reported_member, claimed_task):
    """社区看板: the community's own figures, without the street's per-community bars: one member
    reported out of a roster of two, one task held."""
    from backend.extensions import db
    from backend.reports import roster

    roster.upsert_roster(city.unit1, city.u1.id, [{"name": "张卫国", "phone": "13800138001"},
                                                 {"name": "李建国", "phone": "13900001111"}])
    db.session.commit()
    p = phone("staff")
    page = p.login("staff1")
    page.click("a[href='#/staff/dashboard']")
    p.settle()
    assert page.inner_text("[data-test=report-rate]") == "50.0%"
    assert "报到 1 人 / 单位名册 2 人" in page.inner_text("[data-test=report-counts]")
    assert page.inner_text("[data-test=tasks]") == "1"
    assert page.inner_text("[data-test=as-of]").startswith("数据更新于 ")
    assert page.locator("[data-test=chart-report-rate]").count() == 0
    p.shot("community-dashboard")


def test_admin_checks_the_ledger_and_reads_the_audit_log(phone, city, reported_member):
    """系统管理: the ledger verified, and staff1's approval of the report in the audit log."""
    p = phone("admin")
    page = p.login("admin")
    page.click("[data-test=go-admin]")
    p.settle()
    page.click("[data-test=verify]")
    assert "账本平衡" in page.wait_for_selector("[data-test=verify-result] [data-test=success]").inner_text()
    page.fill("[data-test=audit-action]", "member_report.approve")
    page.press("[data-test=audit-action]", "Enter")
    row = page.wait_for_selector("[data-test=audit-row]:has-text('member_report.approve')")
    assert f"操作人 {city.staff1.id}" in row.inner_text() and "approved" in row.inner_text()
    assert page.locator("[data-test=audit-row]").count() == 1
    assert "没有推送失败的消息" in page.inner_text("[data-test=no-failed]")
    page.fill("[data-test=message-user]", str(city.resident.id))
    page.fill("[data-test=message-text]", "请尽快到社区报到")
    page.click("[data-test=message-send]")
    sent = page.wait_for_selector("[data-test=message-send] ~ div [data-test=success]").inner_text()
    assert sent.startswith(f"已发给用户 {city.resident.id}")
    from backend.notifications.models import Notification

    db.session.expire_all()
    n = db.session.query(Notification).filter_by(user_id=city.resident.id).one()
    assert (n.kind, n.data) == ("report_reminder", {"message": "请尽快到社区报到"})
    p.shot("admin")


def test_street_admin_exports_the_street_member_roll(phone, city, reported_member, worker):
    """街道台账导出: the members of every community of the street in one xlsx, built by the worker."""
    from io import BytesIO

    from openpyxl import load_workbook

    p = phone("street")
    page = p.login("streetadm")
    page.select_option("[data-test=export-kind]", "members")
    page.click("[data-test=export]")
    link = page.wait_for_selector("[data-test=download]", timeout=60000)
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(open(info.value.path(), "rb").read())).active
    assert "张卫国" in [c.value for row in sheet.iter_rows() for c in row]
    assert not worker  # no job failed


def test_street_admin_issues_a_unit_feedback_and_exports_them_all(phone, city, reported_member, worker):
    """单位反馈: issued to 一单位 for the quarter (a second time is refused), then every unit's
    feedback of the street in one workbook."""
    from io import BytesIO

    from openpyxl import load_workbook

    from backend.feedback.models import FeedbackIssue

    p = phone("street")
    page = p.login("streetadm")
    unit = page.locator("[data-test=street-unit]", has_text="一单位")
    assert page.locator("[data-test=street-unit]").count() == 1  # 二单位 is in the other street
    unit.locator("[data-test=issue-feedback]").click()
    unit.locator("[data-test=success]:has-text('已下发')").wait_for()
    unit.locator("[data-test=issue-feedback]").click()
    assert "已下发" in unit.locator("[data-test=error]").inner_text()
    db.session.expire_all()
    assert db.session.query(FeedbackIssue).filter_by(unit_id=city.u1.id).count() == 1
    page.click("[data-test=feedback-export]")
    link = page.wait_for_selector("[data-test=feedback-download]", timeout=60000)
    with page.expect_download() as info:
        link.click()
    book = load_workbook(BytesIO(open(info.value.path(), "rb").read()))
    assert "张卫国" in [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not worker  # no job failed
    p.shot("unit-feedback")
