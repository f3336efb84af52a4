"""Demo data: a 爱心超市 shelf in the first community, earnings for demo-member, one donation."""
from __future__ import annotations

from sqlalchemy.orm import object_session

from backend.timebank.earn import award
from backend.timebank.service import donate

REWARDS = [("洗衣液", "蓝月亮 2kg 装", 50, 20), ("理发券", "社区理发店单次理发", 30, 40),
           ("大米", "东北大米 5kg", 80, 10), ("保温杯", "不锈钢 500ml", 120, 5)]


def seed(ctx) -> None:
    from backend.rewards.models import Reward  # the shelf lives with the rewards domain

    session = object_session(ctx["street"])  # the seeding session, without importing Flask
    first = ctx["communities"][0]
    staff = ctx["users"]["demo-staff"]
    member = ctx["users"]["demo-member"]
    resident = ctx["users"]["demo-resident"]
    for name, description, points, stock in REWARDS:
        session.add(Reward(community_id=first.id, name=name, description=description, points=points,
                           stock=stock, created_by_id=staff.id))
    entries = [{"user_id": member.id, "amount": amount, "ref_type": "seed", "ref_id": i, "memo": memo}
               for i, (amount, memo) in enumerate([(60, "垃圾分类宣传"), (40, "敬老院陪护"), (30, "楼道清理")], 1)]
    entries.append({"user_id": resident.id, "amount": 20, "ref_type": "seed", "ref_id": 4, "memo": "社区义诊协助"})
    award(session, community_id=first.id, entries=entries, actor_id=staff.id)
    donate(session, from_user_id=member.id, to_user_id=resident.id, amount=10, memo="邻里互助",
           idempotency_key=f"donate:{member.id}:seed-1")
    session.flush()
