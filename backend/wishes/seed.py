"""Demo 微心愿 in the first community, one in each interesting state."""
from __future__ import annotations

from backend.auth import policy
from backend.wishes import services

WISHES = [
    ("想要一台老人收音机", "物质", "老伴爱听戏，家里的收音机坏了。", []),
    ("希望有人教我用智能手机视频通话", "精神", "想和在外地的孙子视频。", ["approve"]),
    ("家里的旧书想捐给社区图书室，需要人帮忙搬运", "物质", "大约三箱书，住6楼无电梯。", ["approve", "claim"]),
    ("孩子假期想参加书法兴趣班", "精神", "", ["approve", "claim", "complete", "rate"]),
    ("想要一台新电视", "物质", "", ["reject"]),
]


def seed(ctx: dict) -> None:
    c1 = ctx["communities"][0]
    users = ctx["users"]
    staff, member, resident = users["demo-staff"], users["demo-member"], users["demo-resident"]
    if not policy.has_role(member, "member", community_id=c1.id):
        from backend.auth.services import grant_role  # only when the reports demo did not approve one

        grant_role(None, member.id, "member", community_id=c1.id)
        from backend.extensions import db

        db.session.expire(member)
    for title, kind, description, steps in WISHES:
        wish = services.post_wish(resident, c1.id, title=title, type=kind, description=description)
        for step in steps:
            if step == "approve":
                services.decide_wish(staff, wish.id, True)
            elif step == "reject":
                services.decide_wish(staff, wish.id, False, "超出微心愿范围（建议单件价值200元以内）")
            elif step == "claim":
                services.claim_wish(member, wish.id)
            elif step == "complete":
                services.complete_wish(resident, wish.id, "已收到，谢谢！")
            elif step == "rate":
                services.rate_wish(resident, wish.id, 5, "党员同志非常热心")
