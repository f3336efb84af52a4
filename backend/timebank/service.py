"""Posting transfers, reversing them, reading wallets. The caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import and_, select, text, update
from sqlalchemy.orm import Session

from backend.auth.callers import Claimed, ensure_live
from backend.db import DriverStatement, retry_first_statement, utcnow
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.timebank.accounts import community_accounts, ensure_wallets, expire_account, lock_account_rows, wallet_id
from backend.timebank.bulk import is_pg
from backend.timebank.chain import KEY_LOCK_SQL, key_lock_params, lock_key
from backend.timebank.errors import AlreadyReversed, NotReversible
from backend.timebank.idempotency import fingerprint, tag
from backend.timebank.models import TRANSFER_KINDS, WALLET, Account, Transfer
from backend.timebank.posting import post, reversed_kind_of
from backend.timebank.statement import (  # noqa: F401  (re-exported)
    statement_item, statement_query, wallet_statement, wallet_summary)

MEMO_MAX = 200
# The key's lock, both people and their wallets, in one statement sent to the driver's cursor.
# The wallet is a correlated look-up by the partial unique index whatever the statistics say.
_DONORS_PG = DriverStatement(text(
    f"SELECT u.id, u.closed_at, {KEY_LOCK_SQL} AS key_lock, "
    "(u.token_version = :v AND u.closed_at IS NULL) AS caller_live, "
    f"(SELECT a.id FROM ledger_accounts AS a WHERE a.user_id = u.id AND a.kind = '{WALLET}') AS wallet_id "
    "FROM users AS u WHERE u.id IN (:a, :b)"))


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
             ref_id: int | None = None, reverses_id: int | None = None, request: dict | None = None,
             key_locked: bool = False) -> Transfer:
    """Move `amount` points from the debit to the credit account, exactly once per key.

    `request` is what a retry is compared with (default: the transfer's own fields); pass the
    caller's request (e.g. user ids) when account ids may not exist yet at the first attempt.
    On PostgreSQL two statements: the key's lock (none when the caller already holds it:
    `key_locked`), then the look-up of an earlier outcome and the posting in one (posting.py)."""
    memo = memo or ""
    _check(debit_account_id, credit_account_id, amount, kind, idempotency_key, memo)
    fp = fingerprint(request or {"debit": debit_account_id, "credit": credit_account_id, "amount": amount,
                                 "kind": kind, "ref_type": ref_type, "ref_id": ref_id, "memo": memo,
                                 "reverses": reverses_id})
    if not key_locked:
        lock_key(session, idempotency_key)  # retries of this key queue here; other keys do not
    fields = {"debit_account_id": debit_account_id, "credit_account_id": credit_account_id, "amount": amount,
              "kind": kind, "ref_type": ref_type, "ref_id": ref_id, "actor_id": actor_id, "memo": memo,
              "idempotency_key": idempotency_key, "fingerprint": fp, "reverses_id": reverses_id,
              "created_at": utcnow()}
    try:
        return post(session, fields, reversed_kind_of(session, reverses_id))
    except DomainError as exc:
        if exc.code in ("ACCOUNT_CLOSED", "INSUFFICIENT_BALANCE") and not getattr(exc, "replayed", False):
            tag(exc, idempotency_key, fp)  # this key stays failed
        raise


def donate(session: Session, *, from_user_id: int, to_user_id: int, amount: int, memo: str,
           idempotency_key: str, caller: Claimed | None = None) -> Transfer:
    """Give points from one person's wallet to another's (never to oneself, never overdrawn).
    `caller`: the donor as a Claimed caller whose account this checks (the API's login check)."""
    from backend.auth.models import User

    if caller is not None and caller.id != from_user_id:
        raise ValueError("the caller donates from their own wallet")
    if from_user_id == to_user_id:
        raise ValidationFailed(details={"to_user_id": ["不能转赠给自己"]})
    # one statement for the key's lock, the recipient, both wallets and the donor's login check
    if is_pg(session):
        rows = retry_first_statement(session, lambda: _DONORS_PG.all(session.connection(), {
            **key_lock_params(idempotency_key), "a": from_user_id, "b": to_user_id,
            "v": caller.version if caller is not None else None}))
        if caller is not None:
            donor = next((r for r in rows if r.id == from_user_id), None)
            caller.confirm(donor is not None and donor.caller_live)
    else:
        ensure_live(caller, session)
        lock_key(session, idempotency_key)
        rows = session.execute(
            select(User.id, User.closed_at, Account.id.label("wallet_id"))
            .outerjoin(Account, and_(Account.user_id == User.id, Account.kind == WALLET))
            .where(User.id.in_((from_user_id, to_user_id)))).all()
    to = next((r for r in rows if r.id == to_user_id), None)
    if to is None or to.closed_at is not None:
        raise NotFound("受赠人不存在")
    wallets = {r.id: r.wallet_id for r in rows if r.wallet_id is not None}
    if len(wallets) < 2:
        wallets = ensure_wallets(session, [from_user_id, to_user_id])
    return transfer(session, debit_account_id=wallets[from_user_id], credit_account_id=wallets[to_user_id],
                    amount=amount, kind="donate", actor_id=from_user_id, idempotency_key=idempotency_key,
                    memo=memo, ref_type="user", ref_id=to_user_id,
                    request={"donate": [from_user_id, to_user_id], "amount": amount, "memo": memo or ""},
                    key_locked=True)


def reversed_already(session: Session, transfer_id: int) -> bool:
    """Whether the transfer has been reversed, with its reversal's key locked until commit:
    concurrent reversals (and whoever acts on the answer) queue here, then see the first."""
    lock_key(session, f"reverse:{transfer_id}")
    return session.scalar(select(Transfer.id).where(Transfer.reverses_id == transfer_id)) is not None


def reverse(session: Session, *, transfer_id: int, actor_id: int | None, reason: str) -> Transfer:
    """Post the mirror image of a transfer (once); the original stays as it was."""
    key = f"reverse:{transfer_id}"
    done = reversed_already(session, transfer_id)
    original = session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound("流水不存在")
    if original.kind == "reverse":
        raise NotReversible()
    if done:
        raise AlreadyReversed()
    try:
        return transfer(session, debit_account_id=original.credit_account_id,
                        credit_account_id=original.debit_account_id, amount=original.amount, kind="reverse",
                        actor_id=actor_id, idempotency_key=key, memo=reason,
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
    wid = wallet_id(session, user_id)
    if wid is None:
        return None
    issuance = community_accounts(session, community_id)["issuance"]
    key = f"close:{wid}"
    lock_key(session, key)
    wallet = lock_account_rows(session, [wid, issuance])[wid]  # both, in id order, as the posting will
    if wallet.closed_at is not None:
        return None
    t = None
    balance = wallet.credits_posted - wallet.debits_posted
    if balance > 0:
        t = transfer(session, debit_account_id=wid, credit_account_id=issuance, amount=balance,
                     kind="close", actor_id=actor_id, idempotency_key=key, memo="账户注销")
    session.execute(update(Account).where(Account.id == wid).values(closed_at=utcnow()))
    expire_account(session, wid)
    return t
