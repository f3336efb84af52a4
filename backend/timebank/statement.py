"""Reading a wallet: its summary in O(1) and its statement through the per-side indexes.

A wallet's transfers are those it is debited by and those it is credited by. One query with
`debit = w OR credit = w ORDER BY id DESC LIMIT n` cannot use the two indexes
(debit_account_id, id) and (credit_account_id, id): PostgreSQL walks the primary key
backwards and filters, which on a large ledger reads ~100k rows for 20. Here the statement
is a UNION ALL of the two sides (a transfer never has the same account on both sides, so no
row appears twice). A page (`wallet_statement`) also cuts each side at the page inside the
branch: PostgreSQL 15 does not push an outer ORDER BY ... LIMIT into the union's branches,
and without that it reads and sorts every row of the wallet.

`wallet_statement` is the read behind a person's account screen: the wallet's summary and a
page of its statement for a user id. On PostgreSQL it is one statement sent straight to
psycopg's cursor (the wallet by its partial unique index, the page as a LATERAL union of the
two cut sides), returning light rows already signed from the wallet's side; elsewhere it runs
through SQLAlchemy in two statements.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, Subquery, bindparam, column, select, text, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause

from backend.db import DriverStatement
from backend.timebank.models import WALLET, Account, Transfer


class StatementSelect(Select):
    """select(Transfer) over the union of a wallet's two sides.

    Conditions and orderings written against Transfer (`Transfer.id < last`,
    `Transfer.id.desc()`) are adapted to the union, so callers page it like any
    `select(Transfer)` (e.g. with api.common.paginate(q, Transfer.id, ...))."""

    inherit_cache = True
    _statement_sides: Subquery

    def _adapt(self, clause):
        if hasattr(clause, "__clause_element__"):  # an ORM attribute such as Transfer.id
            clause = clause.__clause_element__()
        if not isinstance(clause, ClauseElement):
            return clause
        table, sides = Transfer.__table__, self._statement_sides

        def swap(element):  # a column of transfers -> the same column of the union
            if isinstance(element, ColumnClause) and getattr(element, "table", None) is table:
                # a light column of the union (sides.c would build all of the union's columns)
                return column(element.key, element.type, _selectable=sides)
            return None

        return visitors.replacement_traverse(clause, {}, swap)

    def where(self, *clauses):
        return super().where(*(self._adapt(c) for c in clauses))

    def order_by(self, *clauses):
        if not clauses or clauses[0] is None:  # order_by(None) resets the ordering
            return super().order_by(*clauses)
        return super().order_by(*(self._adapt(c) for c in clauses))


def statement_select(wallet_id: int) -> StatementSelect:
    """The wallet's transfers (both sides) as Transfer objects, pageable on Transfer.id."""
    t = Transfer.__table__
    sides = union_all(select(t).where(t.c.debit_account_id == wallet_id),
                      select(t).where(t.c.credit_account_id == wallet_id)).subquery("statement")
    q = StatementSelect(aliased(Transfer, sides))
    q._statement_sides = sides
    return q


def statement_query(session: Session, user_id: int) -> tuple[Select, int | None]:
    """(query of the person's transfers, wallet id) for cursor paging on Transfer.id."""
    from backend.timebank.accounts import wallet_id

    wid = wallet_id(session, user_id)
    if wid is None:
        return select(Transfer).where(False), None
    return statement_select(wid), wid


_WALLET = DriverStatement(select(Account.id, (Account.credits_posted - Account.debits_posted).label("balance"),
                                 Account.earned_posted, Account.spent_posted)
                          .where(Account.kind == WALLET, Account.user_id == bindparam("uid")))


def _summary(row) -> dict:
    if row is None:
        return {"balance": 0, "earned_total": 0, "spent_total": 0}
    return {"balance": int(row.balance), "earned_total": int(row.earned_posted), "spent_total": int(row.spent_posted)}


def wallet_summary(session: Session, user_id: int) -> dict:
    """{"balance", "earned_total", "spent_total"} of a person (earnings and spending net of
    reversals), read from the wallet's running totals: one indexed row, whatever its history."""
    return _summary(_WALLET.first(session.connection(), {"uid": user_id}))


def statement_item(t: Transfer, wid: int) -> dict:
    """A statement row from the wallet owner's side: signed amount, their balance_after."""
    incoming = t.credit_account_id == wid
    return {"id": t.id, "kind": t.kind, "amount": t.amount if incoming else -t.amount,
            "balance_after": t.credit_balance_after if incoming else t.debit_balance_after,
            "memo": t.memo, "created_at": t.created_at, "ref_type": t.ref_type, "ref_id": t.ref_id,
            "reverses_id": t.reverses_id}


class StatementRow(NamedTuple):
    """A statement row as `statement_item` gives it (amount signed, the wallet's balance_after)."""

    id: int
    kind: str
    amount: int
    balance_after: int
    memo: str
    created_at: datetime
    ref_type: str | None
    ref_id: int | None
    reverses_id: int | None


class WalletStatement(NamedTuple):
    """A person's wallet id (None: they never had one), summary and statement page (newest first)."""

    wallet_id: int | None
    summary: dict
    rows: list[StatementRow]


_ITEM = "id, kind, {amount} AS amount, {side}_balance_after AS balance_after, memo, created_at, " \
        "ref_type, ref_id, reverses_id"


def _side_sql(side: str, amount: str) -> str:
    # the cut inside the branch: an ordered scan of (side_account_id, id) that stops at :n rows
    return (f"(SELECT {_ITEM.format(amount=amount, side=side)} FROM transfers "
            f"WHERE {side}_account_id = w.id AND id < :before ORDER BY id DESC LIMIT :n)")


# Summary and page in one round trip: the wallet by uq_ledger_accounts_wallet, then for it the
# two sides each cut at the page; a wallet without transfers still gives its one row (s.id NULL).
_WALLET_STATEMENT_PG = DriverStatement(text(
    "SELECT w.id AS wallet_id, w.credits_posted - w.debits_posted AS balance, w.earned_posted, w.spent_posted, "
    "s.id, s.kind, s.amount, s.balance_after, s.memo, s.created_at, s.ref_type, s.ref_id, s.reverses_id "
    f"FROM ledger_accounts AS w LEFT JOIN LATERAL ({_side_sql('debit', '-amount')} UNION ALL "
    f"{_side_sql('credit', 'amount')} ORDER BY id DESC LIMIT :n) AS s ON true "
    f"WHERE w.user_id = :uid AND w.kind = '{WALLET}' ORDER BY s.id DESC"))
_NO_BEFORE = 2 ** 31  # above any transfers.id (an integer column); cursors are clamped to ±this


def wallet_statement(session: Session, user_id: int, limit: int, before_id: int | None = None) -> WalletStatement:
    """A person's summary (as `wallet_summary`) and their wallet's `limit` newest statement rows
    with id < before_id (all when None), newest first, as `statement_item` would give them."""
    if before_id is not None:  # a cursor from a client: any integer, none beyond the column's range
        before_id = max(min(before_id, _NO_BEFORE), -_NO_BEFORE)
    if session.get_bind().dialect.name == "postgresql":  # the driver's cursor under psycopg
        before = _NO_BEFORE if before_id is None else before_id
        got = _WALLET_STATEMENT_PG.all(session.connection(), {"uid": user_id, "n": limit, "before": before})
        if not got:
            return WalletStatement(None, _summary(None), [])
        w = got[0]
        return WalletStatement(w.wallet_id, _summary(w), [] if w.id is None else [StatementRow._make(r[4:]) for r in got])
    w = _WALLET.first(session.connection(), {"uid": user_id})
    if w is None:
        return WalletStatement(None, _summary(None), [])
    return WalletStatement(w.id, _summary(w), _statement_rows(session, w.id, limit, before_id))


def _statement_rows(session: Session, wallet_id: int, limit: int, before_id: int | None) -> list[StatementRow]:
    """The page of `wallet_statement` through SQLAlchemy (any database), each side cut at the page."""
    t = Transfer.__table__

    def side(account_id, amount, balance_after):
        q = select(t.c.id, t.c.kind, amount.label("amount"), balance_after.label("balance_after"), t.c.memo,
                   t.c.created_at, t.c.ref_type, t.c.ref_id, t.c.reverses_id).where(account_id == wallet_id)
        if before_id is not None:
            q = q.where(t.c.id < before_id)
        return select(q.order_by(t.c.id.desc()).limit(limit).subquery())  # a subquery: SQLite too

    sides = union_all(side(t.c.debit_account_id, -t.c.amount, t.c.debit_balance_after),
                      side(t.c.credit_account_id, t.c.amount, t.c.credit_balance_after)).subquery("statement")
    q = select(sides).order_by(sides.c.id.desc()).limit(limit)
    return [StatementRow._make(r) for r in session.execute(q)]
