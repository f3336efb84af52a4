"""Posting transfers, reversing them, reading wallets. The caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.timebank.accounts import (add_to_accounts, community_accounts, counter_deltas, ensure_wallets,
                                       lock_account_rows, lock_accounts, wallet_id)
from backend.timebank.chain import lock_ledger, row_fields, transfer_hash
from backend.timebank.errors import AccountClosed, AlreadyReversed, IdempotencyMismatch, InsufficientBalance, NotReversible
from backend.timebank.idempotency import find_transfer, fingerprint, replay_failure, tag
from backend.timebank.models import TRANSFER_KINDS, ChainHead, Transfer
from backend.timebank.statement import statement_item, statement_query, wallet_summary  # noqa: F401  (re-exported)

MEMO_MAX = 200


def _check(debit_account_id, credit_account_id, amount, kind, idempotency_key, memo) -> None:
    problems = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems["amount"] = ["积分数须为正整数"]
    if debit_account_id == credit_account_id:
        problems["credit_account_id"] = ["不能转入同一账户"]
    if kind not in TRANSFER_KINDS:
        problems["kind"] = ["未知的流水类型"]
    if not idempotency_key or len(idempotency_key) > 200:
        problems["idempotency_key"] = ["幂等键须为 1 至 200 个字符"]
    if len(memo or "") > MEMO_MAX:
        problems["memo"] = [f"备注不能超过 {MEMO_MAX} 字"]
    if problems:
        raise ValidationFailed(details=problems)


def transfer(session: Session, *, debit_account_id: int, credit_account_id: int, amount: int, kind: str,
             actor_id: int | None, idempotency_key: str, memo: str = "", ref_type: str | None = None,
             ref_id: int | None = None, reverses_id: int | None = None, request: dict | None = None) -> Transfer:
    """Move `amount` points from the debit to the credit account, exactly once per key.

    `request` is what a retry is compared with (default: the transfer's own fields); pass the
    caller's request (e.g. user ids) when account ids may not exist yet at the first attempt."""
    memo = memo or ""
    _check(debit_account_id, credit_account_id, amount, kind, idempotency_key, memo)
    fp = fingerprint(request or {"debit": debit_account_id, "credit": credit_account_id, "amount": amount,
                                 "kind": kind, "ref_type": ref_type, "ref_id": ref_id, "memo": memo,
                                 "reverses": reverses_id})
    # Everything above runs before the ledger lock; from here on the work is kept short
    # (Core statements, no ORM loads): the lock is held until commit.
    head = lock_ledger(session)
    existing = find_transfer(session, idempotency_key)
    if existing is not None:
        if existing.fingerprint != fp:
            raise IdempotencyMismatch(details={"idempotency_key": idempotency_key})
        return existing
    replay_failure(session, idempotency_key, fp)
    accounts = lock_account_rows(session, [debit_account_id, credit_account_id])
    if len(accounts) != 2:
        raise NotFound("积分账户不存在")
    debit, credit = accounts[debit_account_id], accounts[credit_account_id]
    try:
        if debit.closed_at is not None or credit.closed_at is not None:
            raise AccountClosed()
        balance = debit.credits_posted - debit.debits_posted
        if debit.no_negative and balance < amount:
            raise InsufficientBalance(details={"balance": balance, "amount": amount})
    except DomainError as exc:
        raise tag(exc, idempotency_key, fp)
    return _post(session, head, debit, credit, amount=amount, kind=kind, actor_id=actor_id,
                 idempotency_key=idempotency_key, memo=memo, ref_type=ref_type, ref_id=ref_id,
                 reverses_id=reverses_id, fingerprint=fp)


def _post(session: Session, head: ChainHead, debit, credit, **fields) -> Transfer:
    """Write one transfer, both balances and the chain head (the ledger lock and both account
    locks are held): one INSERT and three UPDATEs."""
    amount, kind = fields["amount"], fields["kind"]
    reversed_kind = (session.scalar(select(Transfer.kind).where(Transfer.id == fields["reverses_id"]))
                     if fields.get("reverses_id") else None)
    t = Transfer(seq=head.seq + 1, debit_account_id=debit.id, credit_account_id=credit.id,
                 debit_balance_after=debit.credits_posted - debit.debits_posted - amount,
                 credit_balance_after=credit.credits_posted - credit.debits_posted + amount,
                 created_at=utcnow(), **fields)
    t.hash = transfer_hash(row_fields(t), head.hash)
    session.add(t)
    session.flush()
    debit_delta, credit_delta = counter_deltas(kind, amount, reversed_kind)
    add_to_accounts(session, {debit.id: debit_delta, credit.id: credit_delta})
    session.execute(update(ChainHead).where(ChainHead.id == head.id)
                    .values(seq=t.seq, hash=t.hash, head_transfer_id=t.id))
    session.expire(head)
    return t


def donate(session: Session, *, from_user_id: int, to_user_id: int, amount: int, memo: str,
           idempotency_key: str) -> Transfer:
    """Give points from one person's wallet to another's (never to oneself, never overdrawn)."""
    from backend.auth.models import User

    if from_user_id == to_user_id:
        raise ValidationFailed(details={"to_user_id": ["不能转赠给自己"]})
    # one light row (session.get would load the User with its roles)
    to = session.execute(select(User.id, User.closed_at).where(User.id == to_user_id)).first()
    if to is None or to.closed_at is not None:
        raise NotFound("受赠人不存在")
    wallets = ensure_wallets(session, [from_user_id, to_user_id])
    return transfer(session, debit_account_id=wallets[from_user_id], credit_account_id=wallets[to_user_id],
                    amount=amount, kind="donate", actor_id=from_user_id, idempotency_key=idempotency_key,
                    memo=memo, ref_type="user", ref_id=to_user_id,
                    request={"donate": [from_user_id, to_user_id], "amount": amount, "memo": memo or ""})


def reverse(session: Session, *, transfer_id: int, actor_id: int | None, reason: str) -> Transfer:
    """Post the mirror image of a transfer (once); the original stays as it was."""
    lock_ledger(session)
    original = session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound("流水不存在")
    if original.kind == "reverse":
        raise NotReversible()
    if session.scalar(select(Transfer.id).where(Transfer.reverses_id == transfer_id)) is not None:
        raise AlreadyReversed()
    try:
        return transfer(session, debit_account_id=original.credit_account_id,
                        credit_account_id=original.debit_account_id, amount=original.amount, kind="reverse",
                        actor_id=actor_id, idempotency_key=f"reverse:{transfer_id}", memo=reason,
                        ref_type=original.ref_type, ref_id=original.ref_id, reverses_id=transfer_id)
    except DomainError as exc:
        exc.idempotency = None  # a reversal may be retried once the wallet can bear it
        raise


def community_of_transfer(session: Session, t: Transfer) -> int | None:
    """The community whose issuance/rewards/expiry account the transfer touches, if any."""
    from backend.timebank.accounts import community_of

    return community_of(session, [t.debit_account_id, t.credit_account_id])


def close_wallet(session: Session, *, user_id: int, community_id: int, actor_id: int | None) -> Transfer | None:
    """Move what is left in a person's wallet to the community's issuance account and close it."""
    lock_ledger(session)
    wid = wallet_id(session, user_id)
    if wid is None:
        return None
    issuance = community_accounts(session, community_id)["issuance"]
    wallet = lock_accounts(session, [wid])[wid]
    if wallet.closed_at is not None:
        return None
    t = None
    if wallet.balance > 0:
        t = transfer(session, debit_account_id=wid, credit_account_id=issuance, amount=wallet.balance,
                     kind="close", actor_id=actor_id, idempotency_key=f"close:{wid}", memo="账户注销")
    wallet.closed_at = utcnow()
    session.flush()
    return t
