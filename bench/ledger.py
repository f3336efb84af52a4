"""The ledger without HTTP: transfers from 8 threads vs raw SQL; confirming one big task."""
from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from datetime import timedelta

import psycopg
from sqlalchemy import event, text

from bench import ceiling, env, product, wallets
from bench.report import Row

THREADS = 8
PER_THREAD = 250


def _timed_threads(work) -> float:
    """Run work(i) in THREADS threads; seconds for all of them."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def run_threads() -> Row:
    row = Row(f"ledger service alone ({THREADS} threads)", target="≥0.8x raw SQL")
    if not product.has("backend.timebank.service", "donate"):
        row.notes.append("backend.timebank.service.donate has not landed")
        return row
    from backend.extensions import db
    from backend.timebank.service import donate

    app = product.app()
    with app.app_context():
        _, cs, _ = product.city()
        ids = wallets.funded(400, 100_000, cs[0].id, "bench-lt")
    errors = []

    def product_work(i):
        rnd = random.Random(i)
        with app.app_context():
            for _ in range(PER_THREAD):
                a, b = rnd.sample(ids, 2)
                try:
                    donate(db.session, from_user_id=a, to_user_id=b, amount=1, memo="压测", idempotency_key=uuid.uuid4().hex)
                    db.session.commit()
                except Exception as exc:  # counted, not hidden
                    db.session.rollback()
                    errors.append(repr(exc)[:100])

    curl = env.recreate_database(env.CEILING_DB)
    ceiling.setup(curl, accounts=400, balance=100_000)

    def raw_work(i):
        rnd = random.Random(i)
        with psycopg.connect(curl) as c:
            for _ in range(PER_THREAD):
                a, b = rnd.sample(range(1, 401), 2)
                ceiling.raw_transfer(c, a, b, 1, "压测")

    floor_work = _session_floor(app)
    raws, prods, floors = [], [], []
    for _ in range(env.ROUNDS):  # alternating, so a drift of the machine's speed hits both
        raws.append(THREADS * PER_THREAD / _timed_threads(raw_work))
        prods.append(THREADS * PER_THREAD / _timed_threads(product_work))
        floors.append(THREADS * PER_THREAD / _timed_threads(floor_work))
    with app.app_context():
        check = wallets.verify()
    ratios = [p / r for p, r in zip(prods, raws)]
    row.product, row.ceiling = f"{statistics.median(prods):.0f} tx/s", f"{statistics.median(raws):.0f} tx/s"
    row.ratio = statistics.median(ratios)
    row.ok = row.ratio >= 0.8 and not errors and bool(check.get("ok"))
    row.notes.append("rounds (product/raw): " + ", ".join(f"{p:.0f}/{r:.0f} tx/s = {p / r:.2f}x"
                                                         for p, r in zip(prods, raws)))
    row.notes.append(f"errors {len(errors)} {errors[:2]}; verify {check}")
    row.notes.append("floor: the raw transfer's own SQL run through the app's session (no ledger): "
                     + ", ".join(f"{f:.0f} tx/s = {f / r:.2f}x raw" for f, r in zip(floors, raws))
                     + " (no ledger that commits in the caller's session can pass this)")
    return row


def _session_floor(app):
    """work(i) for _timed_threads: the raw ceiling's transfer (lock two rows, two UPDATEs, one
    INSERT) on tables of its own in the product's database, run through the app's Flask-SQLAlchemy
    session with the statements sent straight to the driver (backend.db.DriverStatement, the
    product's cheapest way), then committed. What a session transaction costs beyond psycopg."""
    from backend.db import DriverStatement
    from backend.extensions import db

    with app.app_context():
        ceiling.setup(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                      accounts=400, balance=100_000)
    lock = DriverStatement(text("SELECT id FROM ceiling_accounts WHERE id IN (:a, :b) ORDER BY id FOR UPDATE"))
    debit = DriverStatement(text("UPDATE ceiling_accounts SET balance = balance - :n WHERE id = :a AND balance >= :n "
                                 "RETURNING id"))
    credit = DriverStatement(text("UPDATE ceiling_accounts SET balance = balance + :n WHERE id = :b RETURNING id"))
    insert = DriverStatement(text("INSERT INTO ceiling_transfers (debit_id, credit_id, amount, memo) "
                                  "VALUES (:a, :b, :n, :m) RETURNING id"))

    def work(i):
        rnd = random.Random(i)
        with app.app_context():
            for _ in range(PER_THREAD):
                a, b = rnd.sample(range(1, 401), 2)
                conn = db.session.connection()
                p = {"a": a, "b": b, "n": 1, "m": "压测"}
                lock.all(conn, p)
                if debit.first(conn, p) is not None:
                    credit.first(conn, p)
                    insert.first(conn, p)
                db.session.commit()

    return work


def run_confirm(n: int = 1000) -> Row:
    row = Row(f"confirm one task with {n} finished attendances", target="≥20,000 postings/s")
    if not product.has_route("post", "/api/v1/tasks/{task_id}/confirm"):
        row.notes.append("POST /api/v1/tasks/{task_id}/confirm has not landed")
        return row
    from backend.extensions import db
    from backend.tasks.models import Task

    app = product.app()
    with app.app_context():
        _, cs, _ = product.city()
        staff_id = product.staff(cs[0].id, f"bench-cf-staff-{time.time()}")
        members = product.users(n, f"bench-cf-{time.time()}", community_id=cs[0].id)
        start, end = product.aware(-180), product.aware(-60)
        task = Task(community_id=cs[0].id, title="压测确认", starts_at=start, ends_at=end, capacity=n, claimed_count=n,
                    points_per_hour=10, created_by_id=staff_id)
        db.session.add(task)
        db.session.flush()
        db.session.execute(text(
            "INSERT INTO attendances (task_id, user_id, community_id, status, source, checkin_at, checkout_at, "
            "checkin_offline, checkout_offline, minutes, points, created_at, updated_at) "
            "SELECT :t, u, :c, 'checked_out', 'scan', :s, :e, false, false, 120, 0, :s, :e "
            "FROM unnest(CAST(:ids AS int[])) u"),
            {"t": task.id, "c": cs[0].id, "s": start, "e": end - timedelta(minutes=1), "ids": members})
        db.session.commit()
        task_id, token = task.id, product.token(staff_id)
        engine = db.engine
    client = app.test_client()
    spent: list[tuple[float, str]] = []  # (ms, statement) of each statement the request ran

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent.append(((time.perf_counter() - conn.info.pop("bench_t0")) * 1000, " ".join(statement.split())[:40]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        t0 = time.perf_counter()
        resp = client.post(f"/api/v1/tasks/{task_id}/confirm", headers={"Authorization": "Bearer " + token})
        secs = time.perf_counter() - t0
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    body = resp.get_json()
    with app.app_context():
        check = wallets.verify()
    awarded = body.get("awarded", 0) if resp.status_code == 200 else 0
    rate = awarded / secs
    row.product = f"{rate:,.0f} postings/s ({awarded} in {secs * 1000:.0f} ms)"
    row.ok = resp.status_code == 200 and awarded == n and rate >= 20_000 and bool(check.get("ok"))
    row.notes.append(f"status {resp.status_code} {str(body)[:120]}; verify {check}")
    sql_ms = sum(ms for ms, _ in spent)
    top = ", ".join(f"{stmt} {ms:.1f}" for ms, stmt in sorted(spent, reverse=True)[:4])
    row.notes.append(f"{len(spent)} statements timed, {sql_ms:.0f} ms in them (to the cursor's return; the commit not "
                     f"included), {secs * 1000 - sql_ms:.0f} ms outside; largest (ms): {top}")
    return row
