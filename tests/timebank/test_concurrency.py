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
    assert not errors, errors[:3]
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
