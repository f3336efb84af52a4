"""A member's other pages: points and rewards, donating, 微心愿, offline scans, API errors shown."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
import time_machine

from backend.extensions import db


def give_points(city, user, amount):
    from backend.timebank.earn import award

    award(db.session, community_id=city.c1.id, entries=[
        {"user_id": user.id, "amount": amount, "ref_type": "browser-test", "ref_id": user.id, "memo": "社区服务"}],
        actor_id=city.staff1.id)
    db.session.commit()


def a_member_with_points_and_a_reward(city, **reward):
    """100 points for the member and a reward on c1's shelf."""
    from backend.rewards.models import Reward

    give_points(city, city.member, 100)
    db.session.add(Reward(community_id=city.c1.id, **reward))
    db.session.commit()


def test_points_rewards_and_donation(phone, city):
    a_member_with_points_and_a_reward(city, name="保温杯", description="500ml", points=30, stock=1)
    p = phone("member")
    page = p.login("member")
    p.go("#/points")
    assert page.inner_text("[data-test=balance]") == "100"
    assert "社区服务" in page.inner_text("[data-test=statement]")
    p.shot("points")

    p.go("#/rewards")
    reward = page.locator("[data-test=reward]", has_text="保温杯")
    reward.locator("[data-test=redeem]").click()
    reward.locator("[data-test=success]").wait_for()
    page.wait_for_function("() => document.querySelector('[data-test=balance]')?.textContent === '70'")
    reward.locator("[data-test=redeem]").click()  # a new click, a new key: the last one is gone
    assert "库存不足" in reward.locator("[data-test=error]").inner_text()
    p.shot("rewards")

    p.go("#/donate")
    page.click("[data-test=donate-submit]")  # nothing filled in: the API's per-field messages
    page.wait_for_selector("[data-test=field-error-amount]")
    page.fill("[data-test=donate-to]", str(city.resident.id))
    page.fill("[data-test=donate-amount]", "500")
    page.click("[data-test=donate-submit]")
    assert "积分余额不足" in page.wait_for_selector("[data-test=donate-result] [data-test=error]").inner_text()
    page.fill("[data-test=donate-amount]", "20")
    page.fill("[data-test=donate-memo]", "送给邻居")
    page.click("[data-test=donate-submit]")
    page.wait_for_selector("[data-test=donate-result] [data-test=success]")
    page.wait_for_function("() => document.querySelector('[data-test=balance]')?.textContent === '50'")
    p.shot("donated")
    p.go("#/points")
    lines = page.locator("[data-test=transfer]").all_inner_texts()
    assert any("积分转赠" in x and "-20" in x for x in lines)
    assert any("积分兑换" in x and "-30" in x for x in lines)


def test_certificate_without_service_shows_why(phone, city, live):
    """Points alone are no service record: the page shows the API's reason (the journey gets the PDF)."""
    spec = requests.get(live + "/api/v1/openapi.json").json()["paths"]
    if "/api/v1/me/certificate" not in spec:
        pytest.skip("not built yet: GET /api/v1/me/certificate")
    give_points(city, city.member, 10)
    p = phone("member")
    page = p.login("member")
    p.go("#/certificate")
    page.click("[data-test=cert-submit]")
    error = page.wait_for_selector("[data-test=cert-result] [data-test=error]")
    assert "没有已确认的志愿服务记录" in error.inner_text()
    assert page.locator("[data-test=cert-open]").count() == 0
    p.shot("certificate-none")


def test_redemption_picked_up_with_its_code_or_cancelled(phone, city):
    a_member_with_points_and_a_reward(city, name="雨伞", description="", points=40, stock=2)
    m = phone("member")
    page = m.login("member")
    m.go("#/rewards")
    reward = page.locator("[data-test=reward]", has_text="雨伞")
    reward.locator("[data-test=redeem]").click()
    assert "领取码" in reward.locator("[data-test=success]").inner_text()
    reward.locator("[data-test=redeem]").click()
    page.wait_for_function("() => document.querySelector('[data-test=balance]')?.textContent === '20'")
    waiting = page.locator("[data-test=my-redemptions] [data-test=redemption]")
    page.wait_for_function("() => document.querySelectorAll('[data-test=my-redemptions] [data-test=pickup-code]').length === 2")
    codes = page.locator("[data-test=my-redemptions] [data-test=pickup-code]").all_inner_texts()
    assert all(len(c) == 8 and c.isdigit() for c in codes) and codes[0] != codes[1]
    m.shot("redemptions-waiting")

    # the member changes their mind about the newer one: points back, the code gone
    page.once("dialog", lambda d: d.accept())
    waiting.first.locator("[data-test=cancel-redemption]").click()
    waiting.first.locator("[data-test=status]:has-text('已取消')").wait_for()
    page.wait_for_function("() => document.querySelector('[data-test=balance]')?.textContent === '60'")
    assert page.locator("[data-test=my-redemptions] [data-test=pickup-code]").all_inner_texts() == [codes[1]]

    # at the shelf, staff type the code the member shows
    s = phone("staff")
    spage = s.login("staff1")
    s.go("#/staff")
    spage.click("[data-test=go-shelf]")
    s.settle()
    assert spage.locator("[data-test=waiting-redemptions] [data-test=redemption]").count() == 1
    spage.fill("[data-test=pickup-input]", codes[0])  # the cancelled one's code: no longer valid
    spage.click("[data-test=handover-submit]")
    assert "核销码无效" in spage.wait_for_selector("[data-test=handover-result] [data-test=error]").inner_text()
    spage.fill("[data-test=pickup-input]", codes[1])
    spage.click("[data-test=handover-submit]")
    assert "已发放：雨伞" in spage.wait_for_selector("[data-test=handover-result] [data-test=success]").inner_text()
    spage.wait_for_selector("[data-test=waiting-redemptions] >> text=没有待领取的兑换")
    s.shot("handed-over")

    m.go("#/rewards")
    assert [t.split("\n")[0] for t in waiting.all_inner_texts()] == ["雨伞", "雨伞"]
    waiting.last.locator("[data-test=status]:has-text('已领取')").wait_for()
    assert page.locator("[data-test=cancel-redemption]").count() == 0
    assert page.inner_text("[data-test=balance]") == "60"


def test_wish_posted_approved_and_claimed(phone, city):
    resident = phone("resident")
    page = resident.login("resident")
    resident.go("#/wish")
    page.fill("[data-test=communities-search]", "一社")
    page.click("[data-test=communities-option]:has-text('一社区')")
    page.fill("[data-test=wish-title]", "想学用智能手机挂号")
    page.select_option("[data-test=wish-type]", "精神")
    page.click("[data-test=wish-submit]")
    page.wait_for_selector("[data-test=wish-result] [data-test=success]")
    resident.shot("wish-posted")

    staff = phone("staff")
    spage = staff.login("staff1")
    wish = spage.locator("[data-test=pending-wish]", has_text="想学用智能手机挂号")
    wish.locator("[data-test=approve-wish]").click()
    spage.wait_for_selector("[data-test=status]:has-text('已通过')")

    member = phone("member")
    mpage = member.login("member")
    member.go("#/wish")
    item = mpage.locator("li", has_text="想学用智能手机挂号")
    item.locator("button:has-text('认领')").click()
    item.locator("[data-test=status]:has-text('已认领')").wait_for()
    member.shot("wish-claimed")
    mine = mpage.locator("[data-test=my-wish]", has_text="想学用智能手机挂号")
    member.go("#/wish")  # the claim now shows under 我的心愿, with who posted it and no resident's buttons
    mine.locator("text=我认领的 · 发布人：resident").wait_for()
    assert mine.locator("[data-test=wish-complete]").count() == 0

    # the resident confirms it was fulfilled, then rates it
    resident.go("#/wish")
    own = page.locator("[data-test=my-wish]", has_text="想学用智能手机挂号")
    own.locator("text=认领人：member").wait_for()
    own.locator("[data-test=wish-complete]").click()
    own.locator("[data-test=status]:has-text('已完成')").wait_for()
    own.locator("[data-test=wish-rating]").select_option("4")
    own.locator("[data-test=wish-rate]").click()
    own.locator("[data-test=status]:has-text('已评价')").wait_for()
    own.locator("text=评价：★★★★").wait_for()
    assert own.locator("button").count() == 0  # nothing left to do
    resident.shot("wish-rated")
    stored = page.evaluate("fetch('/api/v1/me/wishes', {headers: {Authorization: 'Bearer ' + "
                           "localStorage.getItem('mock.token')}}).then(r => r.json()).then(b => b.items[0])")
    assert stored["status"] == "已评价" and stored["rating"] == 4 and stored["claimer_name"] == "member"


def test_offline_scan_is_queued_and_sent_when_back_online(phone, claimed_task, client, login):
    # start right after a code window begins, so the scan lands in the window of the code shown
    now = datetime.now(timezone.utc)
    with time_machine.travel(now + timedelta(seconds=33 - now.timestamp() % 30), tick=True):
        staff = phone("staff")
        spage = staff.login("staff1")
        staff.go(f"#/staff/tasks/{claimed_task}")
        code = spage.wait_for_selector("[data-test=qr-code]:not(:empty)").inner_text().strip()

        member = phone("member")
        page = member.login("member")
        member.go("#/scan")
        member.context.set_offline(True)
        page.fill("[data-test=scan-code]", code)
        page.click("[data-test=scan-submit]")
        page.wait_for_selector("[data-test=queued]")
        assert page.locator("[data-test=queued-item]").count() == 1
        member.shot("queued")
        member.context.set_offline(False)  # the page hears "online" and sends the queue
        done = page.wait_for_selector("[data-test=scan-log] [data-test=scan-ok]")
        assert "签到成功" in done.inner_text() and "离线补传" in done.inner_text()
        page.wait_for_selector("[data-test=queue]:has-text('没有待上传的离线扫码')")
        # the "saved offline" note does not linger once the scan has gone
        assert "离线扫码已上传" in page.inner_text("[data-test=scan-result]")
        member.shot("sent")
    rows = client.get(f"/api/v1/tasks/{claimed_task}/attendances", headers=login("staff1")).get_json()["items"]
    assert [(r["status"], r["checkin_offline"]) for r in rows] == [("checked_in", True)]


def test_scan_errors_show_the_api_message(phone, claimed_task):
    p = phone("member")
    page = p.login("member")
    p.go("#/scan")
    assert page.inner_text("[data-test=scan-log]") == "还没有扫码记录"
    assert page.inner_text("[data-test=scan-pick]").startswith("拍照 / 选择二维码图片")  # not the browser's English button
    page.fill("[data-test=scan-code]", "T1.forged.code")
    page.click("[data-test=scan-submit]")
    error = page.wait_for_selector("[data-test=scan-result] [data-test=error]")
    assert error.inner_text().strip()
    assert page.evaluate("() => JSON.parse(localStorage.getItem('mock.checkin_queue') || '[]').length") == 0
    page.set_input_files("[data-test=scan-file]", files=[{"name": "x.png", "mimeType": "image/png", "buffer": _blank_png()}])
    assert "未能识别二维码" in page.wait_for_selector("[data-test=scan-result] [data-test=error]:has-text('二维码')").inner_text()
    assert page.locator("[data-test=scan-log] [data-test=scan-ok]").count() == 0
    p.shot("errors")


def _blank_png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (120, 120), "white").save(buf, "PNG")
    return buf.getvalue()


def test_a_member_verifies_a_phone_with_wechat(phone, city, wechat):
    """The identity page's getPhoneNumber stand-in: the number WeChat vouches for is bound, the
    page says so, and a wrong one shows the API's message."""
    p = phone("member")
    page = p.login("resident")
    p.go("#/identity")
    assert "未验证" in page.inner_text("[data-test=phone-status]")
    page.fill("[data-test=phone-number]", "12345")
    page.click("[data-test=phone-verify]")
    page.wait_for_selector("[data-test=phone-result] :has-text('手机号授权凭证无效')")
    page.fill("[data-test=phone-number]", "13912345678")
    page.click("[data-test=phone-verify]")
    page.wait_for_selector("[data-test=phone-result] [data-test=success]:has-text('13912345678')")
    p.go("#/identity")
    page.wait_for_selector("[data-test=phone-status]:has-text('已验证：13912345678')")
    p.shot("phone-verified")
    db.session.expire_all()
    assert db.session.get(type(city.resident), city.resident.id).verified_phone == "13912345678"


def test_messages_ranking_and_my_data_down_to_closing_the_account(phone, city, reported_member):
    """消息 shows the report's approval; 积分榜 ranks the community's earners of the quarter; 我的数据
    exports the person's data and closes the account (typed confirmation first), after which the
    old login no longer works."""
    from backend.auth.models import User
    from backend.timebank import earn

    earn.award(db.session, community_id=city.c1.id, actor_id=city.staff1.id, entries=[
        {"user_id": city.member.id, "amount": 30, "ref_type": "test", "ref_id": 1, "memo": "服务"},
        {"user_id": city.member2.id, "amount": 50, "ref_type": "test", "ref_id": 2, "memo": "服务"}])
    db.session.commit()
    p = phone("member")
    page = p.login("member")
    page.click("a[href='#/me/messages']")
    p.settle()
    msg = page.locator("[data-test=message]", has_text="报到审核结果")
    assert "一社区 报到已通过" in msg.inner_text()

    p.go("#/leaderboard")
    ranks = page.locator("[data-test=rank]")
    assert ranks.count() == 2
    assert "member2" in ranks.nth(0).inner_text() and "50 分" in ranks.nth(0).inner_text()
    assert "30 分" in ranks.nth(1).inner_text()
    p.shot("leaderboard")

    p.go("#/me/data")
    page.click("[data-test=mydata-export]")
    link = page.wait_for_selector("[data-test=mydata-download]")
    with page.expect_download() as info:
        link.click()
    exported = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert "张卫国" in json.dumps(exported, ensure_ascii=False)
    page.click("[data-test=close-account]")  # not confirmed: nothing happens but a message
    page.wait_for_selector("[data-test=close-result] [data-test=error]:has-text('注销')")
    db.session.expire_all()
    assert db.session.get(User, city.member.id).closed_at is None
    page.fill("[data-test=close-confirm]", "注销")
    page.click("[data-test=close-account]")
    page.wait_for_function("() => location.hash === '#/login'")
    db.session.expire_all()
    assert db.session.get(User, city.member.id).closed_at is not None
