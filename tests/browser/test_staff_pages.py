"""Staff at a task: confirming says plainly when minutes were too few for a point."""
from __future__ import annotations

from backend.extensions import db
from tests.browser.network import lose_answers


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


def test_pressing_confirm_again_after_a_lost_answer_shows_what_was_awarded(phone, city, claimed_task):
    """The first confirm reaches the server but its answer is lost on the way back (the network
    drops it): pressing again sends the same Idempotency-Key and shows what the first press
    awarded, not "nothing left to award"; the points are paid once."""
    from backend.attendance.staff import enter_manual
    from backend.timebank.service import wallet_summary

    enter_manual(city.staff1, claimed_task, city.member.id, 60, "补录：现场协助")
    db.session.commit()
    p = phone("staff")
    page = p.login("staff1")
    p.go(f"#/staff/tasks/{claimed_task}")
    lost = lose_answers(page, "**/api/v1/tasks/*/confirm")  # the server confirms; the answer is lost
    page.click("[data-test=confirm]")
    page.wait_for_selector("[data-test=confirm-result] :has-text('网络连接失败')")
    page.unroute("**/api/v1/tasks/*/confirm")
    with page.expect_response("**/api/v1/tasks/*/confirm") as answer:
        page.click("[data-test=confirm]")
    assert answer.value.request.headers.get("idempotency-key") == lost[0]
    assert answer.value.headers.get("idempotent-replayed") == "true"
    text = page.wait_for_selector("[data-test=confirm-result] [data-test=success]").inner_text()
    assert "已确认 1 人次，发放 10 积分" in text
    db.session.expire_all()
    assert wallet_summary(db.session, city.member.id)["balance"] == 10


def test_staff_enter_minutes_by_hand_mark_an_absence_and_cancel_the_task(phone, city, claimed_task, client, login):
    """The task page's rows: 补录 minutes with a reason for one claimer, 缺席 for the other; then
    the task is cancelled with a reason (asked for first)."""
    from backend.attendance.models import Attendance
    from backend.tasks.models import Task

    assert client.post(f"/api/v1/tasks/{claimed_task}/claims", headers=login("member2")).status_code == 201
    p = phone("staff")
    page = p.login("staff1")
    p.go(f"#/staff/tasks/{claimed_task}")
    assert page.locator("[data-test=attendance]").count() == 2
    first = page.locator("[data-test=attendance-actions]").nth(0)  # city.member: the lower user id
    first.locator("[data-test=manual-minutes]").fill("45")
    first.locator("[data-test=manual]").click()  # no reason yet: the API's message, nothing entered
    first.locator("[data-test=error]").wait_for()
    first.locator("[data-test=manual-reason]").fill("现场协助未扫码")
    first.locator("[data-test=manual]").click()
    page.wait_for_selector("[data-test=attendance]:has-text('45 分钟')")
    page.locator("[data-test=attendance-actions]").nth(1).locator("[data-test=absent]").click()
    page.wait_for_selector("[data-test=attendance]:has-text('member2') [data-test=status]:has-text('缺席')")
    p.shot("manual-absent")

    page.click("[data-test=cancel-task]")
    page.fill("[data-test=cancel-reason]", "暴雨预警，活动改期")
    page.click("[data-test=cancel-task]")
    page.wait_for_selector("[data-test=task-action-result] [data-test=success]")
    page.wait_for_selector("[data-test=task-title] [data-test=status]:has-text('已取消')")
    db.session.expire_all()
    assert db.session.get(Task, claimed_task).status == "cancelled"
    rows = {a.user_id: a for a in db.session.query(Attendance).filter_by(task_id=claimed_task)}
    assert rows[city.member.id].minutes == 45 and rows[city.member.id].manual_reason == "现场协助未扫码"
    assert rows[city.member2.id].status == "absent"


def test_staff_rate_a_member_for_the_quarter_and_export_the_member_roll(phone, city, worker, reported_member):
    """党员评价: a rating with a comment for the current quarter, shown again when the page comes
    back; 台账导出: the members' roll as CSV, built by the RQ worker, downloaded with its BOM."""
    from backend.feedback.models import Evaluation

    p = phone("staff")
    page = p.login("staff1")
    page.click("a[href='#/staff/evaluations']")
    p.settle()
    period = page.eval_on_selector("[data-test=period]", "s => s.value")
    item = page.locator("[data-test=member-rating]", has_text="张卫国")
    assert "未评价" in item.inner_text()
    item.locator("[data-test=rating-save]").click()  # no rating chosen: the API's message
    item.locator("[data-test=error]").wait_for()
    item.locator("[data-test=rating]").select_option("优秀")
    item.locator("[data-test=rating-comment]").fill("积极参加志愿服务")
    item.locator("[data-test=rating-save]").click()
    page.wait_for_selector("[data-test=member-rating]:has-text('张卫国') [data-test=success]:has-text('优秀')")
    p.go("#/staff/evaluations")
    item = page.locator("[data-test=member-rating]", has_text="张卫国")
    assert item.locator("[data-test=status]").inner_text() == "优秀"
    assert item.locator("[data-test=rating-comment]").input_value() == "积极参加志愿服务"
    db.session.expire_all()
    saved = db.session.query(Evaluation).filter_by(user_id=city.member.id, period=period).one()
    assert (saved.rating, saved.comment) == ("优秀", "积极参加志愿服务")
    assert item.locator("[data-test=rating-history-toggle]").count() == 0  # one version: no history yet
    item.locator("[data-test=rating]").select_option("合格")
    item.locator("[data-test=rating-save]").click()
    page.wait_for_selector("[data-test=member-rating]:has-text('张卫国') [data-test=success]:has-text('合格')")
    p.go("#/staff/evaluations")
    item = page.locator("[data-test=member-rating]", has_text="张卫国")
    item.locator("[data-test=rating-history-toggle]").click()
    versions = item.locator("[data-test=rating-version]")
    versions.nth(1).wait_for()
    assert versions.nth(0).inner_text().startswith("优秀（积极参加志愿服务）")
    assert versions.nth(1).inner_text().startswith("合格") and f"操作人 {city.staff1.id}" in versions.nth(1).inner_text()
    p.shot("evaluations")

    p.go("#/staff/exports")
    page.select_option("[data-test=export-kind]", "members")
    page.select_option("[data-test=export-format]", "csv")
    page.click("[data-test=export]")
    link = page.wait_for_selector("[data-test=download]", timeout=60000)
    with page.expect_download() as info:
        link.click()
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf") and "张卫国" in data.decode("utf-8-sig")
    assert info.value.suggested_filename.endswith(".csv")
    p.shot("exports")
    assert not worker  # no job failed


def test_staff_set_and_clear_the_time_bank_rules(phone, city):
    """积分规则: a daily cap and an expiry saved, shown again, then the cap cleared."""
    from backend.timebank.models import TimebankPolicy

    p = phone("staff")
    page = p.login("staff1")
    page.click("a[href='#/staff/policy']")
    p.settle()
    page.fill("[data-test=policy-cap]", "100")
    page.fill("[data-test=policy-expiry]", "12")
    page.click("[data-test=policy-submit]")
    text = page.wait_for_selector("[data-test=policy-result] [data-test=success]").inner_text()
    assert "每人每天最多 100 分" in text and "12 个月后过期" in text
    p.go("#/staff/policy")
    assert page.input_value("[data-test=policy-cap]") == "100" and page.input_value("[data-test=policy-expiry]") == "12"
    page.fill("[data-test=policy-cap]", "")
    page.click("[data-test=policy-submit]")
    page.wait_for_selector("[data-test=policy-result] [data-test=success]:has-text('每日不限')")
    db.session.expire_all()
    policy = db.session.get(TimebankPolicy, city.c1.id)
    assert (policy.daily_cap, policy.expiry_months) == (None, 12)
    p.shot("policy")


def test_staff_find_a_wrong_earning_in_the_community_s_transfers_and_reverse_it(phone, city):
    """积分流水: the community's earnings newest first; 冲正 asks for the reason, then the earning
    shows as reversed and the reversal heads the list; the ledger still verifies."""
    from sqlalchemy import select

    from backend.timebank.earn import award
    from backend.timebank.models import Transfer
    from backend.timebank.verify import verify

    for i, who in enumerate((city.member, city.member2)):
        award(db.session, community_id=city.c1.id, actor_id=city.staff1.id, entries=[
            {"user_id": who.id, "amount": 20 + i, "ref_type": "test", "ref_id": i, "memo": f"活动{i}"}])
    db.session.commit()
    p = phone("staff")
    page = p.login("staff1")
    page.click("a[href='#/staff/transfers']")
    p.settle()
    rows = page.locator("[data-test=transfer]")
    assert rows.count() == 2 and "member2" in rows.nth(0).inner_text() and "+21" in rows.nth(0).inner_text()
    wrong = rows.nth(0)
    wrong.locator("[data-test=reverse]").click()
    wrong.locator("[data-test=reverse]").click()  # no reason yet: asked for one
    page.wait_for_selector("text=请填写冲正原因")
    wrong.locator("[data-test=reverse-reason]").fill("记错人了")
    wrong.locator("[data-test=reverse]").click()
    page.wait_for_selector("[data-test=transfer] [data-test=reversed]")
    p.settle()
    assert page.locator("[data-test=transfer]").count() == 3
    top = page.locator("[data-test=transfer]").nth(0).inner_text()
    assert "冲正" in top and "−21" in top and page.locator("[data-test=transfer]").nth(0).locator("[data-test=reverse]").count() == 0
    db.session.expire_all()
    reversal = db.session.scalar(select(Transfer).where(Transfer.kind == "reverse"))
    assert reversal.memo == "记错人了" and reversal.amount == 21
    assert verify(db.session)["ok"]
    page.select_option("[data-test=transfer-kind]", "earn")
    p.settle()
    assert page.locator("[data-test=transfer]").count() == 2
    p.shot("transfers")
