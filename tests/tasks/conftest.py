"""Factories for task tests."""
from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.extensions import db


@pytest.fixture
def make_task(city):
    """make_task(capacity=.., starts_in=timedelta, hours=2, community=city.c1, skills=[..]) -> Task (committed)."""
    from backend.tasks import services

    def _make(capacity=5, starts_in=timedelta(days=1), hours=2, community=None, skills=None, **kw):
        community = community or city.c1
        actor = kw.pop("actor", None) or {city.c1.id: city.staff1, city.c2.id: city.staff2}.get(community.id, city.admin)
        start = utcnow() + starts_in
        task = services.create_task(
            actor, community.id, title=kw.pop("title", "清扫楼道"), starts_at=start,
            ends_at=start + timedelta(hours=hours), capacity=capacity, location_name="小区广场",
            lat=30.5928, lng=114.3055, points_per_hour=kw.pop("points_per_hour", 10), skills=skills or [], **kw)
        db.session.commit()
        return task

    return _make


def task_body(**over):
    body = {
        "title": "敬老院探访", "description": "陪老人聊天", "category": "关爱",
        "starts_at": (utcnow() + timedelta(days=2)).isoformat(),
        "ends_at": (utcnow() + timedelta(days=2, hours=3)).isoformat(),
        "location": {"name": "幸福里敬老院", "lat": 30.59, "lng": 114.30},
        "capacity": 10, "points_per_hour": 20, "skills": ["医疗", "陪伴"],
    }
    body.update(over)
    return body
