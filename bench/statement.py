"""Balance + the last 20 statement rows, at 10k transfers and again at `big` transfers.

Both figures read full pages: WALLETS people share the transfers, so at 10k each has about
forty rows (with 10,000 wallets most would have one, and a one-row page at 10k against a
twenty-row page at 10M compares different work). After each load the table is vacuumed and
analysed, as autovacuum would do on a production server (it is off on this machine's).

The bulk rows are written with generate_series (not the API): they are statement data, not a
valid hash chain, so the bench database fails verify afterwards, which is expected.

The service figure is `timebank.statement.wallet_statement` (summary, wallet and a page of 20 in
one read) with its rows made into the dicts the API serializes; the HTTP figure is the two GETs."""
from __future__ import annotations

import random
import statistics
import time

from sqlalchemy import text

from bench import product, wallets
from bench.report import Row

WALLETS = 500
SMALL = 10_000
SAMPLES = 1000
CHUNK = 1_000_000


def _measure(app, ids: list[int], rnd: random.Random) -> tuple[float, float]:
    """(service p99 ms, HTTP p99 ms) of balance + 20 statement rows for random people."""
    from backend.extensions import db
    from backend.timebank.statement import wallet_statement

    service, http = [], []
    with app.app_context():
        for uid in [rnd.choice(ids) for _ in range(SAMPLES)]:
            t0 = time.perf_counter()
            st = wallet_statement(db.session, uid, 20)  # the summary and the page, as the API reads them
            [r._asdict() for r in st.rows]
            service.append((time.perf_counter() - t0) * 1000)
            assert st.wallet_id is not None and len(st.rows) == 20
            db.session.rollback()
    client = app.test_client()
    for uid in [rnd.choice(ids) for _ in range(SAMPLES // 2)]:
        h = {"Authorization": "Bearer " + product.token(uid)}
        t0 = time.perf_counter()
        a = client.get("/api/v1/me/account", headers=h)
        s = client.get("/api/v1/me/transfers?limit=20", headers=h)
        http.append((time.perf_counter() - t0) * 1000)
        assert a.status_code == 200 and s.status_code == 200
    p99 = lambda xs: statistics.quantiles(xs, n=100)[98]  # noqa: E731
    return p99(service), p99(http)


def _bulk_load(n: int, first_wallet: int, last_wallet: int, start: int = 0) -> float:
    """Transfers start+1 .. start+n between the wallets, then VACUUM ANALYZE; seconds taken."""
    from backend.extensions import db

    span = last_wallet - first_wallet + 1
    t0 = time.perf_counter()
    for lo in range(start + 1, start + n + 1, CHUNK):
        hi = min(start + n, lo + CHUNK - 1)
        db.session.execute(text(
            "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, memo, idempotency_key, "
            "fingerprint, debit_balance_after, credit_balance_after, created_at, hash) "
            "SELECT :w + (g % :n), :w + ((g * 7 + 1) % :n), 1 + g % 5, 'donate', '压测', 'bulk-' || g, '', "
            "1000, 1000, now() - make_interval(secs => (:total - g) / 10.0), md5(g::text) || md5((g + 1)::text) "
            "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g"),
            {"w": first_wallet, "n": span, "lo": lo, "hi": hi, "total": start + n})
        db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) transfers"))
    return time.perf_counter() - t0


def run(big: int = 10_000_000) -> Row:
    row = Row(f"balance + last 20 rows ({big:,} transfers)", target="p99<5ms, ≤1.2x the 10k figure")
    if not product.has("backend.timebank.statement", "wallet_statement"):
        row.notes.append("the time bank's statement service has not landed")
        return row
    from backend.extensions import db

    app = product.app()
    rnd = random.Random(10)
    with app.app_context():
        _, cs, _ = product.city()
        ids = wallets.funded(WALLETS, 1000, cs[0].id, "bench-st")
        lo, hi = db.session.execute(text(
            "SELECT min(id), max(id) FROM ledger_accounts WHERE user_id = ANY(CAST(:ids AS int[]))"), {"ids": ids}).one()
        db.session.commit()
        _bulk_load(SMALL - WALLETS, lo, hi)  # each wallet's earning is already one transfer
    small_service, small_http = _measure(app, ids, rnd)
    with app.app_context():
        secs = _bulk_load(big - SMALL, lo, hi, start=SMALL)
    big_service, big_http = _measure(app, ids, rnd)
    row.product = f"p99 {big_service:.2f} ms service, {big_http:.1f} ms HTTP"
    row.ceiling = f"at 10k: {small_service:.2f} ms service, {small_http:.1f} ms HTTP"
    row.ratio = big_service / small_service
    row.ok = big_service < 5 and row.ratio <= 1.2
    row.notes.append(f"{WALLETS} wallets; bulk load to {big:,} rows and VACUUM ANALYZE took {secs:.0f}s; HTTP = GET /me/account + GET /me/transfers "
                     f"(in-process test client); the ratio column is 10M/10k")
    return row
