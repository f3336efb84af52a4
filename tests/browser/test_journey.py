"""The whole journey, clicked through the mock's pages in Chromium, one phone per person:

staff creates a task → member reports in → staff approves → member claims → staff's QR shown →
member scans it (the QR image, decoded in the page) → check-out (the pasted code) → staff
confirms → member sees the points → unit admin exports the quarter's feedback and downloads it.
"""
from __future__ import annotations

import base64
import re
import zipfile
from datetime import datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine

from backend.extensions import db
from tests.browser.conftest import HERE

TZ = ZoneInfo("Asia/Shanghai")
TITLE = "浏览器测试：楼道消防通道清理"
NAME = "李明轩"


def local(dt: datetime) -> str:
    """The value a datetime-local input takes for an instant (Beijing time)."""
    return dt.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def qr_png(staff) -> bytes:
    """The QR picture exactly as the staff page shows it."""
    data = staff.page.evaluate("""async () => {
        const img = document.querySelector('[data-test=qr-image]');
        const buf = await (await fetch(img.src)).arrayBuffer();
        let s = ''; new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
        return btoa(s);
    }""")
    return base64.b64decode(data)


def shown_code(staff, action: str) -> str:
    """Switch the staff page to the check-in/out code and read it from the page."""
    staff.page.click(f"[data-test=qr-{action}]")
    staff.page.wait_for_function("a => document.querySelector('[data-test=qr-code]').dataset.action === a", arg=action)
    staff.page.wait_for_function(
        "() => { const i = document.querySelector('[data-test=qr-image]'); return i.complete && i.naturalWidth > 0"
        " && i.dataset.code === document.querySelector('[data-test=qr-code]').textContent; }")
    return staff.page.inner_text("[data-test=qr-code]").strip()


def missing(live, *paths) -> list[str]:
    spec = requests.get(live + "/api/v1/openapi.json").json()["paths"]
    return [p for p in paths if p not in spec]


def test_task_to_points_to_unit_export(phone, live, worker, city):
    now = datetime.now(timezone.utc)
    starts = (now + timedelta(hours=1)).replace(second=0, microsecond=0)

    # staff creates a task at the place the phones are
    staff = phone("staff")
    page = staff.login("staff1")
    assert page.evaluate("() => location.hash") == "#/staff"
    staff.shot("home")
    staff.go("#/staff/new-task")
    page.fill("[data-test=task-title]", TITLE)
    page.fill("[data-test=task-description]", "清理楼道堆放杂物，保持消防通道畅通。")
    page.fill("[data-test=task-starts]", local(starts))
    page.fill("[data-test=task-ends]", local(starts + timedelta(hours=2)))
    page.fill("[data-test=task-place]", "5栋楼道")
    page.fill("[data-test=task-lat]", str(HERE["latitude"]))
    page.fill("[data-test=task-lng]", str(HERE["longitude"]))
    page.fill("[data-test=task-capacity]", "5")
    page.fill("[data-test=task-points]", "12")
    staff.shot("new-task")
    page.click("[data-test=task-submit]")
    page.wait_for_function("() => /^#\\/staff\\/tasks\\/\\d+$/.test(location.hash)")
    task_id = int(re.search(r"\d+$", page.evaluate("() => location.hash")).group())
    staff.settle()
    assert TITLE in page.inner_text("[data-test=task-title]")

    # a party member reports in to the community, with the employer unit
    member = phone("member")
    mpage = member.login("journey-member")
    assert mpage.evaluate("() => location.hash") == "#/me"
    assert "去报到" in mpage.inner_text("[data-test=report-status]")
    member.go("#/report")
    mpage.fill("[data-test=communities-search]", "一社")
    mpage.click("[data-test=communities-option]:has-text('一社区')")
    mpage.wait_for_selector("[data-test=grid] option:has-text('一网格')", state="attached")
    mpage.select_option("[data-test=grid]", label="一网格")
    mpage.fill("[data-test=units-search]", "一单")
    mpage.click("[data-test=units-option]:has-text('一单位')")
    mpage.fill("[data-test=report-name]", NAME)
    mpage.fill("[data-test=report-phone]", "13712345678")
    mpage.click("[data-test=skill]:has-text('维修服务')")
    member.shot("report-form")
    mpage.click("[data-test=report-submit]")
    mpage.wait_for_selector("[data-test=report-result] [data-test=success]")
    member.shot("report-sent")
    mpage.wait_for_function("() => location.hash === '#/me'")
    member.settle()
    assert "待审核" in mpage.inner_text("[data-test=report-status]")

    # staff approves the report
    staff.go("#/staff")
    item = page.locator("[data-test=pending-report]", has_text=NAME)
    staff.shot("pending-reports")
    item.locator("[data-test=approve]").click()
    page.wait_for_selector(f"[data-test=pending-report]:has-text('{NAME}') [data-test=status]:has-text('已通过')")

    # the member, now approved, finds the task in the list and claims it
    member.go("#/me")
    assert "已通过" in mpage.inner_text("[data-test=report-status]")
    member.shot("home-approved")
    member.go("#/tasks")
    member.shot("tasks")
    mpage.click(f"[data-test=task-item]:has-text('{TITLE}') a")
    mpage.wait_for_function("id => location.hash === '#/tasks/' + id", arg=task_id)
    member.settle()
    mpage.click("[data-test=claim]")
    mpage.wait_for_selector("[data-test=claimed]")
    assert "1/5" in mpage.inner_text("[data-test=seats]")
    member.shot("claimed")
    member.go("#/tasks")  # the claim is under 我报名的, not started yet
    mpage.locator("[data-test=my-tasks] [data-test=my-task]", has_text=TITLE).locator(
        "[data-test=status]:has-text('未开始')").wait_for()

    with time_machine.travel(starts - timedelta(minutes=5), tick=True) as traveller:
        # at the place, just before the start: staff shows the check-in QR; the member uploads a photo of it
        staff.go(f"#/staff/tasks/{task_id}")
        shown_code(staff, "in")
        staff.shot("qr-in")
        member.go("#/scan")
        mpage.set_input_files("[data-test=scan-file]", files=[{"name": "qr.png", "mimeType": "image/png", "buffer": qr_png(staff)}])
        result = mpage.wait_for_selector("[data-test=scan-result] [data-test=success]")
        assert "签到成功" in result.inner_text()
        member.shot("checked-in")

        # an hour after the start (minutes count from the start): the check-out code, pasted
        traveller.move_to(starts + timedelta(minutes=60, seconds=20))
        code = shown_code(staff, "out")
        staff.shot("qr-out")
        mpage.fill("[data-test=scan-code]", code)
        mpage.click("[data-test=scan-submit]")
        result = mpage.wait_for_selector("[data-test=scan-result] [data-test=success]:has-text('签退成功')")
        assert "1 小时 0 分" in result.inner_text()
        member.shot("checked-out")

        # staff sees who came and confirms: the points are awarded once
        staff.go(f"#/staff/tasks/{task_id}")
        row = page.locator("[data-test=attendance]", has_text=NAME)
        assert "1 小时 0 分" in row.inner_text()
        page.click("[data-test=confirm]")
        confirmed = page.wait_for_selector("[data-test=confirm-result] [data-test=success]")
        assert "已确认 1 人次，发放 12 积分" in confirmed.inner_text()
        page.wait_for_selector(f"[data-test=attendance]:has-text('{NAME}') [data-test=awarded]:has-text('+12分')")
        staff.shot("confirmed")
        page.click("[data-test=confirm]")
        page.wait_for_selector("[data-test=confirm-result] [data-test=success]:has-text('已全部发放')")
        member.go("#/tasks")  # the task still runs; the member's record of it is complete
        mine = mpage.locator("[data-test=my-tasks] [data-test=my-task]", has_text=TITLE)
        assert mine.locator("[data-test=my-attendance]").inner_text() == "已签退 · 60 分钟 · +12 积分"
        assert "进行中" in mine.locator("[data-test=status]").inner_text()
        member.shot("my-tasks")

        # the member's 志愿服务记录证明 now has this service: a PDF opens
        member.go("#/certificate")
        # a service counts on its check-out's (Beijing) day: late in the evening that is tomorrow
        mpage.fill("[data-test=cert-from]", local(starts)[:10])
        mpage.fill("[data-test=cert-to]", local(starts + timedelta(hours=2))[:10])
        mpage.click("[data-test=cert-submit]")
        link = mpage.wait_for_selector("[data-test=cert-open]")
        assert link.get_attribute("data-type").startswith("application/pdf")
        head = mpage.evaluate("async (u) => new TextDecoder().decode((await (await fetch(u)).arrayBuffer()).slice(0, 5))",
                              link.get_attribute("href"))
        assert head == "%PDF-"
        member.shot("certificate")

    # the member sees the points and the statement line
    member.go("#/points")
    assert mpage.inner_text("[data-test=balance]") == "12"
    assert "1 小时 0 分" in mpage.inner_text("[data-test=service-minutes]")
    line = mpage.locator("[data-test=transfer]").first.inner_text()
    assert "服务奖励" in line and "+12" in line
    member.shot("points")

    # and lets the employer unit see those figures (PIPL: nothing is shown without consent)
    member.go("#/me")
    consent = mpage.locator("[data-test=consent]", has_text="单位")
    assert "未授权" in consent.inner_text()
    consent.locator("button").click()
    mpage.wait_for_selector("[data-test=consent-state]:text-is('已授权')")

    # the unit admin sees the member and exports the quarter's feedback
    unit = phone("unit")
    upage = unit.login("unit1")
    assert upage.evaluate("() => location.hash") == "#/unit"
    row = upage.locator("[data-test=unit-member]", has_text=NAME)
    assert "137****5678" in row.inner_text() and "已通过" in row.inner_text()
    figures = upage.wait_for_selector(f"[data-test=feedback-item]:has-text('{NAME}') [data-test=figures]")
    assert "完成任务 1 次" in figures.inner_text() and "1 小时 0 分" in figures.inner_text() and "积分 12" in figures.inner_text()
    unit.shot("home")
    absent = missing(live, "/api/v1/units/{unit_id}/feedback-exports", "/api/v1/jobs/{job_id}")
    if absent:
        pytest.skip("journey passed up to the unit admin's page; not built yet: " + ", ".join(absent))
    upage.click("[data-test=export]")
    link = upage.wait_for_selector("[data-test=download]", timeout=30000)
    assert upage.get_attribute("[data-test=progress-bar]", "data-pct") == "100"
    unit.shot("exported")
    with upage.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    content = open(download.path(), "rb").read()
    assert zipfile.is_zipfile(BytesIO(content))
    assert not worker, f"the worker failed: {worker}"

    # the unit's HR checks the member's certificate by its code, without logging in
    from backend.feedback.models import Certificate

    db.session.expire_all()
    cert = db.session.query(Certificate).order_by(Certificate.id.desc()).first()
    hr = phone("hr")
    hpage = hr.open("#/login")
    hpage.click("[data-test=go-verify]")
    hpage.fill("[data-test=verify-code]", "WRONGCODE234")
    hpage.click("[data-test=verify-submit]")
    assert "证明不存在" in hpage.wait_for_selector("[data-test=verify-cert-result] [data-test=error]").inner_text()
    hpage.fill("[data-test=verify-code]", cert.code.lower())  # typed in lower case from the paper
    hpage.click("[data-test=verify-submit]")
    valid = hpage.wait_for_selector("[data-test=verify-cert-result] [data-test=success]").inner_text()
    assert "证明有效" in valid and NAME in valid and "1 小时 0 分" in valid
    assert "5678" not in valid.replace(cert.number, "")  # no phone, not even masked
    hr.shot("verified")
