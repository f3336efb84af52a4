"""Managing rewards and redeeming them: stock and balance are checked in one transaction."""
from __future__ import annotations

import secrets

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import savepoint, utcnow
from backend.errors import Conflict, DomainError, Forbidden, InvalidState, NotFound, error
from backend.extensions import db
from backend.notifications.services import notify
from backend.rewards.models import CANCELLED, HANDED_OVER, PENDING, Redemption, Reward
from backend.timebank import accounts as ledger_accounts
from backend.timebank.chain import lock_key, sqlite_write_lock
from backend.timebank.errors import IdempotencyMismatch
from backend.timebank.idempotency import fingerprint, replay_failure, tag
from backend.timebank.models import Transfer
from backend.timebank.service import reverse, reversed_already, transfer

OutOfStock = error(409, "OUT_OF_STOCK", "该礼品库存不足")
RewardInactive = error(409, "REWARD_INACTIVE", "该礼品已下架")
EDITABLE = ("name", "description", "points", "stock", "active")


def _snapshot(r: Reward) -> dict:
    return {f: getattr(r, f) for f in EDITABLE}


def get_reward(reward_id: int, lock: bool = False) -> Reward:
    """The reward, or 404 (locked FOR UPDATE when asked)."""
    r = db.session.get(Reward, reward_id, with_for_update=lock or None, populate_existing=lock)
    if r is None:
        raise NotFound("礼品不存在")
    return r


def rewards_query(community_id: int, include_inactive: bool = False) -> Select:
    """A community's rewards (active ones unless asked otherwise), for paging."""
    q = select(Reward).where(Reward.community_id == community_id)
    return q if include_inactive else q.where(Reward.active.is_(True))


def create_reward(community_id: int, *, actor_id: int, name: str, description: str = "", points: int,
                  stock: int = 0) -> Reward:
    """Put a reward on a community's shelf (staff); audited."""
    r = Reward(community_id=community_id, name=name, description=description, points=points, stock=stock,
               created_by_id=actor_id)
    db.session.add(r)
    db.session.flush()
    record(actor_id, "reward.create", "reward", r.id, after=_snapshot(r), community_id=community_id)
    return r


def update_reward(reward_id: int, changes: dict, *, actor_id: int) -> Reward:
    """Change stock, points, active, name or description (staff); audited."""
    r = get_reward(reward_id, lock=True)
    before = _snapshot(r)
    for f in EDITABLE:
        if f in changes:
            setattr(r, f, changes[f])
    db.session.flush()
    record(actor_id, "reward.update", "reward", r.id, before=before, after=_snapshot(r),
           community_id=r.community_id)
    return r


def redemption_key(user_id: int, key: str) -> str:
    """Client keys are per person: the ledger key is namespaced by who sent it."""
    return f"redeem:{user_id}:{key}"


def redeem(user_id: int, reward_id: int, idempotency_key: str) -> tuple[Redemption, int]:
    """Spend points on one unit of a reward, once per key: (redemption, balance after)."""
    session = db.session
    key = redemption_key(user_id, idempotency_key)
    fp = fingerprint({"reward_id": reward_id})
    lock_key(session, key)  # first: retries of one key queue here. Then the reward row, then the accounts
    done = session.scalar(select(Redemption).where(Redemption.idempotency_key == key))
    if done is not None:
        if done.reward_id != reward_id:
            raise IdempotencyMismatch(details={"idempotency_key": idempotency_key})
        return done, session.get(Transfer, done.transfer_id).debit_balance_after
    replay_failure(session, key, fp)
    reward = get_reward(reward_id, lock=True)
    try:
        if not reward.active:
            raise RewardInactive()
        if reward.stock <= 0:
            raise OutOfStock()
        wallet = ledger_accounts.ensure_wallet(session, user_id)
        shop = ledger_accounts.community_accounts(session, reward.community_id)["rewards"]
        red = Redemption(reward_id=reward.id, community_id=reward.community_id, user_id=user_id,
                         reward_name=reward.name, points=reward.points, idempotency_key=key,
                         pickup_code=new_pickup_code(reward.community_id))
        try:
            with savepoint(session):  # the pickup code another redemption took this instant: 409
                session.add(red)
        except IntegrityError:
            raise Conflict("兑换码冲突，请重试") from None
        t = transfer(session, debit_account_id=wallet, credit_account_id=shop, amount=reward.points,
                     kind="redeem", actor_id=user_id, idempotency_key=key, memo=f"兑换：{reward.name}",
                     ref_type="redemption", ref_id=red.id)
    except DomainError as exc:
        if exc.status == 409 and exc.code not in ("IDEMPOTENCY_MISMATCH", "CONFLICT"):
            tag(exc, key, fp)  # out of stock / over balance: this key stays failed (a code clash does not)
        raise
    reward.stock -= 1
    red.transfer_id = t.id
    session.flush()
    return red, t.debit_balance_after


def new_pickup_code(community_id: int) -> str:
    """Eight random digits, not the code of another redemption waiting at this shelf (a unique
    index backs this: a simultaneous duplicate, one in 10^8 per waiting redemption, is a 409)."""
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if db.session.scalar(select(Redemption.id).where(
                Redemption.community_id == community_id, Redemption.pickup_code == code,
                Redemption.status == PENDING)) is None:
            return code


def _snapshot_of(red: Redemption) -> dict:
    return {"status": red.status, "reward_id": red.reward_id, "user_id": red.user_id, "points": red.points}


def hand_over(actor: User, community_id: int, pickup_code: str) -> Redemption:
    """Staff of the shelf's community hand the goods over against the person's pickup code."""
    policy.require_staff(actor, community_id)
    sqlite_write_lock(db.session)  # SQLite ignores FOR UPDATE: its write lock serialises instead
    red = db.session.scalar(select(Redemption).where(
        Redemption.community_id == community_id, Redemption.pickup_code == pickup_code,
        Redemption.status == PENDING).with_for_update())
    if red is None:
        raise NotFound("核销码无效或已使用")
    # a payment refunded by a reversal pays for nothing: its goods stay on the shelf. The
    # reversal's key lock (taken after the redemption row, as cancel does) keeps one from
    # landing between this check and the commit.
    if reversed_already(db.session, red.transfer_id):
        raise InvalidState("该兑换已退款，不能领取")
    before = _snapshot_of(red)
    red.status, red.handed_over_at, red.handed_over_by_id = HANDED_OVER, utcnow(), actor.id
    db.session.flush()
    record(actor.id, "redemption.handover", "redemption", red.id, before=before, after=_snapshot_of(red),
           community_id=community_id)
    return red


def cancel_redemption(actor: User, redemption_id: int, reason: str | None = None) -> Redemption:
    """The person who redeemed, or staff of the shelf, cancel a redemption not yet handed over:
    its payment is reversed (once, whoever asks; `reason` on the reversal) and the unit goes back
    on the shelf."""
    sqlite_write_lock(db.session)  # SQLite ignores FOR UPDATE: its write lock serialises instead
    red = db.session.get(Redemption, redemption_id, with_for_update=True, populate_existing=True)
    if red is None:
        raise NotFound("兑换记录不存在")
    if red.user_id != actor.id:
        try:
            policy.require_staff(actor, red.community_id)
        except Forbidden:
            raise NotFound("兑换记录不存在") from None  # someone else's: not even its existence
    if red.status != PENDING:
        raise InvalidState("已领取或已取消的兑换不能取消")
    before = _snapshot_of(red)
    get_reward(red.reward_id, lock=True).stock += 1  # the reward row before the accounts (lock order)
    # a reversal at this moment lands first (refunded once) or waits for this one
    if red.transfer_id is not None and not reversed_already(db.session, red.transfer_id):
        reverse(db.session, transfer_id=red.transfer_id, actor_id=actor.id,
                reason=reason or f"取消兑换：{red.reward_name}")
    red.status, red.cancelled_at, red.cancelled_by_id = CANCELLED, utcnow(), actor.id
    db.session.flush()
    if actor.id != red.user_id:  # staff cancelled it: audited, and the person is told
        record(actor.id, "redemption.cancel", "redemption", red.id, before=before, after=_snapshot_of(red),
               community_id=red.community_id)
        notify(red.user_id, "redemption_cancelled", {"reward": red.reward_name, "points": red.points,
                                                     "at": red.cancelled_at},
               ref_type="redemption", ref_id=red.id)
    return red


def refund(actor: User, payment: Transfer, reason: str) -> Transfer | None:
    """Reversing the payment of a redemption whose goods still wait at the shelf cancels the
    redemption with it (the unit back in stock, its pickup code dead): the reversal, or None when
    the transfer pays for no waiting redemption and is reversed like any other. The redemption
    row is locked before the reversal's key, the order hand_over and cancel_redemption keep."""
    if payment.kind != "redeem" or payment.ref_type != "redemption" or payment.ref_id is None:
        return None
    sqlite_write_lock(db.session)
    red = db.session.get(Redemption, payment.ref_id, with_for_update=True, populate_existing=True)
    if red is None or red.transfer_id != payment.id or red.status != PENDING:
        return None
    cancel_redemption(actor, red.id, reason=reason)
    return db.session.scalar(select(Transfer).where(Transfer.reverses_id == payment.id))


def redemptions_query(*, user_id: int | None = None, community_id: int | None = None,
                      status: str | None = None) -> Select:
    """A person's or a shelf's redemptions (for paging), of one status when given."""
    q = select(Redemption)
    if user_id is not None:
        q = q.where(Redemption.user_id == user_id)
    if community_id is not None:
        q = q.where(Redemption.community_id == community_id)
    return q.where(Redemption.status == status) if status else q
