"""Party work pages: a member's duty post and households, staff's posts, households, meetings,
quiet members and 共驻共建 needs with their matches."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.db import utcnow
from backend.extensions import db


@pytest.fixture
def partywork(city):
    """c1's party work: a 楼栋长 post held by city.member, a household he looks after, a meeting,
    a quiet member2 (member for over a year, never active), and a need unit u1 can serve."""
    from backend.auth.models import RoleGrant
    from backend.partywork import duty, households, meetings, needs
    from backend.reports import units

    post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", duties="联系本楼居民", seats=1,
                            building="3栋", points_per_month=30)
    duty.apply_or_appoint(city.staff1, post.id, city.member.id)
    hh = households.create_household(city.staff1, city.c1.id, address="幸福里3栋1单元201室", head_name="刘桂兰",
                                     phone="13912345678", tags=["孤寡老人"])
    households.link(city.staff1, hh.id, city.member.id)
    now = utcnow()
    meeting = meetings.create_meeting(city.staff1, city.c1.id, kind="党课", title="书记讲党课",
                                      starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=1),
                                      location="社区会议室")
    db.session.execute(update(RoleGrant).where(RoleGrant.user_id == city.member2.id, RoleGrant.role == "member")
                       .values(created_at=now - timedelta(days=400)))
    report = units.file_unit_report(city.unit1, unit_id=city.u1.id, community_id=city.c1.id, resources=["医疗义诊"])
    units.decide_unit_report(city.staff1, report.id, True)
    needs.create_need(city.staff1, city.c1.id, title="老年人健康义诊", category="医疗", description="为独居老人体检")
    db.session.commit()
    return {"post": post.id, "household": hh.id, "meeting": meeting.id}


def test_member_logs_duty_and_visits_a_household(phone, partywork):
    p = phone("member")
    page = p.login("member")
    page.click("a[href='#/me/duty']")
    p.settle()
    post = page.locator("[data-test=my-post]", has_text="楼栋长")
    assert "在岗" in post.inner_text()
    post.locator("[data-test=log-minutes]").fill("2000")
    post.locator("[data-test=log-submit]").click()
    assert "1 到 1440" in post.locator("[data-test=field-error-minutes]").inner_text()  # the API's own message
    post.locator("[data-test=log-minutes]").fill("90")
    post.locator("[data-test=log-note]").fill("检查楼道消防通道")
    post.locator("[data-test=log-submit]").click()
    post.locator("[data-test=log-result] [data-test=success]").wait_for()
    log = page.wait_for_selector("[data-test=duty-log]:has-text('检查楼道消防通道')")
    assert "1 小时 30 分" in log.inner_text() and "待确认" in log.inner_text()
    p.shot("duty")

    p.go("#/me/households")
    hh = page.locator("[data-test=my-household]", has_text="刘桂兰")
    assert "13912345678" in hh.inner_text()  # the linked member sees the phone in full
    assert "还没有走访记录" in hh.inner_text()
    hh.locator("[data-test=visit-minutes]").fill("45")
    hh.locator("[data-test=visit-note]").fill("帮忙代购药品")
    hh.locator("[data-test=visit-submit]").click()
    hh.locator("[data-test=visit-result] [data-test=success]").wait_for()
    visit = hh.locator("[data-test=visit]", has_text="帮忙代购药品")
    visit.wait_for()
    assert "45 分钟" in visit.inner_text() and "待确认" in visit.inner_text()
    p.shot("households")

    p.go("#/me/meetings")
    assert "书记讲党课" in page.inner_text("[data-test=my-meetings]")


def test_staff_sees_posts_households_meeting_quiet_and_needs(phone, partywork, city):
    p = phone("staff")
    page = p.login("staff1")
    assert page.locator("[data-test=partywork-links] a").count() == 5
    page.click("a[href='#/staff/posts']")
    p.settle()
    post = page.locator("[data-test=staff-post]", has_text="楼栋长")
    assert "在岗：" in post.inner_text() and "空 0" in post.inner_text()
    p.shot("posts")

    p.go("#/staff/households")
    hh = page.locator("[data-test=staff-household]", has_text="刘桂兰")
    assert "孤寡老人" in hh.inner_text() and "待走访" in hh.inner_text()
    p.shot("households")

    p.go("#/staff/meetings")
    page.click("[data-test=staff-meeting]:has-text('书记讲党课') a")
    page.wait_for_function("() => location.hash.startsWith('#/staff/meetings/')")
    p.settle()
    code = page.wait_for_selector("[data-test=qr-code]:not(:empty)").inner_text()
    assert code.startswith("M")
    page.wait_for_function("c => { const i = document.querySelector('[data-test=qr-image]');"
                           " return i.complete && i.naturalWidth > 0 && i.dataset.code === c; }", arg=code)
    assert "秒后失效" in page.inner_text("[data-test=qr-countdown]")
    assert page.locator("[data-test=qr-out]").count() == 0  # meetings only check in
    assert "应到 2 人" in page.inner_text("[data-test=meeting-counts]")
    assert page.locator("[data-test=attendee]").count() == 2
    p.shot("meeting")

    p.go("#/staff/quiet")
    quiet = page.locator("[data-test=quiet-member]")
    assert quiet.count() == 1 and "从未参加" in quiet.inner_text()
    quiet.locator("[data-test=follow-status]").select_option("外出务工")
    quiet.locator("[data-test=follow-note]").fill("在深圳务工，已电话联系")
    quiet.locator("[data-test=follow-submit]").click()
    page.wait_for_selector("[data-test=follow-up]:has-text('外出务工')")
    p.shot("quiet")

    p.go("#/staff/needs")
    assert "老年人健康义诊" in page.inner_text("[data-test=needs]")
    match = page.locator("[data-test=match]", has_text="老年人健康义诊")
    assert "医疗义诊" in match.inner_text()
    page.click("[data-test=need-submit]")  # nothing typed: the API's per-field message
    page.wait_for_selector("[data-test=field-error-title]")
    p.shot("needs")
