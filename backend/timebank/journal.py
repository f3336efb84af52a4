"""A community's 积分流水: the transfers that touch its issuance, rewards and expiry accounts,
newest first, for its staff to find an earning or a redemption to reverse.

Each page is read by one short index scan per (account, side): `ix_transfers_debit` and
`ix_transfers_credit` are (account, id), so "this account's transfers below id X, newest first,
at most N" costs N rows whatever the account's history (an issuance account has one row per
earning ever made). With a person named, the scans start from that person's wallet instead.
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import Session, aliased

from backend.timebank.models import Account, Transfer

_T = Transfer.__table__


def community_transfers(session: Session, community_id: int, *, limit: int, before_id: int | None = None,
                        kind: str | None = None, user_id: int | None = None) -> list[SimpleNamespace]:
    """Up to `limit` transfers touching the community's accounts, newest first (ids below
    before_id), each with id, kind, amount, direction ("out" of the community's account or "in"),
    account (issuance | rewards | expiry), user_id (the person on the other side, if any), memo,
    created_at, actor_id, reverses_id, reversed_by (the reversal's id or None)."""
    accounts = dict(session.execute(select(Account.id, Account.kind).where(Account.community_id == community_id)).all())
    if not accounts:
        return []
    community = list(accounts)
    if user_id is not None:
        wallet = session.scalar(select(Account.id).where(Account.user_id == user_id, Account.kind == "wallet"))
        if wallet is None:
            return []
        anchors, others = [wallet], community
    else:
        anchors, others = community, None
    scans = []
    for account in anchors:
        for side, other in ((_T.c.debit_account_id, _T.c.credit_account_id),
                            (_T.c.credit_account_id, _T.c.debit_account_id)):
            # `account <= side <= account`, not `side = account`: with an equality PostgreSQL drops
            # the account from the ORDER BY, and a generic plan built on statistics of few accounts
            # may then walk the primary key backwards filtering every transfer (an empty rewards
            # account read the whole table). As a range the order needs the (account, id) index.
            q = select(_T.c.id).where(side >= account, side <= account)
            if others is not None:
                q = q.where(other.in_(others))
            if kind is not None:
                q = q.where(_T.c.kind == kind)
            if before_id is not None:
                q = q.where(_T.c.id < before_id)
            scans.append(q.order_by(side.desc(), _T.c.id.desc()).limit(limit).subquery().select())
    ids = union_all(*scans).subquery()
    page = select(ids.c.id).distinct().order_by(ids.c.id.desc()).limit(limit).subquery()
    return [_item(r, accounts) for r in session.execute(_rows(page))]


def _rows(page) -> Select:
    reversal = aliased(Transfer)
    wallet_debit, wallet_credit = aliased(Account), aliased(Account)
    return (select(Transfer.id, Transfer.kind, Transfer.amount, Transfer.memo, Transfer.created_at,
                   Transfer.actor_id, Transfer.reverses_id, Transfer.debit_account_id, Transfer.credit_account_id,
                   wallet_debit.user_id.label("debit_user"), wallet_credit.user_id.label("credit_user"),
                   reversal.id.label("reversed_by"))
            .join(page, page.c.id == Transfer.id)
            .join(wallet_debit, wallet_debit.id == Transfer.debit_account_id)
            .join(wallet_credit, wallet_credit.id == Transfer.credit_account_id)
            .outerjoin(reversal, reversal.reverses_id == Transfer.id)
            .order_by(Transfer.id.desc()))


def _item(r, accounts: dict[int, str]) -> SimpleNamespace:
    out = r.debit_account_id in accounts
    return SimpleNamespace(
        id=r.id, kind=r.kind, amount=r.amount, direction="out" if out else "in",
        account=accounts[r.debit_account_id if out else r.credit_account_id],
        user_id=r.credit_user if out else r.debit_user, memo=r.memo, created_at=r.created_at,
        actor_id=r.actor_id, reverses_id=r.reverses_id, reversed_by=r.reversed_by)
