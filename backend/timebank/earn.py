"""Batch earning: one transaction, a bounded number of set-based statements, once per reference."""
from __future__ import annotations

from datetime import datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clock import TZ
from backend.db import utcnow
from backend.timebank.accounts import add_to_accounts, community_accounts, ensure_wallets, lock_account_rows
from backend.timebank.bulk import among, insert_transfers
from backend.timebank.chain import transfer_hash
from backend.timebank.idempotency import fingerprint
from backend.timebank.models import TimebankPolicy, Transfer


def earn_key(ref_type: str, ref_id) -> str:
    """The idempotency key of an earning: one per thing that earned it."""
    return f"earn:{ref_type}:{ref_id}"


def local_day_start(now: datetime) -> datetime:
    """Midnight (Asia/Shanghai) of the day `now` falls on, as UTC."""
    local = now.astimezone(TZ)
    return datetime.combine(local.date(), time(0), tzinfo=TZ).astimezone(timezone.utc)


def _earned_today(session: Session, issuance: int, wallets: list[int], now: datetime) -> dict[int, int]:
    rows = session.execute(
        select(Transfer.credit_account_id, func.sum(Transfer.amount))
        .where(Transfer.debit_account_id == issuance, Transfer.kind == "earn",
               Transfer.created_at >= local_day_start(now), Transfer.credit_account_id.in_(wallets))
        .group_by(Transfer.credit_account_id))
    return {wid: int(total) for wid, total in rows}


def award(session: Session, *, community_id: int, entries: list[dict], actor_id: int | None) -> tuple[int, int]:
    """Post earnings {user_id, amount, ref_type, ref_id, memo} from the community's issuance
    account to the people's wallets: exactly once per (ref_type, ref_id), within the
    community's daily cap. Returns (number awarded, total points) of what this call posted."""
    new, _ = post_earnings(session, community_id=community_id, entries=entries, actor_id=actor_id)
    return len(new), sum(new.values())


def post_earnings(session: Session, *, community_id: int, entries: list[dict],
                  actor_id: int | None) -> tuple[dict[tuple, int], dict[tuple, int]]:
    """As award(), saying what each reference earned: ({(ref_type, ref_id): points posted now},
    {(ref_type, ref_id): points posted by an earlier call}). An entry that the community's daily
    cap or a closed wallet left out is in neither, so a caller records what was really posted."""
    wanted: dict[str, dict] = {}
    for e in entries:
        if int(e["amount"]) < 0:
            raise ValueError("an earning cannot be negative")
        if int(e["amount"]) > 0:
            wanted.setdefault(earn_key(e["ref_type"], e["ref_id"]), e)
    if not wanted:
        return {}, {}
    issuance = community_accounts(session, community_id)["issuance"]
    wallets = ensure_wallets(session, [e["user_id"] for e in wanted.values()])
    # All rows locked in ascending id order. Every earning of the community debits its issuance
    # account, and an earning's key names its reference, so concurrent awards of the same
    # references queue on that row and then see each other's work (no key locks needed).
    accounts = lock_account_rows(session, [issuance, *wallets.values()])
    done = dict(session.execute(select(Transfer.idempotency_key, Transfer.amount)
                                .where(among(session, Transfer.idempotency_key, wanted))).all())
    earlier = {(wanted[k]["ref_type"], wanted[k]["ref_id"]): int(amount) for k, amount in done.items()}
    todo = [(k, e) for k, e in wanted.items() if k not in done]
    if not todo:
        return {}, earlier
    now = utcnow()
    cap = session.scalar(select(TimebankPolicy.daily_cap).where(TimebankPolicy.community_id == community_id))
    today = _earned_today(session, issuance, list(wallets.values()), now) if cap else {}
    # plain values out of the locked rows (id, debits, credits, no_negative, closed_at, head) once
    balances, heads, closed = {}, {}, set()
    for aid, debits, credits_, _, closed_at, head in accounts.values():
        balances[aid], heads[aid] = credits_ - debits, head
        if closed_at is not None:
            closed.add(aid)

    def made():  # each row as it is made: the COPY sends it on while the next ones are hashed
        for key, e in todo:
            wid = wallets[e["user_id"]]
            if wid in closed:
                continue
            amount = int(e["amount"])
            if cap:
                amount = min(amount, cap - today.get(wid, 0))
                if amount <= 0:
                    continue  # over today's cap: not posted (a later confirmation may post it)
                today[wid] = today.get(wid, 0) + amount
            balances[issuance] -= amount
            balances[wid] += amount
            row = {"debit_account_id": issuance, "credit_account_id": wid, "amount": amount,
                   "kind": "earn", "ref_type": e["ref_type"], "ref_id": e["ref_id"], "actor_id": actor_id,
                   "memo": (e.get("memo") or "")[:200], "idempotency_key": key, "reverses_id": None,
                   "debit_balance_after": balances[issuance], "credit_balance_after": balances[wid],
                   "created_at": now, "debit_prev_hash": heads[issuance], "credit_prev_hash": heads[wid]}
            row["fingerprint"] = fingerprint({"earn": [e["ref_type"], e["ref_id"]], "user_id": e["user_id"]})
            row["hash"] = heads[issuance] = heads[wid] = transfer_hash(row)  # both chains, in order
            yield row

    rows = insert_transfers(session, made())
    if not rows:
        return {}, earlier
    credits, total = {}, 0
    for r in rows:
        credits[r["credit_account_id"]] = credits.get(r["credit_account_id"], 0) + r["amount"]
        total += r["amount"]
    deltas = {wid: {"credits_posted": amt, "earned_posted": amt} for wid, amt in credits.items()}
    deltas[issuance] = {"debits_posted": total}
    add_to_accounts(session, deltas, heads)
    return {(r["ref_type"], r["ref_id"]): r["amount"] for r in rows}, earlier
