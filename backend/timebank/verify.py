"""Checking the ledger from first principles: balances, the zero sum, and the hash chain."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from backend.timebank.chain import HASHED, HEAD_ID, row_fields, transfer_hash
from backend.timebank.models import GENESIS, Account, ChainHead, Transfer


def verify(session: Session) -> dict:
    """Recompute every balance from the transfers, check they sum to zero and match the stored
    ones, and walk the hash chain. {"ok", "accounts", "transfers", "imbalance", "mismatches",
    "broken_link"} where broken_link is the id of the first transfer whose link is broken."""
    debits = dict(session.execute(select(Transfer.debit_account_id, func.sum(Transfer.amount))
                                  .group_by(Transfer.debit_account_id)).all())
    credits = dict(session.execute(select(Transfer.credit_account_id, func.sum(Transfer.amount))
                                   .group_by(Transfer.credit_account_id)).all())
    earned, spent = _running_totals(session)
    mismatches, stored_sum, n_accounts = [], 0, 0
    for acct in session.execute(select(Account.id, Account.debits_posted, Account.credits_posted,
                                       Account.earned_posted, Account.spent_posted).order_by(Account.id)):
        n_accounts += 1
        stored_sum += acct.credits_posted - acct.debits_posted
        d, c = int(debits.get(acct.id) or 0), int(credits.get(acct.id) or 0)
        e, s = earned.get(acct.id, 0), spent.get(acct.id, 0)
        if (d, c, e, s) != (acct.debits_posted, acct.credits_posted, acct.earned_posted, acct.spent_posted):
            mismatches.append({"account_id": acct.id, "stored": acct.credits_posted - acct.debits_posted,
                               "computed": c - d, "stored_debits": acct.debits_posted,
                               "computed_debits": d, "stored_credits": acct.credits_posted,
                               "computed_credits": c, "stored_earned": acct.earned_posted, "computed_earned": e,
                               "stored_spent": acct.spent_posted, "computed_spent": s})
    computed_sum = sum(int(v) for v in credits.values()) - sum(int(v) for v in debits.values())
    broken, count, prev, last_seq = _walk_chain(session)
    head = session.get(ChainHead, HEAD_ID, populate_existing=True)
    head_ok = head is None and count == 0 or (head is not None and head.seq == last_seq and head.hash == prev)
    imbalance = stored_sum if stored_sum else computed_sum
    return {"ok": not mismatches and imbalance == 0 and broken is None and head_ok,
            "accounts": n_accounts, "transfers": count, "imbalance": imbalance,
            "mismatches": mismatches, "broken_link": broken, "chain_head_ok": head_ok}


def _running_totals(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    """({account: earnings in net of reversals}, {account: redemptions out net of reversals})."""
    orig = aliased(Transfer)
    earned, spent = {}, {}

    def add(into, rows, sign):
        for aid, total in rows:
            into[aid] = into.get(aid, 0) + sign * int(total)

    add(earned, session.execute(select(Transfer.credit_account_id, func.sum(Transfer.amount))
                                .where(Transfer.kind == "earn").group_by(Transfer.credit_account_id)), 1)
    add(spent, session.execute(select(Transfer.debit_account_id, func.sum(Transfer.amount))
                               .where(Transfer.kind == "redeem").group_by(Transfer.debit_account_id)), 1)
    reversals = (select(orig.kind, Transfer.debit_account_id, Transfer.credit_account_id, func.sum(Transfer.amount))
                 .join(orig, orig.id == Transfer.reverses_id).where(orig.kind.in_(("earn", "redeem")))
                 .group_by(orig.kind, Transfer.debit_account_id, Transfer.credit_account_id))
    for kind, debit, credit, total in session.execute(reversals):
        if kind == "earn":
            add(earned, [(debit, total)], -1)
        else:
            add(spent, [(credit, total)], -1)
    return earned, spent


def _walk_chain(session: Session) -> tuple[int | None, int, str, int]:
    """(first broken transfer id or None, transfers seen, last hash, last seq)."""
    prev, expected_seq, broken, count = GENESIS, 1, None, 0
    cols = Transfer.__table__.c
    q = select(cols.id, cols.hash, *[cols[k] for k in HASHED]).order_by(cols.seq).execution_options(yield_per=1000)
    for t in session.execute(q):
        count += 1
        if broken is None and (t.seq != expected_seq or transfer_hash(row_fields(t), prev) != t.hash):
            broken = t.id
        prev, expected_seq = t.hash, t.seq + 1
    return broken, count, prev, expected_seq - 1
