"""The third party of 双报到 in the browser: a unit admin keeps the roster its members are matched
against, reports the unit to a community (staff approve it on their 工作台), and pledges a
resource to a need of that community."""
from __future__ import annotations

from backend.extensions import db


def test_unit_reports_to_a_community_keeps_its_roster_and_pledges_to_a_need(phone, city):
    from backend.partywork import needs
    from backend.partywork.models_misc import NeedPledge
    from backend.reports.models import UnitMember, UnitReport

    u = phone("unit")
    page = u.login("unit1")
    page.fill("[data-test=roster-name]", "李建国")
    page.fill("[data-test=roster-phone]", "13900001111")
    page.click("[data-test=roster-submit]")
    row = page.wait_for_selector("[data-test=unit-member]:has-text('李建国')")
    assert "139****1111" in row.inner_text() and "未报到" in row.inner_text()  # masked, even to the unit
    page.fill("[data-test=roster-phone]", "12345")
    page.fill("[data-test=roster-name]", "错号码")
    page.click("[data-test=roster-submit]")
    # the message of the list's row lands next to the phone input, in words
    assert "11位" in page.wait_for_selector("[data-test=field-error-phone]").inner_text()
    assert page.locator("[data-test=unit-member]", has_text="错号码").count() == 0

    page.fill("[data-test=communities-search]", "一社区")
    page.click("[data-test=communities-option]:has-text('一社区')")
    page.fill("[data-test=unit-resources]", "医疗义诊，法律咨询")
    page.fill("[data-test=unit-needs]", "党员活动场地")
    page.click("[data-test=unit-report-submit]")
    page.wait_for_selector("[data-test=unit-report-result] [data-test=success]:has-text('一社区')")
    report = page.wait_for_selector("[data-test=unit-report]:has-text('一社区')")
    assert "待审核" in report.inner_text() and "医疗义诊、法律咨询" in report.inner_text()
    u.shot("unit-report")

    s = phone("staff")
    staff = s.login("staff1")
    s.go("#/staff")
    pending = staff.locator("[data-test=pending-unit-report]", has_text="一单位")
    assert "医疗义诊、法律咨询" in pending.inner_text() and "党员活动场地" in pending.inner_text()
    pending.locator("[data-test=unit-approve]").click()
    staff.wait_for_selector("[data-test=decided-unit-report]:has-text('已通过')")
    s.shot("unit-approved")
    db.session.expire_all()
    assert db.session.query(UnitReport).filter_by(unit_id=city.u1.id, community_id=city.c1.id).one().status == "approved"

    needs.create_need(city.staff1, city.c1.id, title="老年人健康义诊", category="医疗", description="为独居老人体检")
    db.session.commit()
    u.go("#/unit")
    assert "已通过" in page.inner_text("[data-test=unit-report]")
    match = page.locator("[data-test=unit-match]", has_text="老年人健康义诊")
    assert "医疗义诊" in match.inner_text()
    match.locator("[data-test=pledge]").click()
    page.wait_for_selector("[data-test=unit-match]:has-text('老年人健康义诊') [data-test=success]")
    db.session.expire_all()
    assert [(p.unit_id, p.resource) for p in db.session.query(NeedPledge).all()] == [(city.u1.id, "医疗义诊")]
    u.shot("pledged")

    page.locator("[data-test=unit-member]", has_text="李建国").locator("[data-test=roster-remove]").click()
    page.wait_for_function("() => ![...document.querySelectorAll('[data-test=unit-member]')]"
                           ".some(r => r.textContent.includes('李建国'))")
    db.session.expire_all()
    gone = db.session.query(UnitMember).filter_by(unit_id=city.u1.id, name="李建国").one()
    assert gone.removed_at is not None  # kept as history
