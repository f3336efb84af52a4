"""The contract: "writes that move points accept an Idempotency-Key header: the same key with
the same body returns the first answer and moves nothing again". Confirming a task, duty logs
or visits, reversing a transfer and cancelling a redemption have no key of their own in the
ledger; their first answer is stored with the write (backend.replay) and given back to a retry.
Staff's creates take the same header against a double submit."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select

from backend.attendance.models import Attendance
from backend.extensions import db
from backend.replay.models import StoredAnswer
from backend.tasks.models import Task
from backend.timebank.models import Transfer
from backend.timebank.verify import verify
from tests.attendance.conftest import T0, finished
from tests.helpers import error_code, needs_pg
from tests.timebank.conftest import balance, give

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai



def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_confirm_retried_under_its_key_answers_the_first_answer(client, city, login, make_task, clock):
    task = make_task(points_per_hour=60)
    ids = finished(task, 3, minutes=60)
    clock(T0 + timedelta(hours=6))
    url, staff = f"/api/v1/tasks/{task.id}/confirm", login("staff1")
    first = client.post(url, headers={**staff, "Idempotency-Key": "confirm-1"})
    assert first.status_code == 200 and first.get_json() == {"awarded": 3, "points": 180, "confirmed": 3}
    assert "Idempotent-Replayed" not in first.headers
    # a retry after a lost answer: the first answer again, nothing moved
    again = client.post(url, headers={**staff, "Idempotency-Key": "confirm-1"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [balance(u) for u in ids] == [60, 60, 60]
    assert _count(Transfer, Transfer.kind == "earn") == 3
    # without a key (or with a new one) the confirm runs again and finds nothing left to award
    assert client.post(url, headers=staff).get_json() == {"awarded": 0, "points": 0, "confirmed": 0}
    assert client.post(url, headers={**staff, "Idempotency-Key": "confirm-2"}).get_json()["awarded"] == 0
    assert verify(db.session)["ok"]


def test_the_same_key_on_another_request_is_refused(client, city, login, make_task, clock):
    a, b = make_task(), make_task(title="扫雪")
    finished(a, 1, minutes=60)
    finished(b, 1, minutes=60)
    clock(T0 + timedelta(hours=6))
    h = {**login("staff1"), "Idempotency-Key": "k"}
    assert client.post(f"/api/v1/tasks/{a.id}/confirm", headers=h).status_code == 200
    other = client.post(f"/api/v1/tasks/{b.id}/confirm", headers=h)
    assert other.status_code == 409 and error_code(other) == "IDEMPOTENCY_MISMATCH"
    assert other.get_json()["error"]["details"] == {"idempotency_key": "k"}
    assert _count(Attendance, Attendance.task_id == b.id, Attendance.awarded_at.is_not(None)) == 0
    # a bad key is a clear 422, never stored
    long = client.post(f"/api/v1/tasks/{b.id}/confirm", headers={**h, "Idempotency-Key": "x" * 101})
    assert long.status_code == 422 and "Idempotency-Key" in long.get_json()["error"]["details"]
    empty = client.post(f"/api/v1/tasks/{b.id}/confirm", headers={**h, "Idempotency-Key": ""})
    assert empty.status_code == 422
    assert _count(StoredAnswer) == 1


def test_a_failed_request_stores_nothing_and_its_key_stays_usable(client, city, login, make_task, clock):
    task = make_task()
    finished(task, 2, minutes=60)
    clock(T0 + timedelta(hours=6))
    url, key = f"/api/v1/tasks/{task.id}/confirm", "after-403"
    denied = client.post(url, headers={**login("staff2"), "Idempotency-Key": key})
    assert denied.status_code == 403
    assert _count(StoredAnswer) == 0
    ok = client.post(url, headers={**login("staff1"), "Idempotency-Key": key})
    assert ok.status_code == 200 and ok.get_json()["awarded"] == 2


def test_keys_belong_to_their_caller(client, city, login, make_task, clock):
    """staff1's key answers only staff1: an admin who happens to send the same key on another
    task is not refused as a mismatch and is not handed staff1's answer."""
    a, b = make_task(), make_task(title="扫雪")
    finished(a, 1, minutes=60)
    finished(b, 2, minutes=60)
    clock(T0 + timedelta(hours=6))
    mine = client.post(f"/api/v1/tasks/{a.id}/confirm", headers={**login("staff1"), "Idempotency-Key": "same"})
    theirs = client.post(f"/api/v1/tasks/{b.id}/confirm", headers={**login("admin"), "Idempotency-Key": "same"})
    assert mine.get_json()["awarded"] == 1 and theirs.status_code == 200 and theirs.get_json()["awarded"] == 2
    assert _count(StoredAnswer) == 2


def test_reversal_retried_under_its_key_is_the_same_reversal(client, city, login):
    ref = give(city.c1.id, city.member.id, 20)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    url, h = f"/api/v1/transfers/{earn.id}/reversal", {**login("staff1"), "Idempotency-Key": "rev-1"}
    first = client.post(url, json={"reason": "重复录入"}, headers=h)
    assert first.status_code == 201
    again = client.post(url, json={"reason": "重复录入"}, headers=h)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert balance(city.member.id) == 0 and _count(Transfer, Transfer.kind == "reverse") == 1
    # a different reason under the same key is another request
    assert error_code(client.post(url, json={"reason": "别的"}, headers=h)) == "IDEMPOTENCY_MISMATCH"
    # without a key, a second reversal is still refused as before
    assert error_code(client.post(url, json={"reason": "再来"}, headers=login("staff1"))) == "ALREADY_REVERSED"


def test_duty_log_and_visit_confirms_answer_retries_the_same(client, city, login):
    """Both bulk confirms: the second attempt under the key answers what the first awarded
    (without a key it answers {"awarded": 0}), and pays once."""
    with time_machine.travel(NOW, tick=False):
        staff, member = login("staff1"), login("member")
        post = client.post(f"/api/v1/communities/{city.c1.id}/duty-posts", headers=staff, json={
            "name": "楼栋长", "duties": "联系本楼居民", "seats": 1, "points_per_month": 30}).get_json()
        client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={}, headers=member)
        client.post(f"/api/v1/duty-posts/{post['id']}/holders/{city.member.id}/decision", json={"approve": True},
                    headers=staff)
        log = client.post(f"/api/v1/duty-posts/{post['id']}/logs", headers=member,
                          json={"date": "2026-11-10", "minutes": 120, "note": "巡查楼道"}).get_json()
        hid = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff, json={
            "address": "幸福里3栋501", "head_name": "刘奶奶"}).get_json()["id"]
        client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
        visit = client.post(f"/api/v1/households/{hid}/visits", headers=member, json={
            "visited_at": "2026-11-10T09:00:00+08:00", "minutes": 60, "note": "陪老人聊天"}).get_json()
        for url, body in ((f"/api/v1/communities/{city.c1.id}/duty-logs/confirm", {"log_ids": [log["id"]]}),
                          (f"/api/v1/communities/{city.c1.id}/visits/confirm", {"visit_ids": [visit["id"]]})):
            h = {**staff, "Idempotency-Key": url}
            first = client.post(url, json=body, headers=h)
            assert first.status_code == 200 and first.get_json()["awarded"] == 1, first.get_json()
            again = client.post(url, json=body, headers=h)
            assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
            assert client.post(url, json=body, headers=staff).get_json()["awarded"] == 0
    assert balance(city.member.id) == 20 + 10  # 120 min of duty at 10/h, one visit


def test_a_double_submitted_task_is_one_task(client, city, login):
    url = f"/api/v1/communities/{city.c1.id}/tasks"
    body = {"title": "敬老院包饺子", "starts_at": "2026-12-20T09:00:00+08:00", "ends_at": "2026-12-20T11:00:00+08:00",
            "capacity": 10, "points_per_hour": 10, "location": {"name": "敬老院"}}
    h = {**login("staff1"), "Idempotency-Key": "new-task-1"}
    first = client.post(url, json=body, headers=h)
    assert first.status_code == 201, first.get_json()
    again = client.post(url, json=body, headers=h)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert _count(Task, Task.title == "敬老院包饺子") == 1
    # the same body without a key is a second task, as before (two real posts may look alike)
    assert client.post(url, json=body, headers=login("staff1")).get_json()["id"] != first.get_json()["id"]


def test_the_header_is_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/tasks/{task_id}/confirm", "/api/v1/transfers/{transfer_id}/reversal",
                 "/api/v1/communities/{community_id}/tasks"):
        params = spec["paths"][path]["post"].get("parameters", [])
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params), path


@needs_pg
def test_two_retries_at_once_confirm_once(app, city, login, make_task, clock):
    task = make_task(points_per_hour=60)
    ids = finished(task, 50, minutes=60)
    clock(T0 + timedelta(hours=6))
    h, url = {**login("staff1"), "Idempotency-Key": "both"}, f"/api/v1/tasks/{task.id}/confirm"
    barrier, out = threading.Barrier(3), []

    def press():
        with app.test_client() as c:
            barrier.wait()
            r = c.post(url, headers=h)
            out.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=press) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in out] == [200, 200, 200]
    assert all(body == {"awarded": 50, "points": 50 * 60, "confirmed": 50} for _, body in out), out
    assert sum(balance(u) for u in ids) == 50 * 60
    assert _count(StoredAnswer) == 1
    assert verify(db.session)["ok"]



def test_an_answer_is_kept_for_a_day_then_the_key_is_new(client, city, login, make_task, clock, time_machine):
    """Retries come within minutes; a day later the key is a new request, and the daily job
    deletes answers past their day (they can hold what a create wrote)."""
    from backend.replay.jobs import purge_answers

    task = make_task()
    finished(task, 2, minutes=60)
    clock(T0 + timedelta(hours=6))
    url, h = f"/api/v1/tasks/{task.id}/confirm", {**login("staff1"), "Idempotency-Key": "daily"}
    assert client.post(url, headers=h).get_json()["awarded"] == 2
    clock(T0 + timedelta(hours=6 + 23))
    assert client.post(url, headers=h).headers.get("Idempotent-Replayed") == "true"
    assert purge_answers() == 0 and _count(StoredAnswer) == 1
    clock(T0 + timedelta(hours=6 + 25))
    h = {**login("staff1"), "Idempotency-Key": "daily"}
    later = client.post(url, headers=h)
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["awarded"] == 0  # ran again: nothing left to award, nothing paid twice
    assert _count(Transfer, Transfer.kind == "earn") == 2
    # the new answer is the key's now; another one, past its day, is purged
    client.post(f"/api/v1/tasks/{task.id}/confirm", headers={**h, "Idempotency-Key": "old"})
    clock(T0 + timedelta(hours=6 + 25 + 24, minutes=1))
    assert purge_answers() == 2 and _count(StoredAnswer) == 0
