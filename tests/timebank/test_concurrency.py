"""Real threads against PostgreSQL: no overdraft, no double posting, no deadlock."""
from __future__ import annotations

import threading

from sqlalchemy import func, select, text

from backend.extensions import db
from backend.timebank.accounts import ensure_wallet
from backend.timebank.earn import award
from backend.timebank.models import Transfer
from backend.timebank.verify import verify
from tests.helpers import needs_pg


def _run(n, work):
    """Start n threads on a barrier, each calling work(i); returns their results in order."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def body(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # reported below: a thread must not fail silently
            errors.append(repr(exc))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, [e[:1500] for e in errors[:3]]
    return results


class BalanceWatcher(threading.Thread):
    """Reads a wallet's balance over and over on its own connection; remembers the lowest."""

    def __init__(self, app, wallet_id):
        super().__init__(daemon=True)
        self.app, self.wallet_id, self.lowest, self.reads = app, wallet_id, None, 0
        self.stop = threading.Event()

    def run(self):
        with self.app.app_context():
            while not self.stop.is_set():
                value = db.session.scalar(text(
                    "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = :id"), {"id": self.wallet_id})
                db.session.rollback()
                self.lowest = value if self.lowest is None else min(self.lowest, value)
                self.reads += 1


def _post(app, headers, body, key):
    with app.test_client() as client:
        r = client.post("/api/v1/transfers", json=body, headers=dict(headers, **{"Idempotency-Key": key}))
        return r.status_code, r.get_json()


@needs_pg
def test_100_concurrent_donations_from_a_wallet_covering_10(app, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    wid = ensure_wallet(db.session, city.member.id)
    db.session.commit()
    h, body = login("member"), {"to_user_id": city.member2.id, "amount": 1, "memo": "并发"}
    watcher = BalanceWatcher(app, wid)
    watcher.start()
    try:
        results = _run(100, lambda i: _post(app, h, body, f"k{i}"))
    finally:
        watcher.stop.set()
        watcher.join()
    statuses = [s for s, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 90, statuses
    assert {b["error"]["code"] for s, b in results if s == 409} == {"INSUFFICIENT_BALANCE"}
    assert tb.balance(city.member.id) == 0 and tb.balance(city.member2.id) == 10
    assert watcher.reads > 0 and watcher.lowest >= 0
    assert verify(db.session)["ok"]


@needs_pg
def test_50_concurrent_requests_with_one_key_make_one_transfer(app, city, login, tb):
    tb.give(city.c1.id, city.member.id, 100)
    h, body = login("member"), {"to_user_id": city.member2.id, "amount": 7, "memo": "重试"}
    results = _run(50, lambda i: _post(app, h, body, "one-key"))
    assert {s for s, _ in results} == {201}
    assert len({b["id"] for _, b in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.kind == "donate")) == 1
    assert tb.balance(city.member.id) == 93


@needs_pg
def test_two_concurrent_confirmations_award_once(app, city, tb):
    people = [city.member.id, city.member2.id, city.resident.id, city.staff2.id]
    entries = [{"user_id": u, "amount": 10 + i, "ref_type": "attendance", "ref_id": 100 + i, "memo": "任务"}
               for i, u in enumerate(people)]
    community_id = city.c1.id

    def confirm(i):
        with app.app_context():
            result = award(db.session, community_id=community_id, entries=entries, actor_id=None)
            db.session.commit()
            return result

    results = _run(2, confirm)
    assert sorted(results) == [(0, 0), (4, 46)]
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 4
    assert verify(db.session)["ok"]


@needs_pg
def test_crossing_donations_do_not_deadlock(app, city, login, tb):
    tb.give(city.c1.id, city.member.id, 100)
    tb.give(city.c1.id, city.member2.id, 100)
    ha, hb = login("member"), login("member2")
    a, b = city.member.id, city.member2.id

    def go(i):
        headers, to = (ha, b) if i % 2 else (hb, a)
        return _post(app, headers, {"to_user_id": to, "amount": 1 + i % 3, "memo": ""}, f"x{i}")[0]

    assert set(_run(40, go)) == {201}
    assert tb.balance(a) + tb.balance(b) == 200
    assert verify(db.session)["ok"]


@needs_pg
def test_concurrent_redemptions_never_oversell(app, city, login, tb):
    for u in (city.member, city.member2, city.resident):
        tb.give(city.c1.id, u.id, 100)
    staff = login("staff1")
    with app.test_client() as c:
        rid = c.post(f"/api/v1/communities/{city.c1.id}/rewards", json={"name": "大米", "points": 10, "stock": 5},
                     headers=staff).get_json()["id"]
    heads = [login("member"), login("member2"), login("resident")]

    def go(i):
        with app.test_client() as c:
            return c.post(f"/api/v1/rewards/{rid}/redemptions",
                          headers=dict(heads[i % 3], **{"Idempotency-Key": f"r{i}"})).status_code

    statuses = _run(30, go)
    assert statuses.count(201) == 5 and statuses.count(409) == 25
    assert sum(tb.balance(u.id) for u in (city.member, city.member2, city.resident)) == 250
    assert verify(db.session)["ok"]


def _psycopg_url() -> str:
    return str(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))


@needs_pg
def test_a_posting_waits_only_for_its_own_accounts(app, city, tb):
    """No global lock: with member's wallet row locked elsewhere, a donation between two other
    people goes through at once, and one from member waits (here: times out)."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from backend.timebank import service

    for u in (city.member, city.member2, city.resident):
        tb.give(city.c1.id, u.id, 20)
    held = ensure_wallet(db.session, city.member.id)
    db.session.commit()
    with psycopg.connect(_psycopg_url()) as holder:
        holder.execute("SELECT id FROM ledger_accounts WHERE id = %s FOR UPDATE", (held,))
        db.session.execute(text("SET LOCAL lock_timeout = '1s'"))
        t = service.donate(db.session, from_user_id=city.member2.id, to_user_id=city.resident.id, amount=3,
                           memo="", idempotency_key="free")
        db.session.commit()
        assert t.id is not None and tb.balance(city.resident.id) == 23
        db.session.execute(text("SET LOCAL lock_timeout = '1s'"))
        try:
            service.donate(db.session, from_user_id=city.member.id, to_user_id=city.resident.id, amount=3,
                           memo="", idempotency_key="blocked")
            raise AssertionError("the donation did not wait for the locked wallet")
        except OperationalError as exc:
            assert "lock timeout" in str(exc)
        db.session.rollback()
        holder.rollback()
    assert verify(db.session)["ok"]


@needs_pg
def test_mixed_concurrent_postings_neither_deadlock_nor_break_the_chains(app, city, tb):
    """Earnings, crossing donations, redemptions, reversals and a wallet closing at once."""
    from backend.errors import DomainError
    from backend.rewards import services as rewards
    from backend.rewards.models import Reward
    from backend.timebank import service

    people = [city.member.id, city.member2.id, city.resident.id, city.staff2.id]
    for u in people:
        tb.give(city.c1.id, u, 50)
    for u in people:  # enough besides, so a reversal of the 50 never finds the wallet short
        tb.give(city.c1.id, u, 100)
    reward = Reward(community_id=city.c1.id, name="毛巾", points=3, stock=8, created_by_id=city.staff1.id)
    db.session.add(reward)
    db.session.commit()
    earnings = db.session.scalars(select(Transfer.id).where(Transfer.kind == "earn").order_by(Transfer.id)).all()
    rid, c1, outcomes = reward.id, city.c1.id, []

    def work(i):
        with app.app_context():
            try:
                kind = i % 5
                if kind == 0:
                    award(db.session, community_id=c1, actor_id=None, entries=[
                        {"user_id": people[(i + j) % 4], "amount": 2, "ref_type": "mix", "ref_id": i * 10 + j, "memo": ""}
                        for j in range(3)])
                elif kind == 1:
                    service.donate(db.session, from_user_id=people[i % 4], to_user_id=people[(i + 1) % 4], amount=1,
                                   memo="", idempotency_key=f"m{i}")
                elif kind == 2:
                    service.donate(db.session, from_user_id=people[(i + 1) % 4], to_user_id=people[i % 4], amount=1,
                                   memo="", idempotency_key=f"m{i}")
                elif kind == 3:
                    rewards.redeem(people[i % 4], rid, f"r{i}")
                elif i == 4:
                    service.close_wallet(db.session, user_id=city.staff2.id, community_id=c1, actor_id=None)
                else:
                    service.reverse(db.session, transfer_id=earnings[i % 3], actor_id=None, reason="并发冲正")
                db.session.commit()
                return "ok"
            except DomainError as exc:  # closed wallet, already reversed: answers, not crashes
                db.session.rollback()
                return exc.code

    outcomes = _run(40, work)
    assert set(outcomes) <= {"ok", "ACCOUNT_CLOSED", "ALREADY_REVERSED", "INSUFFICIENT_BALANCE"}, outcomes
    # the three earnings reversed (member, member2, resident: never the closed wallet), once each
    assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.kind == "reverse")) == 3
    report = verify(db.session)
    assert report["ok"], report


@needs_pg
def test_concurrent_reversals_of_one_transfer_post_one(app, city, tb):
    from backend.errors import DomainError
    from backend.timebank import service

    ref = tb.give(city.c1.id, city.member.id, 30)
    original = db.session.scalar(select(Transfer.id).where(Transfer.ref_id == ref))

    def go(i):
        with app.app_context():
            try:
                t = service.reverse(db.session, transfer_id=original, actor_id=None, reason="重复冲正")
                db.session.commit()
                return t.id
            except DomainError as exc:
                db.session.rollback()
                return exc.code

    results = _run(10, go)
    assert sum(isinstance(r, int) for r in results) == 1 and results.count("ALREADY_REVERSED") == 9, results
    assert tb.balance(city.member.id) == 0 and verify(db.session)["ok"]
