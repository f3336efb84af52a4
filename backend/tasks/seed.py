"""Demo tasks: open posts in the first community over the coming days, one past task, two elsewhere."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from backend.clock import TZ
from backend.db import utcnow
from backend.extensions import db
from backend.tasks import services
from backend.tasks.models import Task, TaskClaim

CENTER = (30.5928, 114.3055)

# (days ahead, local start hour, hours, title, category, place, dlat, dlng, capacity, points/h, skills)
FIRST = [
    (1, 9, 3, "社区义诊：量血压测血糖", "医疗健康", "幸福里社区卫生服务站", 0.0012, 0.0008, 6, 20, ["医疗护理"]),
    (2, 14, 2, "楼道清理与小广告清除", "环境整治", "幸福里3栋楼下", -0.0009, 0.0015, 12, 10, []),
    (3, 9, 4, "独居老人上门探访", "关爱帮扶", "幸福里社区党群服务中心", 0.0004, -0.0011, 8, 15, ["心理疏导"]),
    (4, 19, 2, "四点半课堂：小学生作业辅导", "教育辅导", "社区图书室", 0.0016, 0.0003, 5, 15, ["教育辅导"]),
    (6, 8, 3, "老旧小区水电线路排查", "维修服务", "幸福里1-5栋", -0.0014, -0.0006, 4, 25, ["维修服务", "摄影摄像"]),
]
SECOND = [
    (2, 9, 3, "和平社区垃圾分类宣传", "环境整治", "和平社区广场", 0.0120, 0.0090, 10, 10, []),
    (5, 15, 2, "和平社区文艺汇演摄影", "文化活动", "和平社区活动室", 0.0115, 0.0082, 3, 20, ["摄影摄像"]),
]


def _at(days: int, hour: int) -> datetime:
    day = (utcnow().astimezone(TZ) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), TZ)


def _post(actor, community_id, spec) -> Task:
    days, hour, hours, title, category, place, dlat, dlng, capacity, pph, skills = spec
    start = _at(days, hour)
    return services.create_task(
        actor, community_id, title=title, description=f"{title}，欢迎党员和居民报名参加。", category=category,
        starts_at=start, ends_at=start + timedelta(hours=hours), location_name=place,
        lat=round(CENTER[0] + dlat, 6), lng=round(CENTER[1] + dlng, 6), capacity=capacity,
        points_per_hour=pph, skills=skills)


def seed(ctx: dict) -> None:
    c1, c2 = ctx["communities"][0], ctx["communities"][1]
    users = ctx["users"]
    staff, admin, member = users["demo-staff"], users["demo-admin"], users["demo-member"]
    first = [_post(staff, c1.id, spec) for spec in FIRST]
    for spec in SECOND:
        _post(admin, c2.id, spec)
    services.claim_task(member, first[0].id)
    services.claim_task(users["demo-resident"], first[1].id)

    # A task that already took place, claimed by the demo member (for attendance and points).
    start = _at(-3, 9)
    past = Task(community_id=c1.id, title="上周末社区环境大扫除", description="清理绿化带和公共区域", category="环境整治",
                starts_at=start, ends_at=start + timedelta(hours=3), location_name="幸福里中心花园",
                lat=CENTER[0], lng=CENTER[1], capacity=20, claimed_count=1, points_per_hour=10, skills=[],
                created_by_id=staff.id)
    db.session.add(past)
    db.session.flush()
    db.session.add(TaskClaim(task_id=past.id, user_id=member.id, created_at=start - timedelta(days=2)))
    db.session.flush()
    ctx["tasks"] = first
    ctx["past_task"] = past
