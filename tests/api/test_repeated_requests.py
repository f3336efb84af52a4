"""A phone on a bad network: the same write sent twice (a double tap, or a retry after a timeout
whose first request did arrive) or twice at once must not make a second copy a user never
meant, must not answer a 500, and must not rewrite what was already recorded. Two genuinely
different requests still make two things."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.auth.models import User
from backend.extensions import db
from tests.helpers import needs_pg, run_threads

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audits(action: str) -> int:
    return _count(AuditLog, AuditLog.action == action)


def _twice_at_once(app, call) -> list[Exception]:
    """call() in two threads released together, each committing only after both have looked
    (a sleep): what two copies of one request do at once. The errors they raised."""
    barrier, errors = threading.Barrier(2), []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                call()
                time.sleep(0.2)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001  (the outcome is what we count)
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    run_threads(run, run)
    return errors


# ---------------------------------------------------------------- 微心愿


def test_wish_sent_twice_is_one_wish(client, city, login):
    """A resident's double tap (or a retry) of the same wish answers the first wish again."""
    from backend.wishes.models import Wish

    url, h = f"/api/v1/communities/{city.c1.id}/wishes", login("resident")
    body = {"title": "想要一台收音机", "type": "物质", "description": "老伴爱听戏"}
    first = client.post(url, json=body, headers=h)
    again = client.post(url, json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count(Wish, Wish.user_id == city.resident.id) == 1
    # a different wish is a new one
    other = client.post(url, json={**body, "title": "想学用智能手机"}, headers=h)
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


def test_same_wish_later_or_after_a_decision_is_a_new_wish(client, city, login):
    """Only a repeat of a wish still waiting, sent within minutes, is the same wish."""
    url, body = f"/api/v1/communities/{city.c1.id}/wishes", {"title": "修理轮椅", "type": "物质"}
    with time_machine.travel(NOW, tick=False):
        first = client.post(url, json=body, headers=login("resident")).get_json()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        later = client.post(url, json=body, headers=login("resident")).get_json()
        assert later["id"] != first["id"]
        assert client.post(f"/api/v1/wishes/{later['id']}/decision", json={"approve": False, "reason": "重复"},
                           headers=login("staff1")).status_code == 200
        again = client.post(url, json=body, headers=login("resident"))
        assert again.status_code == 201 and again.get_json()["id"] not in (first["id"], later["id"])


@needs_pg
def test_wish_sent_twice_at_once_is_one_wish(app, city):
    from backend.wishes import services
    from backend.wishes.models import Wish

    uid, cid = city.resident.id, city.c1.id
    errors = _twice_at_once(app, lambda: services.post_wish(db.session.get(User, uid), cid, title="收音机", type="物质"))
    assert errors == [] and _count(Wish, Wish.user_id == uid) == 1


# ---------------------------------------------------------------- consents


@needs_pg
def test_first_consent_sent_twice_at_once_is_not_a_500(app, city):
    """The consent switch tapped twice (or retried) before any answer: one consent, one change, no error."""
    from backend.feedback.consents import UNIT_FEEDBACK, set_consent
    from backend.feedback.models import Consent, ConsentChange

    uid = city.member.id
    errors = _twice_at_once(app, lambda: set_consent(db.session.get(User, uid), UNIT_FEEDBACK, True, "2026-11"))
    assert errors == []
    assert _count(Consent, Consent.user_id == uid) == 1
    assert _count(ConsentChange, ConsentChange.user_id == uid) == 1


# ---------------------------------------------------------------- 三会一课


def _meeting_body(**kw):
    start = NOW + timedelta(days=2)
    return {"kind": "支部党员大会", "title": "学习全会精神", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "location": "党群服务中心", **kw}


def test_meeting_sent_twice_is_one_meeting(client, city, login):
    """Staff's double tap schedules one meeting: a second copy would expect every member twice."""
    from backend.partywork.models_meetings import Meeting

    url = f"/api/v1/communities/{city.c1.id}/meetings"
    with time_machine.travel(NOW, tick=False):
        staff = login("staff1")
        first = client.post(url, json=_meeting_body(), headers=staff)
        again = client.post(url, json=_meeting_body(), headers=staff)
        assert first.status_code == 201 and again.status_code == 201
        assert again.get_json()["id"] == first.get_json()["id"]
        assert _count(Meeting) == 1 and _audits("meeting.create") == 1
        # another list of members, or another time, is another meeting
        fewer = client.post(url, json=_meeting_body(member_ids=[city.member.id]), headers=staff)
        later = client.post(url, json=_meeting_body(title="党课"), headers=staff)
        assert len({first.get_json()["id"], fewer.get_json()["id"], later.get_json()["id"]}) == 3


def test_meeting_leave_sent_twice_changes_nothing(client, city, login):
    """The same 请假 again keeps the first record (who, when) and writes no second audit row."""
    from backend.partywork.models_meetings import MeetingAttendee

    with time_machine.travel(NOW, tick=False):
        m = client.post(f"/api/v1/communities/{city.c1.id}/meetings", json=_meeting_body(),
                        headers=login("staff1")).get_json()
        url, body = f"/api/v1/meetings/{m['id']}/leaves", {"user_id": city.member.id, "reason": "出差"}
        first = client.post(url, json=body, headers=login("staff1"))
        assert first.status_code == 201
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        again = client.post(url, json=body, headers=login("staff1"))
        assert again.status_code == 201 and again.get_json() == first.get_json()
    db.session.expire_all()
    row = db.session.scalar(select(MeetingAttendee).where(MeetingAttendee.meeting_id == m["id"],
                                                          MeetingAttendee.user_id == city.member.id))
    assert row.leave_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)  # the first 请假's time, kept
    assert _audits("meeting.leave") == 1
    # a new reason is a real change, recorded
    changed = client.post(url, json={**body, "reason": "病假"}, headers=login("staff1"))
    assert changed.status_code == 201 and _audits("meeting.leave") == 2


# ---------------------------------------------------------------- quiet members' follow-ups


def test_follow_up_sent_twice_is_recorded_once(client, city, login):
    from backend.partywork.models_misc import FollowUp

    url = f"/api/v1/communities/{city.c1.id}/follow-ups"
    body = {"user_id": city.member.id, "status": "失联", "note": "电话未接"}
    with time_machine.travel(NOW, tick=False):
        first = client.post(url, json=body, headers=login("staff1"))
    with time_machine.travel(NOW + timedelta(seconds=20), tick=False):
        again = client.post(url, json=body, headers=login("staff1"))
    assert first.status_code == 201 and again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count(FollowUp, FollowUp.user_id == city.member.id) == 1 and _audits("member.follow_up") == 1
    # the same words another day are a new follow-up (the history keeps both)
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        later = client.post(url, json=body, headers=login("staff1"))
    assert later.status_code == 201 and later.get_json()["id"] != first.get_json()["id"]


# ---------------------------------------------------------------- 党员联系家庭 visits


def test_visit_sent_twice_is_logged_once_and_paid_once(client, city, login):
    """A visit is its household, its member and its moment: the same one sent again must not be
    confirmed and paid twice."""
    with time_machine.travel(NOW, tick=False):
        staff, member = login("staff1"), login("member")
        hid = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff, json={
            "address": "幸福里3栋501", "head_name": "刘奶奶"}).get_json()["id"]
        assert client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id},
                           headers=staff).status_code == 201
        body = {"visited_at": "2026-11-10T09:00:00+08:00", "minutes": 60, "note": "陪老人聊天"}
        first = client.post(f"/api/v1/households/{hid}/visits", json=body, headers=member)
        again = client.post(f"/api/v1/households/{hid}/visits", json=body, headers=member)
        assert first.status_code == 201 and again.status_code in (200, 201)
        assert again.get_json()["id"] == first.get_json()["id"]
        listed = client.get(f"/api/v1/households/{hid}/visits", headers=member).get_json()["items"]
        assert [v["id"] for v in listed] == [first.get_json()["id"]]
        out = client.post(f"/api/v1/communities/{city.c1.id}/visits/confirm",
                          json={"visit_ids": [first.get_json()["id"]]}, headers=staff)
        assert out.get_json() == {"awarded": 1, "points": 10}


def test_duty_log_sent_twice_is_logged_once(client, city, login):
    """The same day's duty log sent again while it waits is the same log (paid once on confirm);
    a second shift that day, told apart by its note, and the same log again later are new ones."""
    from backend.partywork import duty
    from backend.partywork.models_duty import DutyLog

    with time_machine.travel(NOW, tick=False):
        post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1, points_per_month=100)
        duty.apply_or_appoint(city.staff1, post.id, city.member.id)
        db.session.commit()
        member, url = login("member"), f"/api/v1/duty-posts/{post.id}/logs"
        body = {"date": "2026-11-10", "minutes": 60, "note": "巡查楼道"}
        first = client.post(url, json=body, headers=member)
        again = client.post(url, json=body, headers=member)
        assert first.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
        evening = client.post(url, json={**body, "note": "晚班巡查"}, headers=member)
        assert evening.status_code == 201 and evening.get_json()["id"] != first.get_json()["id"]
    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        later = client.post(url, json=body, headers=member)
        assert later.status_code == 201 and later.get_json()["id"] not in (first.get_json()["id"],
                                                                            evening.get_json()["id"])
    assert _count(DutyLog, DutyLog.post_id == post.id) == 3
