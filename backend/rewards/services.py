"""Managing rewards and redeeming them: stock and balance are checked in one transaction."""
from __future__ import annotations

from sqlalchemy import Select, select

from backend.audit.services import record
from backend.errors import DomainError, NotFound, error
from backend.extensions import db
from backend.rewards.models import Redemption, Reward
from backend.timebank import accounts as ledger_accounts
from backend.timebank.chain import lock_key
from backend.timebank.errors import IdempotencyMismatch
from backend.timebank.idempotency import fingerprint, replay_failure, tag
from backend.timebank.models import Transfer
from backend.timebank.service import transfer

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
                         reward_name=reward.name, points=reward.points, idempotency_key=key)
        session.add(red)
        session.flush()
        t = transfer(session, debit_account_id=wallet, credit_account_id=shop, amount=reward.points,
                     kind="redeem", actor_id=user_id, idempotency_key=key, memo=f"兑换：{reward.name}",
                     ref_type="redemption", ref_id=red.id)
    except DomainError as exc:
        if exc.status == 409 and exc.code != "IDEMPOTENCY_MISMATCH":
            tag(exc, key, fp)  # out of stock / over balance: this key stays failed
        raise
    reward.stock -= 1
    red.transfer_id = t.id
    session.flush()
    return red, t.debit_balance_after


def my_redemptions_query(user_id: int) -> Select:
    return select(Redemption).where(Redemption.user_id == user_id)


def community_redemptions_query(community_id: int) -> Select:
    return select(Redemption).where(Redemption.community_id == community_id)
