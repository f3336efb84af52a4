"""Time bank: my account and statement, donations, reversals, leaderboards, policies, verify."""
from __future__ import annotations

import functools
import logging

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import (LocalDateTime, PageArgs, caller_only, claimed_caller, current_caller, current_user,
                                cursor_id, idempotent, login_in_handler, page_of, page_schema)
from backend.audit.services import record
from backend.auth import policy
from backend.auth.services import display_names
from backend.errors import DomainError, NotFound
from backend.extensions import db
from backend.replay.services import MAX_KEY
from backend.rewards.services import refund
from backend.timebank import idempotency, journal, leaderboard as boards, service
from backend.timebank import policy as tb_policy
from backend.timebank.models import TRANSFER_KINDS, Transfer
from backend.timebank.statement import wallet_statement
from backend.timebank.verify import verify

blp = Blueprint("timebank", __name__, url_prefix="/api/v1", description="时间银行：公益积分账户、流水、转赠、冲正、排行")
log = logging.getLogger(__name__)


def remember_failures(view):
    """When a request with an Idempotency-Key fails on a ledger rule, roll back and record the
    failure in its own transaction, so a retry with that key gets the same answer."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            tagged = getattr(exc, "idempotency", None)
            if tagged:
                db.session.rollback()
                try:
                    idempotency.record_failure(db.session, tagged[0], tagged[1], exc)
                    db.session.commit()
                except Exception:  # the answer stands; only its memory is lost
                    db.session.rollback()
                    log.exception("could not record the failure of %s", tagged[0])
            raise

    return wrapper


class IdempotencyHeader(ma.Schema):
    key = ma.fields.String(data_key="Idempotency-Key", required=True,
                           validate=ma.validate.Length(min=1, max=MAX_KEY),
                           error_messages={"required": "请提供 Idempotency-Key 请求头"})


class AccountSchema(ma.Schema):
    balance = ma.fields.Integer()
    earned_total = ma.fields.Integer()
    spent_total = ma.fields.Integer()
    service_minutes = ma.fields.Integer()


class StatementItem(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    amount = ma.fields.Integer(metadata={"description": "signed from the caller's side"})
    balance_after = ma.fields.Integer()
    memo = ma.fields.String()
    created_at = LocalDateTime()
    ref_type = ma.fields.String(allow_none=True)
    ref_id = ma.fields.Integer(allow_none=True)
    reverses_id = ma.fields.Integer(allow_none=True)


class DonateArgs(ma.Schema):
    to_user_id = ma.fields.Integer(required=True, strict=True)
    amount = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, error="积分数须为正整数"))
    memo = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class ReversalArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class TransferSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    amount = ma.fields.Integer()
    debit_account_id = ma.fields.Integer()
    credit_account_id = ma.fields.Integer()
    debit_balance_after = ma.fields.Integer()
    credit_balance_after = ma.fields.Integer()
    reverses_id = ma.fields.Integer(allow_none=True)
    ref_type = ma.fields.String(allow_none=True)
    ref_id = ma.fields.Integer(allow_none=True)
    memo = ma.fields.String()
    created_at = LocalDateTime()


class LeaderboardArgs(ma.Schema):
    period = ma.fields.String(required=True, validate=ma.validate.Regexp(
        boards.PERIOD, error="格式应为 2026-11、2026-Q4 或 2026"))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class RankItem(ma.Schema):
    rank = ma.fields.Integer()
    user_id = ma.fields.Integer()
    nickname = ma.fields.String()
    points = ma.fields.Integer()


class LeaderboardSchema(ma.Schema):
    period = ma.fields.String()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    items = ma.fields.List(ma.fields.Nested(RankItem))


class VerifySchema(ma.Schema):
    ok = ma.fields.Boolean()
    accounts = ma.fields.Integer()
    transfers = ma.fields.Integer()
    imbalance = ma.fields.Integer()
    mismatches = ma.fields.List(ma.fields.Dict())
    broken_link = ma.fields.Integer(allow_none=True)
    chain_head_ok = ma.fields.Boolean()
    stale_heads = ma.fields.List(ma.fields.Integer())


class PolicySchema(ma.Schema):
    community_id = ma.fields.Integer()
    daily_cap = ma.fields.Integer(allow_none=True)
    expiry_months = ma.fields.Integer(allow_none=True)


class PolicyArgs(ma.Schema):
    daily_cap = ma.fields.Integer(allow_none=True, strict=True, validate=ma.validate.Range(1, 100000))
    expiry_months = ma.fields.Integer(allow_none=True, strict=True, validate=ma.validate.Range(1, 120))


def _service_minutes(user_id: int) -> int:
    try:
        from backend.attendance.services import service_minutes
    except ImportError:
        return 0
    return sum(service_minutes(user_id).values())


@caller_only  # my account needs the caller's id only: its login check loads no User
@blp.get("/me/account")
@blp.response(200, AccountSchema)
def my_account():
    """My 公益积分: balance, earned and spent totals, and service minutes."""
    uid = current_caller().id
    return {**service.wallet_summary(db.session, uid), "service_minutes": _service_minutes(uid)}


@caller_only  # so is my statement
@blp.get("/me/transfers")
@blp.arguments(PageArgs(), location="query")  # an instance: a class would be instantiated on every request
@blp.response(200, page_schema(StatementItem, "StatementPage"))
def my_transfers(args):
    """My statement, newest first; amounts signed from my side, with my balance after each."""
    uid = current_caller().id
    before = cursor_id(args["cursor"])
    # the wallet and the page (one more row than asked: is there a next page?) in one round trip
    rows = wallet_statement(db.session, uid, args["limit"] + 1, before).rows
    page = page_of(rows, args["limit"], "id")
    return {"items": [r._asdict() for r in page["items"]], "next_cursor": page["next_cursor"]}


@login_in_handler  # a donation checks the caller's account in its own first statement
@blp.post("/transfers")
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)  # instances: a class is
@blp.arguments(DonateArgs())  # instantiated on every request
@blp.response(201, StatementItem)
@remember_failures
def donate(args, key):
    """Donate points to another person (Idempotency-Key required)."""
    user = claimed_caller()
    t = service.donate(db.session, from_user_id=user.id, to_user_id=args["to_user_id"], amount=args["amount"],
                       memo=args["memo"], idempotency_key=f"donate:{user.id}:{key}", caller=user)
    return service.statement_item(t, t.debit_account_id)


@blp.post("/transfers/<int:transfer_id>/reversal")
@idempotent
@blp.arguments(ReversalArgs)
@blp.response(201, TransferSchema)
def reverse_transfer(args, transfer_id):
    """Reverse a transfer once, with a reason (admin, or staff of the community it touches)."""
    user = current_user()
    original = db.session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound("流水不存在")
    community_id = service.community_of_transfer(db.session, original)
    if community_id is None:
        policy.require_admin(user)
    else:
        policy.require_staff(user, community_id)
    # a redemption's payment refunded while the goods wait: the redemption is cancelled with it
    t = refund(user, original, args["reason"]) or service.reverse(
        db.session, transfer_id=transfer_id, actor_id=user.id, reason=args["reason"])
    record(user.id, "transfer.reverse", "transfer", original.id, after={"reversal_id": t.id, "amount": t.amount,
           "reason": args["reason"]}, community_id=community_id)
    return t


class CommunityTransfersArgs(PageArgs):
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(TRANSFER_KINDS))
    user_id = ma.fields.Integer(load_default=None, metadata={"description": "only this person's transfers"})


class CommunityTransfer(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    amount = ma.fields.Integer()
    direction = ma.fields.String(metadata={"description": "out: from the community's account (an earning); in: into it"})
    account = ma.fields.String(metadata={"description": "the community's account: issuance, rewards or expiry"})
    user_id = ma.fields.Integer(allow_none=True, metadata={"description": "the person on the other side"})
    name = ma.fields.String(allow_none=True, metadata={"description": "their real name or nickname (never a phone)"})
    memo = ma.fields.String()
    created_at = LocalDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    reverses_id = ma.fields.Integer(allow_none=True)
    reversed_by = ma.fields.Integer(allow_none=True, metadata={"description": "the reversal's id, once reversed"})


@blp.get("/communities/<int:community_id>/transfers")
@blp.arguments(CommunityTransfersArgs, location="query")
@blp.response(200, page_schema(CommunityTransfer, "CommunityTransferPage"))
def community_transfers(args, community_id):
    """积分流水 of the community's accounts, newest first (staff, its street_admin, admin):
    earnings issued, redemptions, expiries and their reversals; ?kind=, ?user_id=."""
    policy.require_community_reader(current_user(), community_id)
    rows = journal.community_transfers(db.session, community_id, limit=args["limit"] + 1,
                                       before_id=cursor_id(args["cursor"]), kind=args["kind"], user_id=args["user_id"])
    page = page_of(rows, args["limit"], "id")
    names = display_names(r.user_id for r in page["items"])
    for r in page["items"]:
        r.name = names.get(r.user_id)
    return page


@blp.get("/communities/<int:community_id>/leaderboard")
@blp.arguments(LeaderboardArgs, location="query")
@blp.response(200, LeaderboardSchema)
def community_leaderboard(args, community_id):
    """Points earned in a community in a month, quarter or year, ranked (anyone logged in)."""
    current_user()
    policy.community(community_id)
    return boards.leaderboard(db.session, community_id, args["period"], args["limit"])


@blp.get("/admin/ledger/verify")
@blp.response(200, VerifySchema)
def verify_ledger():
    """Recompute every balance, check the zero sum and walk every account's hash chain (admin)."""
    policy.require_admin(current_user())
    return verify(db.session)


@blp.get("/communities/<int:community_id>/timebank-policy")
@blp.response(200, PolicySchema)
def get_policy(community_id):
    """The community's time bank policy: daily earning cap, expiry months (staff)."""
    policy.require_staff(current_user(), community_id)
    return tb_policy.get_policy(db.session, community_id)


@blp.put("/communities/<int:community_id>/timebank-policy")
@blp.arguments(PolicyArgs)
@blp.response(200, PolicySchema)
def put_policy(args, community_id):
    """Set the daily cap and/or expiry (null clears one) (staff; audited)."""
    user = current_user()
    policy.require_staff(user, community_id)
    before, after = tb_policy.set_policy(db.session, community_id, args, actor_id=user.id)
    record(user.id, "timebank.policy", "community", community_id, before=before, after=after,
           community_id=community_id)
    return after

