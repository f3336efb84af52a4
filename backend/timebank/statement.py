"""Reading a wallet: its summary in O(1) and its statement through the per-side indexes.

A wallet's transfers are those it is debited by and those it is credited by. One query with
`debit = w OR credit = w ORDER BY id DESC LIMIT n` cannot use the two indexes
(debit_account_id, id) and (credit_account_id, id): PostgreSQL walks the primary key
backwards and filters, which on a large ledger reads ~100k rows for 20. Here the statement
is a UNION ALL of the two sides (a transfer never has the same account on both sides, so no
row appears twice). A page (`statement_page`) also cuts each side at the page inside the
branch: PostgreSQL 15 does not push an outer ORDER BY ... LIMIT into the union's branches,
and without that it reads and sorts every row of the wallet.
"""
from __future__ import annotations

from sqlalchemy import Select, Subquery, column, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause

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


def statement_page(session: Session, wallet_id: int, limit: int, before_id: int | None = None) -> list[Transfer]:
    """The wallet's `limit` newest transfers with id < before_id (all when None), newest first.

    Each side is cut at `limit` by its own ordered index scan (ORDER BY id DESC LIMIT inside the
    branch), then the two short lists are merged: about 2 × limit rows read, whatever the wallet's
    history. PostgreSQL 15 does not plan `statement_select(...).order_by(id).limit(n)` that way:
    it reads every row of the wallet on both sides and sorts them (p99 7.5× slower with 10M
    transfers than with 10k)."""
    t = Transfer.__table__

    def side(account_id):
        q = select(t).where(account_id == wallet_id)
        if before_id is not None:
            q = q.where(t.c.id < before_id)
        return select(q.order_by(t.c.id.desc()).limit(limit).subquery())  # a subquery: SQLite too

    sides = union_all(side(t.c.debit_account_id), side(t.c.credit_account_id)).subquery("statement")
    return list(session.scalars(select(aliased(Transfer, sides)).order_by(sides.c.id.desc()).limit(limit)))


def statement_query(session: Session, user_id: int) -> tuple[Select, int | None]:
    """(query of the person's transfers, wallet id) for cursor paging on Transfer.id."""
    from backend.timebank.accounts import wallet_id

    wid = wallet_id(session, user_id)
    if wid is None:
        return select(Transfer).where(False), None
    return statement_select(wid), wid


def wallet_summary(session: Session, user_id: int) -> dict:
    """{"balance", "earned_total", "spent_total"} of a person (earnings and spending net of
    reversals), read from the wallet's running totals: one indexed row, whatever its history."""
    row = session.execute(select(Account.credits_posted, Account.debits_posted, Account.earned_posted,
                                 Account.spent_posted).where(Account.kind == WALLET, Account.user_id == user_id)).first()
    if row is None:
        return {"balance": 0, "earned_total": 0, "spent_total": 0}
    return {"balance": int(row.credits_posted - row.debits_posted), "earned_total": int(row.earned_posted),
            "spent_total": int(row.spent_posted)}


def statement_item(t: Transfer, wid: int) -> dict:
    """A statement row from the wallet owner's side: signed amount, their balance_after."""
    incoming = t.credit_account_id == wid
    return {"id": t.id, "kind": t.kind, "amount": t.amount if incoming else -t.amount,
            "balance_after": t.credit_balance_after if incoming else t.debit_balance_after,
            "memo": t.memo, "created_at": t.created_at, "ref_type": t.ref_type, "ref_id": t.ref_id,
            "reverses_id": t.reverses_id}
