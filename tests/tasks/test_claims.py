"""Claiming and giving back seats: service level and through the API."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from backend.db import utcnow
from backend.extensions import db
from backend.tasks import services
from backend.tasks.models import Task, TaskClaim
from tests.helpers import error_code


def _count(task_id):
    db.session.expire_all()
    return db.session.get(Task, task_id).claimed_count


def test_claim_takes_a_seat(city, make_task):
    task = make_task(capacity=2)
    claim = services.claim_task(city.member, task.id)
    assert claim.status == "active" and claim.user_id == city.member.id
    assert _count(task.id) == 1


def test_claim_twice_is_already_claimed(city, make_task):
    task = make_task(capacity=2)
    services.claim_task(city.member, task.id)
    with pytest.raises(services.AlreadyClaimed):
        services.claim_task(city.member, task.id)
    assert _count(task.id) == 1


def test_full_task(city, make_task):
    task = make_task(capacity=1)
    services.claim_task(city.member, task.id)
    with pytest.raises(services.TaskFull):
        services.claim_task(city.resident, task.id)
    assert _count(task.id) == 1


def test_claim_after_start_end_or_cancel_is_closed(city, make_task):
    started = make_task(starts_in=timedelta(hours=1))
    cancelled = make_task()
    services.cancel_task(city.staff1, cancelled.id, "取消")
    with pytest.raises(services.TaskClosed):
        services.claim_task(city.member, cancelled.id)
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        with pytest.raises(services.TaskClosed):
            services.claim_task(city.member, started.id)
    with time_machine.travel(utcnow() + timedelta(hours=5)):
        with pytest.raises(services.TaskClosed):
            services.claim_task(city.member, started.id)
    assert _count(started.id) == 0 and _count(cancelled.id) == 0


def test_unclaim_then_claim_again(city, make_task):
    task = make_task(capacity=1)
    services.claim_task(city.member, task.id)
    old = services.unclaim_task(city.member, task.id)
    assert old.status == "cancelled" and old.cancelled_at is not None
    assert _count(task.id) == 0
    services.claim_task(city.resident, task.id)  # the seat is free again
    with pytest.raises(services.TaskFull):
        services.claim_task(city.member, task.id)
    services.unclaim_task(city.resident, task.id)
    again = services.claim_task(city.member, task.id)
    assert again.id != old.id
    assert db.session.scalar(select(func.count()).select_from(TaskClaim).where(TaskClaim.user_id == city.member.id)) == 2


def test_unclaim_without_claim_is_not_found(city, make_task):
    from backend.errors import NotFound

    task = make_task()
    with pytest.raises(NotFound):
        services.unclaim_task(city.member, task.id)


def test_unclaim_after_start_is_closed(city, make_task):
    task = make_task(starts_in=timedelta(hours=1))
    services.claim_task(city.member, task.id)
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=1)):
        with pytest.raises(services.TaskClosed):
            services.unclaim_task(city.member, task.id)
    assert _count(task.id) == 1


def test_api_claim_and_unclaim(client, city, login, make_task):
    task = make_task(capacity=1)
    h = login("resident")
    resp = client.post(f"/api/v1/tasks/{task.id}/claims", headers=h)
    assert resp.status_code == 201
    assert resp.get_json()["task_id"] == task.id and resp.get_json()["status"] == "active"
    again = client.post(f"/api/v1/tasks/{task.id}/claims", headers=h)
    assert again.status_code == 409 and error_code(again) == "ALREADY_CLAIMED"
    full = client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member"))
    assert full.status_code == 409 and error_code(full) == "TASK_FULL"
    assert _count(task.id) == 1
    resp = client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=h)
    assert resp.status_code == 204 and resp.data == b""
    assert _count(task.id) == 0
    none = client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=h)
    assert none.status_code == 404 and error_code(none) == "NOT_FOUND"
    assert client.post("/api/v1/tasks/999/claims", headers=h).status_code == 404
    assert client.post(f"/api/v1/tasks/{task.id}/claims").status_code == 401


def test_api_claim_closed_and_unclaim_after_start(client, city, login, make_task):
    task = make_task(starts_in=timedelta(hours=1))
    h, h2 = login("member"), login("resident")
    assert client.post(f"/api/v1/tasks/{task.id}/claims", headers=h).status_code == 201
    with time_machine.travel(utcnow() + timedelta(hours=1, seconds=1)):
        late = client.post(f"/api/v1/tasks/{task.id}/claims", headers=h2)
        assert late.status_code == 409 and error_code(late) == "TASK_CLOSED"
        keep = client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=h)
        assert keep.status_code == 409 and error_code(keep) == "TASK_CLOSED"
    assert _count(task.id) == 1


def test_cancelled_task_claim_is_closed(client, city, login, make_task):
    task = make_task()
    client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "x"}, headers=login("staff1"))
    resp = client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member"))
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"


def test_unique_index_backs_up_the_check(city, make_task):
    """Even bypassing the service, two active claims for one person and task cannot coexist."""
    from sqlalchemy.exc import IntegrityError

    task = make_task()
    db.session.add(TaskClaim(task_id=task.id, user_id=city.member.id, status="active"))
    db.session.flush()
    db.session.add(TaskClaim(task_id=task.id, user_id=city.member.id, status="active"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
