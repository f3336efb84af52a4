"""Every (state, action) pair through the API: the table's moves succeed, every other is 409 INVALID_STATE."""
import pytest
from sqlalchemy import func, select, update

from backend.extensions import db
from backend.wishes import services
from backend.wishes.models import STATUSES, Wish, WishEvent
from tests.helpers import error_code

# action -> (who acts, HTTP call); each actor is one the action's permission check lets through
ACTIONS = {
    "approve": ("staff1", "decision", {"approve": True}),
    "reject": ("staff1", "decision", {"approve": False, "reason": "不符合"}),
    "claim": ("member2", "claims", None),
    "complete": ("resident", "complete", {}),
    "cancel": ("resident", "cancel", {"reason": "不需要了"}),
    "rate": ("resident", "rating", {"rating": 4}),
}
TARGET = {action: target for action, (_, target, _) in services.TRANSITIONS.items()}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", STATUSES)
def test_state_action_matrix(client, city, login, status, action):
    wish = services.post_wish(city.resident, city.c1.id, title="修理轮椅", type="物质")
    db.session.flush()
    claimer = city.member.id if status not in ("待审批", "已通过", "已驳回") else None
    db.session.execute(update(Wish).where(Wish.id == wish.id).values(status=status, claimer_id=claimer))
    db.session.commit()
    who, path, body = ACTIONS[action]
    resp = client.post(f"/api/v1/wishes/{wish.id}/{path}", json=body, headers=login(who))
    db.session.expire_all()
    events = db.session.scalar(select(func.count()).select_from(WishEvent).where(WishEvent.wish_id == wish.id))
    if status in services.TRANSITIONS[action][0]:
        assert resp.status_code in (200, 201), resp.get_json()
        assert resp.get_json()["status"] == TARGET[action]
        assert events == 2
    else:
        assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE", resp.get_json()
        assert db.session.get(Wish, wish.id).status == status and events == 1


def test_matrix_covers_the_issue_states():
    assert set(STATUSES) == {"待审批", "已通过", "已驳回", "已认领", "已完成", "已取消", "已评价"}
    legal = {(s, a) for a, (sources, _, _) in services.TRANSITIONS.items() for s in sources}
    assert len(legal) == 8  # 42 pairs in all: 8 moves, 34 refusals
