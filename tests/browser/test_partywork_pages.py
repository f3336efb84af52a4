"""Party work pages: a member's duty post and households, staff's posts, households, meetings,
quiet members and 共驻共建 needs with their matches."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.db import utcnow
from backend.extensions import db
from tests.browser.network import lose_answers


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

    p.go("#/me/duty")  # stepping down asks once more; the tenure stays in the history
    post = page.locator("[data-test=my-post]", has_text="楼栋长")
    post.locator("[data-test=step-down]").click()
    assert post.locator("[data-test=step-down]").inner_text() == "确认离岗"
    post.locator("[data-test=step-down]").click()
    page.wait_for_selector("[data-test=my-post]:has-text('楼栋长') [data-test=status]:has-text('已离岗')")
    assert page.locator("[data-test=my-post]:has-text('楼栋长') [data-test=log-submit]").count() == 0


def test_staff_sees_posts_households_meeting_quiet_and_needs(phone, partywork, city):
    p = phone("staff")
    page = p.login("staff1")
    assert page.locator("[data-test=partywork-links] a").count() == 11
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
    first = page.locator("[data-test=attendee]").first
    first.locator("[data-test=leave]").click()  # asks for the reason first
    first.locator("[data-test=leave-reason]").fill("出差在外地")
    first.locator("[data-test=leave]").click()
    page.wait_for_selector("[data-test=meeting-counts]:has-text('请假 1')")
    leave = page.locator("[data-test=attendee]", has_text="出差在外地")
    assert "请假" in leave.locator("[data-test=status]").inner_text() and leave.locator("[data-test=leave]").count() == 0
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


def test_staff_set_up_a_post_a_household_a_meeting_and_a_reward(phone, city, reported_member):
    """Staff set party work up from the pages: a duty post, a member appointed to it and another's
    application approved, a household and a member linked to it, a meeting (every member of the
    community expected), a reward on the shelf. The household's first answer is lost on the way
    back: submitting again sends the same Idempotency-Key, shows the household registered, and
    registers it once."""
    from backend.partywork.models_households import Household

    p = phone("staff")
    page = p.login("staff1")

    p.go("#/staff/posts")
    page.fill("[data-test=post-name]", "垃圾分类督导员")
    page.fill("[data-test=post-duties]", "早晚督导垃圾分类投放")
    page.fill("[data-test=post-seats]", "2")
    page.fill("[data-test=post-points]", "20")
    page.click("[data-test=post-submit]")
    page.wait_for_selector("[data-test=post-result] [data-test=success]:has-text('垃圾分类督导员')")
    post = page.locator("[data-test=staff-post]", has_text="垃圾分类督导员")
    post.wait_for()
    assert "2 个席位，空 2" in post.inner_text() and "每月 20 分" in post.inner_text()
    post.locator("[data-test=appoint-member]").fill("卫国")
    post.locator("[data-test=appoint-member-option]", has_text="张卫国").click()
    post.locator("[data-test=appoint]").click()
    page.wait_for_selector("[data-test=staff-post]:has-text('垃圾分类督导员') [data-test=holders]:has-text('张卫国')")
    assert "空 1" in page.locator("[data-test=staff-post]", has_text="垃圾分类督导员").inner_text()
    p.shot("new-post")

    other = phone("member2")  # another member of c1 applies for the seat left
    other_page = other.login("member2")
    other.go("#/me/duty")
    other_page.locator("[data-test=open-post]", has_text="垃圾分类督导员").locator("[data-test=apply]").click()
    other_page.wait_for_selector("[data-test=my-post]:has-text('垃圾分类督导员') [data-test=status]:has-text('待确认')")
    assert other_page.locator("[data-test=open-post]", has_text="垃圾分类督导员").count() == 0
    p.go("#/staff/posts")
    post = page.locator("[data-test=staff-post]", has_text="垃圾分类督导员")
    assert "1 人申请中" in post.inner_text()
    post.locator("[data-test=applicant] [data-test=approve-holder]").click()
    page.wait_for_selector("[data-test=staff-post]:has-text('垃圾分类督导员'):has-text('空 0')")
    assert page.locator("[data-test=applicant]").count() == 0
    other.go("#/me/duty")
    assert "在岗" in other_page.locator("[data-test=my-post]", has_text="垃圾分类督导员").inner_text()

    p.go("#/staff/households")
    page.fill("[data-test=household-head]", "王秀英")
    page.fill("[data-test=household-address]", "幸福里5栋2单元302室")
    page.fill("[data-test=household-tags]", "独居老人，低保户")
    lost = lose_answers(page, "**/api/v1/communities/*/households")  # the server registers it; the answer is lost
    page.click("[data-test=household-submit]")
    page.wait_for_selector("[data-test=household-result] :has-text('网络连接失败')")
    page.unroute("**/api/v1/communities/*/households")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/households")) as answer:
        page.click("[data-test=household-submit]")
    assert answer.value.request.headers.get("idempotency-key") == lost[0]
    assert answer.value.headers.get("idempotent-replayed") == "true"
    page.wait_for_selector("[data-test=household-result] [data-test=success]:has-text('王秀英')")
    db.session.expire_all()
    assert db.session.query(Household).filter_by(head_name="王秀英").count() == 1
    hh = page.locator("[data-test=staff-household]", has_text="王秀英")
    hh.wait_for()
    assert "独居老人、低保户" in hh.inner_text() and "未安排" in hh.inner_text()
    hh.locator("[data-test=link-member]").fill("张")
    hh.locator("[data-test=link-member-option]", has_text="张卫国").click()
    hh.locator("[data-test=link]").click()
    page.wait_for_selector("[data-test=staff-household]:has-text('王秀英') [data-test=linked]:has-text('张卫国')")
    p.shot("new-household")

    p.go("#/staff/meetings")
    page.select_option("[data-test=meeting-kind]", "支部党员大会")
    page.fill("[data-test=meeting-title-input]", "学习新修订的党章")
    page.fill("[data-test=meeting-location]", "社区会议室")
    page.click("[data-test=meeting-submit]")
    page.wait_for_function("() => /^#\\/staff\\/meetings\\/\\d+$/.test(location.hash)")
    p.settle()
    assert "学习新修订的党章" in page.inner_text("[data-test=meeting-title]")
    assert "应到 2 人" in page.inner_text("[data-test=meeting-counts]")  # both members of c1
    p.shot("new-meeting")

    p.go("#/staff/shelf")
    page.fill("[data-test=reward-name]", "洗衣液一瓶")
    page.fill("[data-test=reward-points]", "30")
    page.fill("[data-test=reward-stock]", "5")
    page.click("[data-test=reward-submit]")
    page.wait_for_selector("[data-test=reward-result] [data-test=success]:has-text('洗衣液一瓶')")
    reward = page.locator("[data-test=shelf-reward]", has_text="洗衣液一瓶")
    reward.wait_for()
    assert "30 积分 · 库存 5" in reward.inner_text()
    page.fill("[data-test=reward-name]", "")
    page.click("[data-test=reward-submit]")  # nothing typed: the API's per-field message
    page.wait_for_selector("[data-test=field-error-name]")
    p.shot("shelf")

    m = phone("member")
    member_page = m.login("member")
    m.go("#/rewards")
    assert "洗衣液一瓶" in member_page.locator("[data-test=reward]", has_text="洗衣液一瓶").inner_text()
    m.go("#/me/households")
    assert "王秀英" in member_page.inner_text("[data-test=my-households]")
    p.go("#/staff/households")  # the link ended: the household has nobody again, the member no longer sees it
    page.locator("[data-test=staff-household]", has_text="王秀英").locator("[data-test=unlink]").click()
    page.wait_for_selector("[data-test=staff-household]:has-text('王秀英') [data-test=linked]:has-text('未安排')")
    m.go("#/me/households")
    assert "王秀英" not in member_page.inner_text("#view")

    p.go("#/staff/shelf")  # restocked, then taken off the shelf: members no longer see it
    reward = page.locator("[data-test=shelf-reward]", has_text="洗衣液一瓶")
    reward.locator("[data-test=shelf-stock]").fill("8")
    reward.locator("[data-test=shelf-restock]").click()
    page.wait_for_selector("[data-test=shelf-reward]:has-text('库存 8')")
    page.locator("[data-test=shelf-reward]", has_text="洗衣液一瓶").locator("[data-test=shelf-toggle]").click()
    page.wait_for_selector("[data-test=shelf-reward]:has-text('洗衣液一瓶') [data-test=off-shelf]")
    assert "重新上架" in page.locator("[data-test=shelf-reward]", has_text="洗衣液一瓶").inner_text()
    m.go("#/rewards")
    assert member_page.locator("[data-test=reward]", has_text="洗衣液一瓶").count() == 0


def test_staff_find_any_approved_member_by_name_in_a_large_community(phone, city):
    """105 approved members: the pickers search by name on the server, so the oldest (past the
    newest hundred) is found and appointed; the rating list shows all 105 and narrows by name."""
    from backend.partywork import duty
    from backend.reports.services import decide_member_report, file_member_report
    from backend.seed import user_for

    for i in range(105):
        person = user_for(f"many-{i}", name=f"党员{i:03d}")
        report = file_member_report(person, community_id=city.c1.id, unit_id=city.u1.id, name=f"党员{i:03d}",
                                    phone=f"139{i:08d}")
        decide_member_report(city.staff1, report.id, True)
    duty.create_post(city.staff1, city.c1.id, name="楼栋长", duties="", seats=1)
    db.session.commit()
    p = phone("staff")
    page = p.login("staff1")
    p.go("#/staff/posts")
    post = page.locator("[data-test=staff-post]", has_text="楼栋长")
    post.locator("[data-test=appoint]").click()
    page.wait_for_selector("text=请先搜索并选择党员")  # nothing picked yet
    post.locator("[data-test=appoint-member]").fill("000")
    options = post.locator("[data-test=appoint-member-option]")
    page.wait_for_function("() => document.querySelectorAll('[data-test=appoint-member-option]').length === 1")
    assert options.first.inner_text().startswith("党员000")  # the oldest too
    options.first.click()
    post.locator("[data-test=appoint]").click()
    page.wait_for_selector("[data-test=staff-post]:has-text('楼栋长') [data-test=holders]:has-text('党员000')")
    p.go("#/staff/evaluations")
    assert page.locator("[data-test=member-rating]").count() == 105
    page.fill("[data-test=rating-search]", "党员10")  # 党员100 to 党员104
    page.wait_for_function("() => document.querySelectorAll('[data-test=member-rating]').length === 5")
    assert page.locator("[data-test=member-rating]", has_text="党员104").count() == 1