"""Time at the edges of the Asia/Shanghai calendar (UTC+8; the database stores UTC): windows
counted in local months, a local day's runs, and times in answers carrying +08:00."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from backend.attendance import codes
from backend.attendance.models import CHECKED_OUT, Attendance
from backend.auth.services import grant_role
from backend.extensions import db
from backend.seed import user_for
from backend.tasks.models import Task, TaskClaim
from tests.helpers import error_code

TZ = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    """A Shanghai wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=TZ).astimezone(timezone.utc)


def _members(community, *codes_, since=local(2025, 1, 1, 10)):
    """Members of the community approved at `since`."""
    people = []
    with time_machine.travel(since, tick=False):
        for code in codes_:
            u = user_for(code, name=code)
            grant_role(None, u.id, "member", community_id=community.id)
            people.append(u)
        db.session.commit()
    return people


def _checked_in(community, user, at: datetime) -> None:
    """A finished task attendance of `user` that began at `at` (activity at `at`)."""
    task = Task(community_id=community.id, title="活动", starts_at=at, ends_at=at + timedelta(hours=1), capacity=5,
                points_per_hour=0)
    db.session.add(task)
    db.session.flush()
    db.session.add(Attendance(task_id=task.id, user_id=user.id, community_id=community.id, status=CHECKED_OUT,
                              checkin_at=at, checkout_at=at + timedelta(hours=1), minutes=60))
    db.session.commit()


# --- quiet members: six months counted on the local calendar ------------------------------------

def test_dashboard_quiet_window_is_six_local_months_before_the_periods_local_end(client, login, city):
    # 2026-Q3 ends at 2026-10-01 00:00 in Shanghai: the six months before it begin on 04-01 00:00
    before, inside = _members(city.c2, "before", "inside")
    _checked_in(city.c2, before, local(2026, 3, 31, 10))  # the day before the window: quiet in Q3
    _checked_in(city.c2, inside, local(2026, 4, 1, 0, 10))  # the window's first local hour: not quiet
    with time_machine.travel(local(2027, 1, 15, 10), tick=False):
        h = login("staff2")
        q3 = client.get(f"/api/v1/communities/{city.c2.id}/dashboard?period=2026-Q3", headers=h).get_json()
        nov = client.get(f"/api/v1/communities/{city.c2.id}/dashboard?period=2026-11", headers=h).get_json()
    assert q3["quiet_members"] == 1
    # 2026-11's six months are 06-01 .. 11-30 (local): both were last active before them
    assert nov["quiet_members"] == 2


def test_quiet_members_just_after_local_midnight_on_the_first_count_local_months(client, login, city):
    # 00:30 on 2026-07-01 in Shanghai is still 2026-06-30 in UTC; six months back is 2026-01-01 00:30
    quiet, active = _members(city.c1, "quiet", "active")
    _checked_in(city.c1, quiet, local(2025, 12, 31, 10))  # six months and a day ago
    _checked_in(city.c1, active, local(2026, 1, 1, 9))  # within six months
    with time_machine.travel(local(2026, 7, 1, 0, 30), tick=False):
        r = client.get(f"/api/v1/communities/{city.c1.id}/quiet-members?months=6", headers=login("staff1"))
    assert r.status_code == 200, r.get_json()
    items = {i["user_id"]: i for i in r.get_json()["items"]}
    assert quiet.id in items and active.id not in items
    assert items[quiet.id]["last_activity_at"] == "2025-12-31T10:00:00+08:00"


# --- point expiry: a second run later on the same local day ------------------------------------

def test_expiry_run_again_later_on_the_same_local_day_expires_what_has_since_become_due(city):
    from backend.timebank.earn import award
    from backend.timebank.expiry import run_expiry
    from backend.timebank.policy import set_policy
    from backend.timebank.service import wallet_summary
    from backend.timebank.verify import verify

    set_policy(db.session, city.c1.id, {"expiry_months": 12}, actor_id=None)
    db.session.commit()
    for n, (hour, amount) in enumerate(((9, 30), (15, 20)), start=1):
        with time_machine.travel(local(2025, 7, 1, hour), tick=False):
            award(db.session, community_id=city.c1.id, actor_id=None,
                  entries=[{"user_id": city.member.id, "amount": amount, "ref_type": "test", "ref_id": n}])
            db.session.commit()
    assert run_expiry(db.session, local(2026, 7, 1, 10)) == 30  # the 09:00 points are a year old
    db.session.commit()
    assert run_expiry(db.session, local(2026, 7, 1, 16)) == 20  # and now the 15:00 ones too
    db.session.commit()
    assert run_expiry(db.session, local(2026, 7, 1, 16)) == 0  # nothing twice
    wallet = wallet_summary(db.session, city.member.id)
    assert wallet["balance"] == 0
    assert verify(db.session)["ok"]


# --- check-in window errors say their times in Shanghai time ------------------------------------

def test_check_in_and_out_window_errors_give_their_times_with_the_shanghai_offset(app, client, login, city):
    starts = local(2026, 11, 14, 9)
    task = Task(community_id=city.c1.id, title="清扫", starts_at=starts, ends_at=starts + timedelta(hours=2),
                capacity=5, points_per_hour=60, created_by_id=city.staff1.id)
    db.session.add(task)
    db.session.flush()
    db.session.add(TaskClaim(task_id=task.id, user_id=city.member.id))
    db.session.commit()
    ttl, secret = app.config["CHECKIN_CODE_TTL"], app.config["SECRET_KEY"]

    def code(action, at):
        return codes.make(secret, codes.Code("T", task.id, action, codes.window_of(at, ttl)))

    early = starts - timedelta(minutes=app.config["CHECKIN_EARLY_MIN"], seconds=1)
    with time_machine.travel(early, tick=False):
        member = login("member")
        r = client.post("/api/v1/checkins", json={"code": code("in", early)}, headers=member)
    assert r.status_code == 409 and error_code(r) == "TASK_CLOSED"
    assert r.get_json()["error"]["details"] == {"opens_at": "2026-11-14T07:00:00+08:00",
                                                "closes_at": "2026-11-14T11:00:00+08:00"}
    with time_machine.travel(starts, tick=False):
        assert client.post("/api/v1/checkins", json={"code": code("in", starts)}, headers=member).status_code == 201
    late = starts + timedelta(hours=2, minutes=app.config["CHECKOUT_LATE_MIN"], seconds=1)
    with time_machine.travel(late, tick=False):
        r = client.post("/api/v1/checkins", json={"code": code("out", late)}, headers=member)
    assert r.status_code == 409 and error_code(r) == "TASK_CLOSED"
    assert r.get_json()["error"]["details"] == {"closes_at": "2026-11-14T13:00:00+08:00"}
    assert db.session.scalar(select(Attendance.status)) == "checked_in"


# --- times inside a notification's data are Shanghai times too ----------------------------------

def test_task_notifications_carry_the_start_with_the_shanghai_offset(client, login, city):
    from backend.tasks.jobs import send_reminders

    starts = local(2026, 12, 20, 0, 30)  # 00:30 local: still the 19th in UTC
    tasks = []
    for title in ("周日早场", "周日夜场"):
        task = Task(community_id=city.c1.id, title=title, starts_at=starts, ends_at=starts + timedelta(hours=2),
                    capacity=5, points_per_hour=60, created_by_id=city.staff1.id)
        db.session.add(task)
        db.session.flush()
        db.session.add(TaskClaim(task_id=task.id, user_id=city.member.id))
        task.claimed_count = 1
        tasks.append(task)
    db.session.commit()
    with time_machine.travel(starts - timedelta(hours=20), tick=False):
        assert send_reminders() == 2
        db.session.commit()
        r = client.post(f"/api/v1/tasks/{tasks[1].id}/cancel", json={"reason": "降雪"}, headers=login("staff1"))
        assert r.status_code == 200, r.get_json()
        items = client.get("/api/v1/me/notifications", headers=login("member")).get_json()["items"]
    got = {(n["kind"], n["data"]["task_id"]): n["data"]["starts_at"] for n in items}
    assert got == {("task_reminder", tasks[0].id): "2026-12-20T00:30:00+08:00",
                   ("task_reminder", tasks[1].id): "2026-12-20T00:30:00+08:00",
                   ("task_cancelled", tasks[1].id): "2026-12-20T00:30:00+08:00"}


# --- local dates: a duty log at 00:30, a certificate's first and last local minute ---------------

def test_duty_log_dates_are_local_dates_just_after_midnight(client, login, city):
    from backend.partywork import duty

    with time_machine.travel(local(2026, 11, 30, 23, 50), tick=False):  # 15:50 UTC, same date
        post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1, points_per_month=30)
        duty.apply_or_appoint(city.staff1, post.id, city.member.id)
        db.session.commit()
    with time_machine.travel(local(2026, 12, 1, 0, 30), tick=False):  # 2026-11-30 16:30 in UTC
        h = login("member")
        url = f"/api/v1/duty-posts/{post.id}/logs"
        assert client.post(url, json={"date": "2026-12-01", "minutes": 30}, headers=h).status_code == 201
        assert client.post(url, json={"date": "2026-11-30", "minutes": 30}, headers=h).status_code == 201
        r = client.post(url, json={"date": "2026-12-02", "minutes": 30}, headers=h)
        assert r.status_code == 422 and "date" in r.get_json()["error"]["details"]
        r = client.post(url, json={"date": "2026-11-29", "minutes": 30}, headers=h)  # before the appointment
        assert r.status_code == 422 and "date" in r.get_json()["error"]["details"]


def test_certificate_range_runs_from_the_first_to_the_last_local_minute(client, login, city):
    from backend.feedback import figures
    from backend.feedback.periods import quarter_bounds

    for minutes, out_at in ((1, local(2026, 9, 30, 23, 59)), (2, local(2026, 10, 1, 0, 0)),
                            (4, local(2026, 12, 31, 23, 59)), (8, local(2027, 1, 1, 0, 0))):
        task = Task(community_id=city.c1.id, title=f"服务{minutes}", starts_at=out_at - timedelta(minutes=minutes),
                    ends_at=out_at, capacity=5, points_per_hour=0)
        db.session.add(task)
        db.session.flush()
        db.session.add(Attendance(task_id=task.id, user_id=city.member.id, community_id=city.c1.id,
                                  status=CHECKED_OUT, checkin_at=task.starts_at, checkout_at=out_at,
                                  minutes=minutes, awarded_at=out_at + timedelta(hours=1)))
    db.session.commit()
    assert figures.service_totals([city.member.id], *quarter_bounds("2026-Q4"))[city.member.id]["scanned_minutes"] == 6
    with time_machine.travel(local(2027, 1, 15, 10), tick=False):
        r = client.get("/api/v1/me/certificate?from=2026-10-01&to=2026-12-31", headers=login("member"))
        assert r.status_code == 200, r.get_json()
        checked = client.get(f"/api/v1/certificates/{r.headers['X-Certificate-Code']}").get_json()
    assert (checked["total_minutes"], checked["services"], checked["from"], checked["to"]) == (
        6, 2, "2026-10-01", "2026-12-31")


def test_every_notification_time_is_written_with_the_shanghai_offset(client, city, login):
    """GET /me/notifications shows data as stored: a staff cancel of a redemption and a unit
    report's decision say when in +08:00, like every other time the API answers with."""
    from tests.rewards.test_rewards import _redeem, _reward
    from tests.timebank.conftest import give

    give(city.c1.id, city.member.id, 100)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k1").get_json()
    assert client.post(f"/api/v1/redemptions/{red['id']}/cancel", headers=login("staff1")).status_code == 200
    from backend.notifications.services import notify

    notify(city.member.id, "report_reminder", {"unit": "单位", "reason": "stale", "message": "请更新",
                                               "at": datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)})
    db.session.commit()
    items = client.get("/api/v1/me/notifications", headers=login("member")).get_json()["items"]
    times = {i["kind"]: i["data"]["at"] for i in items}
    assert times["redemption_cancelled"].endswith("+08:00"), times
    assert times["report_reminder"] == "2027-01-01T00:30:00+08:00"
