"""The staff's live QR replaces itself before it expires (both clocks moved, nothing slept), and
the code it shows then is one a member can scan."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine


def shown(page) -> dict:
    """The code on the staff page once its picture has loaded, with the countdown."""
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-test=qr-image]'); return i.complete && i.naturalWidth > 0"
        " && i.dataset.code && i.dataset.code === document.querySelector('[data-test=qr-code]').textContent; }")
    return {"code": page.inner_text("[data-test=qr-code]"), "countdown": page.inner_text("[data-test=qr-countdown]")}


def test_task_qr_refreshes_itself_before_it_expires(phone, claimed_task, client, login):
    now = datetime.now(timezone.utc)
    start = now + timedelta(seconds=32 - now.timestamp() % 30)  # just after a code window begins
    with time_machine.travel(start, tick=True) as traveller:
        staff = phone("staff")
        staff.page.clock.install()  # the page's timers run on a clock the test can move
        page = staff.login("staff1")
        staff.go(f"#/staff/tasks/{claimed_task}")
        first = shown(page)
        assert "签到码" in first["countdown"] and "秒后失效" in first["countdown"]
        seconds = int(first["countdown"].split()[1])
        assert 30 <= seconds <= 60  # good for the rest of this window and the whole next one

        # 29 s on, the next window has begun: the page has fetched the next code by itself
        traveller.move_to(start + timedelta(seconds=29))
        page.clock.run_for(29_000)
        page.wait_for_function("c => document.querySelector('[data-test=qr-code]').textContent !== c", arg=first["code"])
        second = shown(page)
        assert second["code"] != first["code"]
        assert int(second["countdown"].split()[1]) > 30  # never shown at the edge of expiry
        staff.shot("qr-refreshed")

        # the refreshed code is genuine: the member checks in with it
        resp = client.post("/api/v1/checkins", headers=login("member"), json={"code": second["code"]})
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["action"] == "in"
