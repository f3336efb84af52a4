"""Wallet reads stay cheap on a big ledger: the statement uses the per-side indexes, the
summary reads running totals, and verify checks those totals."""
from __future__ import annotations

import json

from sqlalchemy import event, select, text

from backend.auth.models import User
from backend.extensions import db
from backend.timebank import service
from backend.timebank.accounts import ensure_wallet, ensure_wallets
from backend.timebank.models import Account, Transfer
from backend.timebank.statement import wallet_statement
from backend.timebank.verify import verify
from tests.helpers import needs_pg


def _donate(frm, to, amount, key):
    service.donate(db.session, from_user_id=frm, to_user_id=to, amount=amount, memo="", idempotency_key=key)
    db.session.commit()


def test_statement_pages_both_sides_newest_first_without_gaps(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 50)
    tb.give(city.c1.id, city.member2.id, 50)
    for i in range(7):
        _donate(city.member.id, city.member2.id, 1 + i, f"out{i}")
        _donate(city.member2.id, city.member.id, 2, f"in{i}")
    wid = ensure_wallet(db.session, city.member.id)
    expected = [t.id for t in db.session.scalars(select(Transfer).where(
        (Transfer.debit_account_id == wid) | (Transfer.credit_account_id == wid)).order_by(Transfer.id.desc()))]
    h, seen, cursor = login("member"), [], None
    while True:
        page = client.get("/api/v1/me/transfers", query_string={"limit": 4, **({"cursor": cursor} if cursor else {})},
                          headers=h).get_json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected and len(expected) == 15
    q, _ = service.statement_query(db.session, city.member.id)  # Transfer-based conditions are adapted
    assert [t.id for t in db.session.scalars(q.where(Transfer.kind == "donate").order_by(Transfer.id))] == \
        sorted(expected)[1:]


def test_summary_reads_one_row_and_matches_the_transfers(city, tb):
    ref = tb.give(city.c1.id, city.member.id, 40)
    tb.give(city.c1.id, city.member.id, 10)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="错误")
    db.session.commit()
    uid, statements = city.member.id, []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        summary = service.wallet_summary(db.session, uid)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert summary == {"balance": 10, "earned_total": 10, "spent_total": 0}
    assert len(statements) == 1 and "transfers" not in statements[0]
    assert service.wallet_summary(db.session, city.member2.id) == {"balance": 0, "earned_total": 0, "spent_total": 0}


def test_verify_checks_the_running_totals(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    assert verify(db.session)["ok"]
    wid = ensure_wallet(db.session, city.member.id)
    db.session.execute(text("UPDATE ledger_accounts SET earned_posted = 99 WHERE id = :id"), {"id": wid})
    db.session.commit()
    report = verify(db.session)
    assert not report["ok"] and [(m["account_id"], m["stored_earned"], m["computed_earned"])
                                 for m in report["mismatches"]] == [(wid, 99, 10)]


@needs_pg
def test_statement_reads_about_a_page_on_a_big_ledger(city, tb):
    """200,000 transfers among 1,000 wallets (~400 per wallet): a page of one wallet reads through
    the two per-side indexes and stops at the page, whatever the wallet's history."""
    users = [User(openid=f"big-{i}", nickname=f"志愿者{i}") for i in range(1000)]
    db.session.add_all(users)
    db.session.commit()
    tb.give(city.c1.id, users[0].id, 5)
    wallets = sorted(ensure_wallets(db.session, [u.id for u in users]).values())
    lo = wallets[0]
    assert wallets[-1] - lo == 999  # contiguous: the rows below name them by offset
    db.session.execute(text(
        "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, memo, idempotency_key, "
        "fingerprint, debit_balance_after, credit_balance_after, created_at, hash) "
        "SELECT :lo + g % 1000, :lo + (g * 7 + 1) % 1000, 1, 'donate', '', 'big-' || g, '', 0, 0, now(), '' "
        "FROM generate_series(1, 200000) g WHERE g % 1000 <> (g * 7 + 1) % 1000"), {"lo": lo})
    db.session.execute(text("ANALYZE transfers"))
    db.session.commit()
    wid = ensure_wallet(db.session, users[3].id)
    last = db.session.scalar(select(Transfer.id).order_by(Transfer.id.desc()).limit(1))
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM transfers" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        rows = wallet_statement(db.session, users[3].id, 21, before_id=last - 100).rows
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    [(sql, params)] = statements
    with db.session.connection().connection.driver_connection.cursor() as cur:  # the statement as sent
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)

    def scans(node):
        found = [node] if node.get("Relation Name") == "transfers" else []
        for child in node.get("Plans", []):
            found += scans(child)
        return found

    read = scans(plan[0]["Plan"])
    indexes = {n.get("Index Name") for node in read for n in [node, *node.get("Plans", [])]}
    # both sides through their own indexes, never the primary key
    assert all(any((i or "").startswith(f"ix_transfers_{side}") for i in indexes) for side in ("debit", "credit")), (indexes, [(n.get("Index Cond"), n.get("Filter"), n["Actual Rows"]) for n in read])
    assert "pk_transfers" not in indexes
    mine = db.session.scalar(text("SELECT count(*) FROM transfers WHERE debit_account_id = :w "
                                  "OR credit_account_id = :w"), {"w": wid})
    # each side stops at the page: about 2 × 21 rows read of the wallet's ~400 (of 200,000)
    assert mine > 300
    assert sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in read) <= 2 * 21
    theirs = set(db.session.scalars(select(Transfer.id).where(
        (Transfer.debit_account_id == wid) | (Transfer.credit_account_id == wid))))
    assert len(rows) == 21 and {t.id for t in rows} <= theirs
    assert [t.id for t in rows] == sorted((t.id for t in rows), reverse=True)
    assert db.session.get(Account, wid) is not None
