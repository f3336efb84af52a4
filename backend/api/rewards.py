"""爱心超市: rewards that staff manage and people redeem with 公益积分."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, idempotent, page_schema, paginate
from backend.api.timebank import IdempotencyHeader, remember_failures
from backend.auth import policy
from backend.rewards import services
from backend.rewards.models import REDEMPTION_STATUSES, Redemption, Reward
from backend.auth.services import display_names

blp = Blueprint("rewards", __name__, url_prefix="/api/v1", description="爱心超市：礼品与积分兑换")


class RewardSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String()
    points = ma.fields.Integer()
    stock = ma.fields.Integer()
    active = ma.fields.Boolean()
    created_at = LocalDateTime()


class CreateReward(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    points = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=1000000))
    stock = ma.fields.Integer(load_default=0, strict=True, validate=ma.validate.Range(min=0, max=1000000))


class UpdateReward(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    points = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=1000000))
    stock = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=1000000))
    active = ma.fields.Boolean()

    @ma.validates_schema
    def _something(self, data, **kw):
        if not data:
            raise ma.ValidationError("请至少修改一项", "_schema")


class RewardListArgs(PageArgs):
    include_inactive = ma.fields.Boolean(load_default=False)


class RedemptionSchema(ma.Schema):
    """A redemption as staff see it: no pickup code (the person shows it at the shelf)."""

    id = ma.fields.Integer()
    reward_id = ma.fields.Integer()
    reward_name = ma.fields.String()
    community_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    user_name = ma.fields.String(allow_none=True)
    points = ma.fields.Integer()
    transfer_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "pending (待领取) | handed_over (已领取) | cancelled (已取消)"})
    created_at = LocalDateTime()
    handed_over_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)


class MyRedemptionSchema(RedemptionSchema):
    pickup_code = ma.fields.String(allow_none=True, metadata={"description": "shown at the shelf while pending"})


class RedeemedSchema(MyRedemptionSchema):
    balance_after = ma.fields.Integer()


class RedemptionListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(REDEMPTION_STATUSES))


class HandoverArgs(ma.Schema):
    pickup_code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[0-9]{8}$", error="核销码为 8 位数字"))


def _named(redemptions: list[Redemption]) -> list[Redemption]:
    names = display_names(r.user_id for r in redemptions)
    for r in redemptions:
        r.user_name = names.get(r.user_id)
    return redemptions


@blp.get("/communities/<int:community_id>/rewards")
@blp.arguments(RewardListArgs, location="query")
@blp.response(200, page_schema(RewardSchema, "RewardPage"))
def list_rewards(args, community_id):
    """A community's rewards (anyone logged in; staff may add include_inactive=true)."""
    user = current_user()
    policy.community(community_id)
    inactive = args["include_inactive"]
    if inactive:
        policy.require_staff(user, community_id)
    return paginate(services.rewards_query(community_id, inactive), Reward.id, args["limit"], args["cursor"],
                    descending=False)


@blp.post("/communities/<int:community_id>/rewards")
@idempotent
@blp.arguments(CreateReward)
@blp.response(201, RewardSchema)
def create_reward(args, community_id):
    """Put a reward on the community's shelf (staff)."""
    user = current_user()
    policy.require_staff(user, community_id)
    return services.create_reward(community_id, actor_id=user.id, **args)


@blp.patch("/rewards/<int:reward_id>")
@blp.arguments(UpdateReward)
@blp.response(200, RewardSchema)
def update_reward(args, reward_id):
    """Change a reward's stock, points, name, description or active flag (staff; audited)."""
    user = current_user()
    policy.require_staff(user, services.get_reward(reward_id).community_id)
    return services.update_reward(reward_id, args, actor_id=user.id)


@blp.post("/rewards/<int:reward_id>/redemptions")
@blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@blp.response(201, RedeemedSchema)
@remember_failures
def redeem(reward_id, key):
    """Redeem one unit of a reward with points (Idempotency-Key required)."""
    user = current_user()
    redemption, balance_after = services.redeem(user.id, reward_id, key)
    _named([redemption])
    return {**{f: getattr(redemption, f) for f in MyRedemptionSchema._declared_fields}, "balance_after": balance_after}


@blp.get("/me/redemptions")
@blp.arguments(RedemptionListArgs, location="query")
@blp.response(200, page_schema(MyRedemptionSchema, "RedemptionPage"))
def my_redemptions(args):
    """What I have redeemed, newest first, with the pickup code of what waits at the shelf."""
    user = current_user()
    page = paginate(services.redemptions_query(user_id=user.id, status=args["status"]), Redemption.id, args["limit"],
                    args["cursor"])
    _named(page["items"])
    return page


@blp.get("/communities/<int:community_id>/redemptions")
@blp.arguments(RedemptionListArgs, location="query")
@blp.response(200, page_schema(RedemptionSchema, "CommunityRedemptionPage"))
def community_redemptions(args, community_id):
    """Redemptions at the community's shelf, newest first (staff: ?status=pending is what waits for pickup)."""
    policy.require_staff(current_user(), community_id)
    page = paginate(services.redemptions_query(community_id=community_id, status=args["status"]), Redemption.id,
                    args["limit"], args["cursor"])
    _named(page["items"])
    return page


@blp.post("/communities/<int:community_id>/redemptions/handover")
@blp.arguments(HandoverArgs)
@blp.response(200, RedemptionSchema)
def hand_over(args, community_id):
    """Hand the goods over against the pickup code the person shows (staff; once: a used code is 404)."""
    return _named([services.hand_over(current_user(), community_id, args["pickup_code"])])[0]


@blp.post("/redemptions/<int:redemption_id>/cancel")
@idempotent
@blp.response(200, MyRedemptionSchema)
def cancel_redemption(redemption_id):
    """Cancel a redemption not yet handed over (the person, or staff of the shelf): the points come
    back to the wallet and the unit to the shelf. 409 INVALID_STATE once handed over or cancelled."""
    return _named([services.cancel_redemption(current_user(), redemption_id)])[0]
