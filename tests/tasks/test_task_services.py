"""Task rules at service level (no HTTP)."""
from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.errors import Forbidden, InvalidState, ValidationFailed
from backend.tasks import services


def _kw(**over):
    start = utcnow() + timedelta(days=1)
    kw = dict(title="植树", starts_at=start, ends_at=start + timedelta(hours=2), capacity=5, lat=30.6, lng=114.3)
    kw.update(over)
    return kw


@pytest.mark.parametrize("over, field", [
    ({"ends_at": utcnow()}, "ends_at"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": 10001}, "capacity"),
    ({"points_per_hour": 1001}, "points_per_hour"),
    ({"points_per_hour": -5}, "points_per_hour"),
    ({"lat": 2.0}, "location"),
    ({"lng": 136.0}, "location"),
    ({"lng": None}, "location"),
    ({"title": "  "}, "title"),
])
def test_create_rules(city, over, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_task(city.staff1, city.c1.id, **_kw(**over))
    assert field in exc.value.details


def test_create_forbidden_elsewhere(city):
    with pytest.raises(Forbidden):
        services.create_task(city.staff2, city.c1.id, **_kw())
    task = services.create_task(city.admin, city.c1.id, **_kw(skills=[" 医疗 ", "医疗", "", "维修"]))
    assert task.skills == ["医疗", "维修"] and task.created_by_id == city.admin.id


def test_update_rules(city, make_task):
    task = make_task(capacity=3)
    services.claim_task(city.member, task.id)
    services.claim_task(city.resident, task.id)
    with pytest.raises(ValidationFailed) as exc:
        services.update_task(city.staff1, task.id, capacity=1)
    assert "capacity" in exc.value.details
    with pytest.raises(ValidationFailed):
        services.update_task(city.staff1, task.id, claimed_count=0)  # not editable
    with pytest.raises(Forbidden):
        services.update_task(city.staff2, task.id, title="x")
    assert services.update_task(city.staff1, task.id, capacity=2, points_per_hour=30).capacity == 2
    with pytest.raises(services.TaskFull):
        services.claim_task(city.member2, task.id)


def test_cancel_needs_staff_and_a_live_task(city, make_task):
    task = make_task()
    with pytest.raises(Forbidden):
        services.cancel_task(city.member, task.id, "x")
    services.cancel_task(city.staff1, task.id, "x")
    with pytest.raises(InvalidState):
        services.cancel_task(city.staff1, task.id, "x")
    with pytest.raises(services.TaskClosed):
        services.update_task(city.staff1, task.id, title="取消后不能改")
