"""The 微心愿 state machine at service level: every transition, every refusal."""
import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.notifications.models import Notification
from backend.wishes import queries, services
from backend.wishes.models import WishEvent


@pytest.fixture
def wish(city):
    w = services.post_wish(city.resident, city.c1.id, title="想要一台收音机", type="物质", description="老伴爱听戏")
    db.session.commit()
    return w


def _path(wish_id):
    return [(e.from_status, e.to_status) for e in queries.events_of(wish_id)]


def test_post_records_first_event(city, wish):
    assert wish.status == "待审批" and wish.user_id == city.resident.id
    assert _path(wish.id) == [(None, "待审批")]


def test_post_validation(city):
    with pytest.raises(ValidationFailed) as exc:
        services.post_wish(city.resident, city.c1.id, title=" ", type="金钱")
    assert set(exc.value.details) == {"title", "type"}
    with pytest.raises(NotFound):
        services.post_wish(city.resident, 999, title="x", type="精神")


def test_full_happy_path(city, wish):
    services.decide_wish(city.staff1, wish.id, True)
    assert wish.status == "已通过" and wish.decided_by_id == city.staff1.id and wish.decided_at
    services.claim_wish(city.member, wish.id)
    assert wish.status == "已认领" and wish.claimer_id == city.member.id and wish.claimed_at
    services.complete_wish(city.resident, wish.id)
    assert wish.status == "已完成" and wish.completed_at
    services.rate_wish(city.resident, wish.id, 5, "非常感谢")
    assert wish.status == "已评价" and wish.rating == 5 and wish.rating_comment == "非常感谢"
    assert _path(wish.id) == [(None, "待审批"), ("待审批", "已通过"), ("已通过", "已认领"),
                              ("已认领", "已完成"), ("已完成", "已评价")]
    actors = [e.actor_id for e in queries.events_of(wish.id)]
    assert actors == [city.resident.id, city.staff1.id, city.member.id, city.resident.id, city.resident.id]
    note = db.session.scalar(select(Notification).where(Notification.kind == "wish_claimed"))
    assert note.user_id == city.resident.id and note.ref_id == wish.id and note.data["claimer"] == "member"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "wish.approve")).object_id == wish.id


def test_reject_with_reason(city, wish):
    services.decide_wish(city.staff1, wish.id, False, "不符合要求")
    assert wish.status == "已驳回" and wish.decision_reason == "不符合要求"
    assert queries.events_of(wish.id)[-1].note == "不符合要求"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "wish.reject")).actor_id == city.staff1.id
    for act in (lambda: services.claim_wish(city.member, wish.id),
                lambda: services.decide_wish(city.staff1, wish.id, True),
                lambda: services.cancel_wish(city.resident, wish.id)):
        with pytest.raises(InvalidState):
            act()


@pytest.mark.parametrize("status_path, who", [
    ([], "resident"),
    (["approve"], "resident"),
    (["approve", "claim"], "resident"),
    (["approve", "claim"], "member"),
    (["approve", "claim"], "staff1"),
    ([], "staff1"),
])
def test_cancel_from_each_live_state(city, wish, status_path, who):
    for step in status_path:
        {"approve": lambda: services.decide_wish(city.staff1, wish.id, True),
         "claim": lambda: services.claim_wish(city.member, wish.id)}[step]()
    before = wish.status
    services.cancel_wish(getattr(city, who), wish.id, "情况变化")
    assert wish.status == "已取消" and wish.cancelled_at
    assert _path(wish.id)[-1] == (before, "已取消")
    audited = db.session.scalar(select(AuditLog).where(AuditLog.action == "wish.cancel"))
    assert (audited is not None) == (who == "staff1")
    with pytest.raises(InvalidState):
        services.rate_wish(city.resident, wish.id, 4)


def test_illegal_transitions(city, wish):
    with pytest.raises(InvalidState):
        services.claim_wish(city.member, wish.id)  # not approved yet
    with pytest.raises(InvalidState):
        services.complete_wish(city.resident, wish.id)
    with pytest.raises(InvalidState):
        services.rate_wish(city.resident, wish.id, 3)
    services.decide_wish(city.staff1, wish.id, True)
    with pytest.raises(InvalidState):
        services.decide_wish(city.staff1, wish.id, False)
    with pytest.raises(InvalidState):
        services.complete_wish(city.resident, wish.id)
    services.claim_wish(city.member, wish.id)
    with pytest.raises(InvalidState):
        services.claim_wish(city.member2, wish.id)  # only one claimer
    services.complete_wish(city.resident, wish.id)
    with pytest.raises(InvalidState):
        services.cancel_wish(city.resident, wish.id)
    services.rate_wish(city.resident, wish.id, 4)
    with pytest.raises(InvalidState):
        services.rate_wish(city.resident, wish.id, 5)
    assert wish.rating == 4
    assert len(_path(wish.id)) == 5  # refusals leave no events


def test_who_may_do_what(city, wish):
    with pytest.raises(Forbidden):
        services.decide_wish(city.staff2, wish.id, True)
    with pytest.raises(Forbidden):
        services.decide_wish(city.member, wish.id, True)
    services.decide_wish(city.staff1, wish.id, True)
    with pytest.raises(Forbidden):
        services.claim_wish(city.resident, wish.id)  # not a member
    with pytest.raises(Forbidden):
        services.cancel_wish(city.member2, wish.id)  # a stranger
    with pytest.raises(Forbidden):
        services.cancel_wish(city.staff2, wish.id)  # staff of another community
    services.claim_wish(city.member, wish.id)
    with pytest.raises(Forbidden):
        services.complete_wish(city.member, wish.id)  # only the resident confirms
    services.complete_wish(city.resident, wish.id)
    with pytest.raises(Forbidden):
        services.rate_wish(city.member, wish.id, 5)
    assert wish.status == "已完成"


def test_member_cannot_claim_own_wish(city):
    w = services.post_wish(city.member, city.c1.id, title="修水管", type="物质")
    services.decide_wish(city.staff1, w.id, True)
    with pytest.raises(Forbidden):
        services.claim_wish(city.member, w.id)


def test_rating_range(city, wish):
    services.decide_wish(city.staff1, wish.id, True)
    services.claim_wish(city.member, wish.id)
    services.complete_wish(city.resident, wish.id)
    for bad in (0, 6, True):
        with pytest.raises(ValidationFailed):
            services.rate_wish(city.resident, wish.id, bad)
    assert wish.status == "已完成"


def test_stale_status_loses(city, wish):
    """A transition decided on an outdated status is refused and leaves no event (the UPDATE is conditional)."""
    from backend.wishes.models import Wish

    services.decide_wish(city.staff1, wish.id, True)
    db.session.commit()
    # someone else cancels it meanwhile; this session still believes it is 已通过
    db.session.execute(Wish.__table__.update().where(Wish.id == wish.id).values(status="已取消"))
    assert wish.status == "已通过"
    with pytest.raises(InvalidState):
        services.claim_wish(city.member, wish.id)
    db.session.expire_all()
    assert db.session.get(Wish, wish.id).claimer_id is None
    assert len(_path(wish.id)) == 2
    assert db.session.scalar(select(Notification)) is None


def test_transition_table_is_the_only_source(city):
    assert services.allowed("待审批") == ["approve", "reject", "cancel"]
    assert services.allowed("已认领") == ["complete", "cancel"]
    assert services.allowed("已评价") == [] and services.allowed("已驳回") == []
