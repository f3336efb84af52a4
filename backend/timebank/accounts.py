"""Opening and finding accounts: one wallet per person, three accounts per community."""
from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.timebank.chain import insert_ignore
from backend.timebank.models import COMMUNITY_KINDS, WALLET, Account


def wallet_id(session: Session, user_id: int) -> int | None:
    """The person's wallet id, or None when they never had one."""
    return session.scalar(select(Account.id).where(Account.kind == WALLET, Account.user_id == user_id))


def ensure_wallets(session: Session, user_ids) -> dict[int, int]:
    """{user_id: wallet_id}, opening missing wallets (two statements whatever the count)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    now = utcnow()
    insert_ignore(session, Account.__table__, [
        {"kind": WALLET, "user_id": uid, "no_negative": True, "debits_posted": 0, "credits_posted": 0,
         "created_at": now} for uid in ids
    ], ["user_id"], where=text("kind = 'wallet'"))
    rows = session.execute(select(Account.user_id, Account.id).where(Account.kind == WALLET, Account.user_id.in_(ids)))
    return {uid: aid for uid, aid in rows}


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


def lock_accounts(session: Session, account_ids) -> dict[int, Account]:
    """SELECT ... FOR UPDATE in ascending id order (a fixed order: no deadlocks)."""
    ids = sorted(set(account_ids))
    q = (select(Account).where(Account.id.in_(ids)).order_by(Account.id).with_for_update()
         .execution_options(populate_existing=True))
    return {a.id: a for a in session.scalars(q)}


def community_of(session: Session, account_ids) -> int | None:
    """The community that owns one of these accounts (issuance/rewards/expiry), if any."""
    return session.scalar(select(Account.community_id).where(
        Account.id.in_(list(account_ids)), Account.community_id.is_not(None)).order_by(Account.id).limit(1))
