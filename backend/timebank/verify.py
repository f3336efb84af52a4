"""Checking the ledger from first principles: balances, the zero sum, and every account's hash chain."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from backend.timebank.chain import HASHED, row_fields, transfer_hash
from backend.timebank.models import GENESIS, Account, Transfer


def verify(session: Session) -> dict:
    """Recompute every balance from the transfers, check they sum to zero and match the stored
    ones, and walk every account's hash chain. {"ok", "accounts", "transfers", "imbalance",
    "mismatches", "broken_link", "chain_head_ok", "stale_heads"} where broken_link is the id of
    the first transfer whose hash or link is broken, stale_heads the accounts whose stored
    head is not the hash of their last transfer."""
    debits = dict(session.execute(select(Transfer.debit_account_id, func.sum(Transfer.amount))
                                  .group_by(Transfer.debit_account_id)).all())
    credits = dict(session.execute(select(Transfer.credit_account_id, func.sum(Transfer.amount))
                                   .group_by(Transfer.credit_account_id)).all())
    earned, spent = _running_totals(session)
    broken, count, heads = _walk_chains(session)
    mismatches, stale, stored_sum, n_accounts = [], [], 0, 0
    for acct in session.execute(select(Account.id, Account.debits_posted, Account.credits_posted,
                                       Account.earned_posted, Account.spent_posted, Account.head_hash)
                                .order_by(Account.id)):
        n_accounts += 1
        if acct.head_hash != heads.get(acct.id, GENESIS):
            stale.append(acct.id)
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
    imbalance = stored_sum if stored_sum else computed_sum
    return {"ok": not mismatches and imbalance == 0 and broken is None and not stale,
            "accounts": n_accounts, "transfers": count, "imbalance": imbalance,
            "mismatches": mismatches, "broken_link": broken, "chain_head_ok": not stale, "stale_heads": stale[:100]}


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


def _walk_chains(session: Session) -> tuple[int | None, int, dict[int, str]]:
    """(first broken transfer id or None, transfers seen, {account: hash of its last transfer}).

    One pass in id order walks every account's chain at once (an account's transfers are
    posted under its row lock, so their ids ascend in chain order): a transfer is broken when
    its hash is not that of its content, or a previous head it names is not the hash of the
    account's transfer before it (a row changed, removed or inserted out of chain)."""
    heads: dict[int, str] = {}
    broken, count = None, 0
    cols = Transfer.__table__.c
    q = select(cols.id, cols.hash, *[cols[k] for k in HASHED]).order_by(cols.id).execution_options(yield_per=1000)
    for t in session.execute(q):
        count += 1
        d, c = t.debit_account_id, t.credit_account_id
        if broken is None and (t.debit_prev_hash != heads.get(d, GENESIS) or t.credit_prev_hash != heads.get(c, GENESIS)
                               or transfer_hash(row_fields(t)) != t.hash):
            broken = t.id
        heads[d] = heads[c] = t.hash
    return broken, count, heads
