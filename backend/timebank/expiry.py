"""Optional expiry of points older than N months (per community policy; off by default).

Spending consumes a wallet's oldest points first (FIFO over what came in); what is left of
earnings from a community with an expiry policy, older than its cutoff, moves to that
community's expiry account with kind "expire". Running again moves nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.clock import TZ
from backend.timebank.accounts import community_accounts, lock_account_rows
from backend.timebank.chain import lock_key
from backend.timebank.models import ISSUANCE, WALLET, Account, TimebankPolicy, Transfer
from backend.timebank.service import transfer


def months_before(now: datetime, months: int) -> datetime:
    """The same local wall-clock time `months` calendar months earlier (day clamped)."""
    local = now.astimezone(TZ)
    total = local.year * 12 + local.month - 1 - months
    year, month = divmod(total, 12)
    for day in (local.day, 30, 29, 28):
        try:
            return local.replace(year=year, month=month + 1, day=day).astimezone(timezone.utc)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def unspent_lots(session: Session, wallet_id: int, issuers: dict[int, int]) -> list[dict]:
    """What is left of each inflow of a wallet after FIFO spending: [{amount, at, community_id}].
    A reversed spending gives its points back to the lots it took them from (their age and
    origin), so a redemption redeemed and cancelled does not turn old points into new ones;
    a reversed expiry gives them back as a new inflow (someone decided they stay)."""
    lots: list[dict] = []
    by_id: dict[int, int] = {}  # inflow transfer id -> index of its lot
    took: dict[int, list[tuple[int, int]]] = {}  # spending transfer id -> [(lot index, points taken)]
    first = 0  # every lot before this index is empty
    q = (select(Transfer).where(or_(Transfer.debit_account_id == wallet_id, Transfer.credit_account_id == wallet_id))
         .order_by(Transfer.id))
    for t in session.scalars(q):
        if t.credit_account_id == wallet_id:
            back = took.pop(t.reverses_id, []) if t.reverses_id else []
            for i, taken in back:
                lots[i]["amount"] += taken
                first = min(first, i)
            left = t.amount - sum(taken for _, taken in back)
            if left:
                by_id[t.id] = len(lots)
                lots.append({"amount": left, "at": t.created_at,
                             "community_id": issuers.get(t.debit_account_id) if t.kind == "earn" else None})
            continue
        left, parts = t.amount, []
        target = by_id.get(t.reverses_id) if t.reverses_id else None
        if target is not None:  # a reversed earning takes back that very lot first
            taken = min(left, lots[target]["amount"])
            lots[target]["amount"] -= taken
            left -= taken
            parts.append((target, taken))
        while left and first < len(lots):
            taken = min(left, lots[first]["amount"])
            if taken:
                lots[first]["amount"] -= taken
                left -= taken
                parts.append((first, taken))
            if lots[first]["amount"] == 0:
                first += 1
        if t.kind != "expire":
            took[t.id] = parts
    return [lot for lot in lots if lot["amount"] > 0]


def run_expiry(session: Session, now: datetime) -> int:
    """Expire what the policies say has expired at `now`; returns the points moved."""
    policies = {p.community_id: p.expiry_months for p in session.scalars(
        select(TimebankPolicy).where(TimebankPolicy.expiry_months.is_not(None), TimebankPolicy.expiry_months > 0))}
    if not policies:
        return 0
    lock_key(session, "expiry:run")  # one run at a time
    issuers = dict(session.execute(select(Account.id, Account.community_id).where(
        Account.kind == ISSUANCE, Account.community_id.in_(list(policies)))).all())
    cutoffs = {cid: months_before(now, m) for cid, m in policies.items()}
    oldest = max(cutoffs.values())
    wallets = session.scalars(
        select(Account.id).where(Account.kind == WALLET, Account.closed_at.is_(None),
                                 Account.credits_posted > Account.debits_posted,
                                 Account.id.in_(select(Transfer.credit_account_id).where(
                                     Transfer.kind == "earn", Transfer.debit_account_id.in_(list(issuers)),
                                     Transfer.created_at < oldest))).order_by(Account.id)).all()
    # Every account this run may post to, locked up front in ascending id order: the postings
    # below then hold no lock out of order (and the lots read under the locks stay current).
    targets = {cid: community_accounts(session, cid)["expiry"] for cid in sorted(policies)}
    locked = lock_account_rows(session, [*wallets, *targets.values()])
    moved = 0
    for wid in wallets:
        if locked[wid].closed_at is not None:  # closed since it was picked
            continue
        due: dict[int, int] = {}
        for lot in unspent_lots(session, wid, issuers):
            cid = lot["community_id"]
            if cid in cutoffs and lot["at"] < cutoffs[cid]:
                due[cid] = due.get(cid, 0) + lot["amount"]
        for cid, amount in sorted(due.items()):
            transfer(session, debit_account_id=wid, credit_account_id=targets[cid],
                     amount=amount, kind="expire", actor_id=None,
                     # keyed by the cutoff, not the day: a later run the same day may find more due
                     idempotency_key=f"expire:{wid}:{cid}:{cutoffs[cid].astimezone(timezone.utc).isoformat()}",
                     memo=f"积分过期（{policies[cid]} 个月前获得）")
            moved += amount
    return moved
