"""Leaderboards by month, quarter and year; expiry of old points (FIFO)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from backend.errors import ValidationFailed
from backend.extensions import db
from backend.timebank import service
from backend.timebank.expiry import months_before, run_expiry
from backend.timebank.leaderboard import leaderboard, period_bounds
from backend.timebank.models import Account, Transfer
from backend.timebank.policy import set_policy
from backend.timebank.verify import verify
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=SH), tick=False)


def test_period_bounds_follow_the_shanghai_calendar():
    assert period_bounds("2026-11") == (datetime(2026, 10, 31, 16, tzinfo=timezone.utc),
                                        datetime(2026, 11, 30, 16, tzinfo=timezone.utc))
    start, end = period_bounds("2026-Q4")
    assert start.astimezone(SH) == datetime(2026, 10, 1, tzinfo=SH) and end.astimezone(SH) == datetime(2027, 1, 1, tzinfo=SH)
    start, end = period_bounds("2026")
    assert start.astimezone(SH).month == 1 and end.astimezone(SH).year == 2027
    for bad in ("2026-13", "2026-Q5", "26", "2026-1", "", "2026-11-01"):
        with pytest.raises(ValidationFailed):
            period_bounds(bad)


def test_leaderboard_ranks_and_a_finished_period_never_changes(city, tb):
    with at(2026, 11, 30, 23, 50):  # still November in Shanghai
        ref = tb.give(city.c1.id, city.member.id, 30)
        tb.give(city.c1.id, city.member2.id, 30)
        tb.give(city.c1.id, city.resident.id, 10)
        tb.give(city.c2.id, city.resident.id, 99)  # another community's board
    with at(2026, 12, 1, 0, 10):
        tb.give(city.c1.id, city.resident.id, 50)
    board = leaderboard(db.session, city.c1.id, "2026-11")
    assert [(i["rank"], i["user_id"], i["points"]) for i in board["items"]] == [
        (1, city.member.id, 30), (1, city.member2.id, 30), (3, city.resident.id, 10)]
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    with at(2026, 12, 2, 9, 0):  # reversed after November ended: November stays as it was
        service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="误录")
        db.session.commit()
    assert leaderboard(db.session, city.c1.id, "2026-11") == board
    q4 = leaderboard(db.session, city.c1.id, "2026-Q4")["items"]
    assert [(i["user_id"], i["points"]) for i in q4] == [(city.resident.id, 60), (city.member2.id, 30)]
    assert leaderboard(db.session, city.c1.id, "2025")["items"] == []


def test_reversal_inside_the_period_counts_against_the_original(city, tb):
    with at(2026, 10, 5, 10, 0):
        ref = tb.give(city.c1.id, city.member.id, 40)
        tb.give(city.c1.id, city.member.id, 5)
        earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    with at(2026, 11, 5, 10, 0):
        service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="重复")
        db.session.commit()
    items = leaderboard(db.session, city.c1.id, "2026-Q4")["items"]
    assert [(i["user_id"], i["points"]) for i in items] == [(city.member.id, 5)]
    assert [(i["user_id"], i["points"]) for i in leaderboard(db.session, city.c1.id, "2026-10")["items"]] == [
        (city.member.id, 45)]


def test_months_before_clamps_the_day():
    now = datetime(2026, 5, 31, 12, tzinfo=SH)
    assert months_before(now, 3).astimezone(SH) == datetime(2026, 2, 28, 12, tzinfo=SH)
    assert months_before(now, 17).astimezone(SH) == datetime(2024, 12, 31, 12, tzinfo=SH)


def test_expiry_is_off_by_default(city, tb):
    with at(2025, 1, 1, 10, 0):
        tb.give(city.c1.id, city.member.id, 30)
    assert run_expiry(db.session, datetime(2026, 11, 1, tzinfo=timezone.utc)) == 0
    assert tb.balance(city.member.id) == 30


def test_expiry_moves_unspent_old_points_fifo(city, tb):
    set_policy(db.session, city.c1.id, {"expiry_months": 12}, actor_id=None)
    db.session.commit()
    with at(2025, 1, 10, 10, 0):
        tb.give(city.c1.id, city.member.id, 30)   # old: expires unless spent
    with at(2025, 3, 10, 10, 0):
        tb.give(city.c2.id, city.member.id, 20)   # old, but c2 has no expiry
    with at(2025, 12, 1, 10, 0):
        service.donate(db.session, from_user_id=city.member.id, to_user_id=city.member2.id, amount=25,
                       memo="", idempotency_key="d1")  # spends the oldest 25 of the 30
        db.session.commit()
    with at(2026, 6, 1, 10, 0):
        tb.give(city.c1.id, city.member.id, 40)   # young: stays
    now = datetime(2026, 7, 1, 10, tzinfo=SH)
    assert run_expiry(db.session, now) == 5
    db.session.commit()
    assert tb.balance(city.member.id) == 5 + 20 + 40 - 5
    assert run_expiry(db.session, now) == 0  # nothing twice
    expiry = db.session.scalar(select(Account).where(Account.community_id == city.c1.id, Account.kind == "expiry"))
    assert expiry.balance == 5
    assert tb.balance(city.member2.id) == 25  # what was donated is the receiver's, not old earnings
    assert verify(db.session)["ok"]


def test_expiry_job_is_registered_with_cron_and_runs(city, tb):
    from backend.jobs.worker import cron_entries
    from backend.timebank.jobs import expire_points

    assert any(e["func"] == "backend.timebank.jobs.expire_points" and e.get("cron") for e in cron_entries())
    with at(2024, 1, 10, 10, 0):
        tb.give(city.c1.id, city.member.id, 30)
    assert expire_points() == 0  # default off
    set_policy(db.session, city.c1.id, {"expiry_months": 6}, actor_id=None)
    db.session.commit()
    assert expire_points() == 30
    assert tb.balance(city.member.id) == 0
    t = db.session.scalar(select(Transfer).where(Transfer.kind == "expire"))
    assert t.amount == 30 and t.memo.startswith("积分过期")
