"""Demo 双报到 data: demo-member approved, two pending reports, a roster and unit reports."""
from __future__ import annotations

from backend.reports import roster, services, units
from backend.seed import user_for

PENDING_PEOPLE = [("demo-member2", "党员陈静", "13900000002", ["心理疏导", "教育辅导"]),
                  ("demo-member3", "党员赵磊", "13900000003", ["维修服务"])]


def seed(ctx: dict) -> None:
    c1, c2 = ctx["communities"][0], ctx["communities"][1]
    u1, u2 = ctx["units"][0], ctx["units"][1]
    users = ctx["users"]
    staff, unit_admin = users["demo-staff"], users["demo-unit"]

    member = users["demo-member"]
    report = services.file_member_report(
        member, community_id=c1.id, unit_id=u1.id, name="张伟", phone="13800000001",
        skills=["医疗护理", "摄影摄像"], skills_other="急救培训讲师")
    services.decide_member_report(staff, report.id, True)
    for i, (code, name, phone, skills) in enumerate(PENDING_PEOPLE):
        person = user_for(code, name)
        services.file_member_report(person, community_id=(c1 if i == 0 else c2).id, unit_id=u1.id,
                                    name=name[2:], phone=phone, skills=skills)

    roster.upsert_roster(unit_admin, u1.id, [
        {"name": "张伟", "phone": "13800000001"},
        {"name": "陈静", "phone": "13900000002"},
        {"name": "孙丽", "phone": "13700000004"},
        {"name": "周军", "phone": "13600000005"},
        {"name": "吴敏", "phone": "13500000006"},
    ])

    first = units.file_unit_report(unit_admin, unit_id=u1.id, community_id=c1.id,
                                   resources=["医疗义诊", "场地", "健康讲座"], needs=["志愿者招募", "职工子女假期托管"])
    units.decide_unit_report(staff, first.id, True)
    admin = users["demo-admin"]  # the second unit has no unit_admin in the demo: the admin files for it
    units.file_unit_report(admin, unit_id=u2.id, community_id=c1.id,
                           resources=["工程维修", "车辆"], needs=["党建共建活动"])
