"""Opening and finding accounts: one wallet per person, three accounts per community."""
from __future__ import annotations

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.db import utcnow
from backend.timebank.bulk import add_to_accounts_pg, among, is_pg, open_wallets_pg
from backend.timebank.chain import insert_ignore, sqlite_write_lock
from backend.timebank.models import COMMUNITY_KINDS, WALLET, Account


def wallet_id(session: Session, user_id: int) -> int | None:
    """The person's wallet id, or None when they never had one."""
    return session.scalar(select(Account.id).where(Account.kind == WALLET, Account.user_id == user_id))


def ensure_wallets(session: Session, user_ids) -> dict[int, int]:
    """{user_id: wallet_id}, opening missing wallets (one to three statements whatever the count;
    on PostgreSQL two when the INSERT opened every missing one, as it does unless another
    transaction opened some of them meanwhile)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    q = select(Account.user_id, Account.id).where(Account.kind == WALLET, among(session, Account.user_id, ids))
    found = dict(session.execute(q).all())
    missing = [uid for uid in ids if uid not in found]
    if missing:
        now = utcnow()
        if is_pg(session):
            found.update(open_wallets_pg(session, missing, now))
            if len(found) == len(ids):
                return found
            # some were opened meanwhile by another transaction (ON CONFLICT skipped them): read all
        else:
            insert_ignore(session, Account.__table__, [
                {"kind": WALLET, "user_id": uid, "no_negative": True, "debits_posted": 0, "credits_posted": 0,
                 "created_at": now} for uid in missing
            ], ["user_id"], where=text("kind = 'wallet'"))
        found = dict(session.execute(q).all())
    return found


def ensure_wallet(session: Session, user_id: int) -> int:
    """The person's wallet id, opened if needed."""
    return wallet_id(session, user_id) or ensure_wallets(session, [user_id])[user_id]


def community_accounts(session: Session, community_id: int) -> dict[str, int]:
    """{"issuance": id, "rewards": id, "expiry": id} for the community, opened if needed."""
    q = select(Account.kind, Account.id).where(Account.community_id == community_id)
    found = dict(session.execute(q).all())
    if len(found) < len(COMMUNITY_KINDS):
        now = utcnow()
        insert_ignore(session, Account.__table__, [
            {"kind": k, "community_id": community_id, "no_negative": False, "debits_posted": 0,
             "credits_posted": 0, "created_at": now} for k in COMMUNITY_KINDS if k not in found
        ], ["community_id", "kind"], where=text("community_id IS NOT NULL"))
        found = dict(session.execute(q).all())
    return found


def community_of(session: Session, account_ids) -> int | None:
    """The community that owns one of these accounts (issuance/rewards/expiry), if any."""
    return session.scalar(select(Account.community_id).where(
        Account.id.in_(list(account_ids)), Account.community_id.is_not(None)).order_by(Account.id).limit(1))


COUNTERS = ("debits_posted", "credits_posted", "earned_posted", "spent_posted")


def lock_account_rows(session: Session, account_ids) -> dict:
    """{id: Row(id, debits_posted, credits_posted, no_negative, closed_at, head_hash)}, locked
    FOR UPDATE in ascending id order (a fixed order: no deadlocks); on SQLite the write lock."""
    acct = Account.__table__
    ids = sorted(set(account_ids))
    sqlite_write_lock(session)
    q = (select(acct.c.id, acct.c.debits_posted, acct.c.credits_posted, acct.c.no_negative, acct.c.closed_at,
                acct.c.head_hash)
         .where(among(session, acct.c.id, ids)).order_by(acct.c.id).with_for_update())
    return {r[0]: r for r in session.execute(q)}


def counter_deltas(kind: str, amount: int, reversed_kind: str | None = None) -> tuple[dict, dict]:
    """({column: delta} of the debit side, of the credit side) for one transfer.

    earned_posted counts earnings in net of their reversals; spent_posted redemptions out net
    of theirs (a reversal of an earning debits the earner, of a redemption credits the spender)."""
    debit, credit = {"debits_posted": amount}, {"credits_posted": amount}
    if kind == "earn":
        credit["earned_posted"] = amount
    elif kind == "redeem":
        debit["spent_posted"] = amount
    elif kind == "reverse" and reversed_kind == "earn":
        debit["earned_posted"] = -amount
    elif kind == "reverse" and reversed_kind == "redeem":
        credit["spent_posted"] = -amount
    return debit, credit


def merge_deltas(into: dict[int, dict], account_id: int, delta: dict) -> None:
    """Add {column: delta} to the pending changes of an account."""
    mine = into.setdefault(account_id, {})
    for col, value in delta.items():
        mine[col] = mine.get(col, 0) + value


def add_to_accounts(session: Session, deltas: dict[int, dict], heads: dict[int, str]) -> None:
    """Add the counters' deltas to (already locked) accounts and set their new chain heads
    (every account in `deltas` has one): on PostgreSQL one UPDATE ... FROM unnest(arrays)
    whatever the number of accounts; on SQLite an executemany."""
    if not deltas:
        return
    acct = Account.__table__
    rows = [(aid, *(int(d.get(c, 0)) for c in COUNTERS)) for aid, d in sorted(deltas.items())]
    if is_pg(session):
        add_to_accounts_pg(session, rows, COUNTERS, [heads[r[0]] for r in rows])
    else:
        stmt = update(acct).where(acct.c.id == bindparam("p_aid")).values(
            {**{c: acct.c[c] + bindparam("p_" + c) for c in COUNTERS}, "head_hash": bindparam("p_head")})
        session.execute(stmt, [{"p_aid": r[0], "p_head": heads[r[0]],
                                **{"p_" + c: r[i + 1] for i, c in enumerate(COUNTERS)}} for r in rows])
    for aid in deltas:  # the ORM's copies (if any) are stale now
        expire_account(session, aid)


def expire_account(session: Session, account_id: int) -> None:
    """Forget the ORM's copy of an account (if loaded) after a Core write to it."""
    obj = session.identity_map.get(identity_key(Account, account_id))
    if obj is not None:
        session.expire(obj)
