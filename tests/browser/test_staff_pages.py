"""Staff at a task: confirming says plainly when minutes were too few for a point."""
from __future__ import annotations

from backend.extensions import db


def test_confirm_says_when_minutes_earn_no_points(phone, city, claimed_task):
    from backend.attendance.staff import enter_manual

    enter_manual(city.staff1, claimed_task, city.member.id, 2, "补录：现场协助")  # 2 min at 10/h: 0 points
    db.session.commit()
    p = phone("staff")
    page = p.login("staff1")
    p.go(f"#/staff/tasks/{claimed_task}")
    page.click("[data-test=confirm]")
    text = page.wait_for_selector("[data-test=confirm-result] [data-test=success]").inner_text()
    assert "已确认 1 人次，发放 0 积分" in text and "其中 1 人次时长不足以折算积分" in text
    p.shot("confirm-short")
    page.click("[data-test=confirm]")
    page.wait_for_selector("[data-test=confirm-result] [data-test=success]:has-text('已全部发放')")

    p.go("#/identity")
    assert page.inner_text("[data-test=user-id]").startswith(f"用户编号：{city.staff1.id}")
