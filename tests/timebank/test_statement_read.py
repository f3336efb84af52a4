"""wallet_statement: a person's summary and statement page in one read (one round trip on
PostgreSQL), equal to what wallet_summary + statement_page + statement_item give."""
from __future__ import annotations

from sqlalchemy import event, select

from backend.db import utcnow
from backend.extensions import db
from backend.timebank import service
from backend.timebank.accounts import wallet_id
from backend.timebank.models import Transfer
from backend.timebank.statement import wallet_statement
from tests.helpers import ON_PG, error_code


def _donate(frm, to, amount, key, memo=""):
    service.donate(db.session, from_user_id=frm, to_user_id=to, amount=amount, memo=memo, idempotency_key=key)
    db.session.commit()


def _history(city, tb):
    """member: +50 earned, then 7 gifts out (1..7) and 7 in (2 each) interleaved, one reversed."""
    tb.give(city.c1.id, city.member.id, 50)
    tb.give(city.c1.id, city.member2.id, 50)
    for i in range(7):
        _donate(city.member.id, city.member2.id, 1 + i, f"out{i}", memo=f"赠出{i}")
        _donate(city.member2.id, city.member.id, 2, f"in{i}")
    last_out = db.session.scalar(select(Transfer.id).where(Transfer.idempotency_key == "out6"))
    service.reverse(db.session, transfer_id=last_out, actor_id=None, reason="错误")
    db.session.commit()


def _statements(run):
    sent = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        return run(), sent
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def test_summary_and_pages_match_the_transfers(city, tb):
    _history(city, tb)
    uid, wid = city.member.id, wallet_id(db.session, city.member.id)
    mine = list(db.session.scalars(select(Transfer).where(
        (Transfer.debit_account_id == wid) | (Transfer.credit_account_id == wid)).order_by(Transfer.id.desc())))
    assert len(mine) == 16
    expected = [service.statement_item(t, wid) for t in mine]
    # signed from the member's side: the reversal of out6 gives its 7 back
    assert [i["amount"] for i in expected][:3] == [7, 2, -7]
    assert expected[-1]["amount"] == 50 and expected[-1]["balance_after"] == 50
    balance = 50 - sum(range(1, 8)) + 14 + 7

    got, before, pages = [], None, 0
    while True:
        st = wallet_statement(db.session, uid, 5, before)
        assert st.wallet_id == wid
        assert st.summary == service.wallet_summary(db.session, uid) == \
            {"balance": balance, "earned_total": 50, "spent_total": 0}
        assert len(st.rows) <= 5
        got += [r._asdict() for r in st.rows]
        pages += 1
        if len(st.rows) < 5:
            break
        before = st.rows[-1].id
    assert got == expected and pages == 4
    assert got[0]["balance_after"] == balance
    # the page from a cursor in the middle of the history, and past the oldest row
    assert [r.id for r in wallet_statement(db.session, uid, 3, mine[9].id).rows] == [t.id for t in mine[10:13]]
    assert wallet_statement(db.session, uid, 3, mine[-1].id).rows == []
    assert [r.id for r in wallet_statement(db.session, uid, 100, 10 ** 30).rows] == [t.id for t in mine]


def test_one_round_trip_on_postgresql(city, tb):
    _history(city, tb)
    uid = city.member.id
    db.session.commit()
    st, sent = _statements(lambda: wallet_statement(db.session, uid, 20))
    assert len(st.rows) == 16
    assert len(sent) == (1 if ON_PG else 2)


def test_no_wallet_and_empty_wallet(city, tb):
    st = wallet_statement(db.session, city.resident.id, 20)
    assert st == (None, {"balance": 0, "earned_total": 0, "spent_total": 0}, [])
    tb.give(city.c1.id, city.member.id, 5)
    [earn] = wallet_statement(db.session, city.member.id, 20).rows
    earn_id = earn.id
    # a wallet with no row before the cursor: the summary still comes back
    st = wallet_statement(db.session, city.member.id, 20, earn_id)
    assert st.wallet_id == wallet_id(db.session, city.member.id) and st.rows == []
    assert st.summary == {"balance": 5, "earned_total": 5, "spent_total": 0}


def test_api_account_and_statement_pages(client, city, login, tb):
    _history(city, tb)
    h = login("member")
    account = client.get("/api/v1/me/account", headers=h).get_json()
    assert account == {**service.wallet_summary(db.session, city.member.id), "service_minutes": 0}
    wid = wallet_id(db.session, city.member.id)
    expected = [service.statement_item(t, wid) for t in db.session.scalars(select(Transfer).where(
        (Transfer.debit_account_id == wid) | (Transfer.credit_account_id == wid)).order_by(Transfer.id.desc()))]
    seen, cursor, pages = [], None, 0
    while True:
        resp = client.get("/api/v1/me/transfers", query_string={"limit": 6, **({"cursor": cursor} if cursor else {})},
                          headers=h)
        assert resp.status_code == 200
        page = resp.get_json()
        pages += 1
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and [i["id"] for i in seen] == [e["id"] for e in expected]
    assert [(i["kind"], i["amount"], i["balance_after"], i["memo"], i["ref_type"], i["reverses_id"]) for i in seen] == \
        [(e["kind"], e["amount"], e["balance_after"], e["memo"], e["ref_type"], e["reverses_id"]) for e in expected]
    assert all(i["created_at"] for i in seen)
    # someone who never had a wallet
    empty = client.get("/api/v1/me/transfers", headers=login("resident")).get_json()
    assert empty == {"items": [], "next_cursor": None}
    bad = client.get("/api/v1/me/transfers", query_string={"cursor": "!!"}, headers=h)
    assert bad.status_code == 422


def test_account_and_statement_refuse_a_closed_or_logged_out_caller(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 5)
    h = login("member")
    assert client.get("/api/v1/me/transfers", headers=h).get_json()["items"][0]["amount"] == 5
    city.member.token_version += 1  # logging out everywhere
    db.session.commit()
    for path in ("/api/v1/me/account", "/api/v1/me/transfers"):
        resp = client.get(path, headers=h)
        assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED"
    h = login("member")
    assert client.get("/api/v1/me/account", headers=h).get_json()["balance"] == 5
    city.member.closed_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/me/transfers", headers=h).status_code == 401
