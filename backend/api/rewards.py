"""爱心超市: rewards that staff manage and people redeem with 公益积分."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, page_schema, paginate
from backend.api.timebank import IdempotencyHeader, remember_failures
from backend.auth import policy
from backend.rewards import services
from backend.rewards.models import Redemption, Reward

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
    id = ma.fields.Integer()
    reward_id = ma.fields.Integer()
    reward_name = ma.fields.String()
    community_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    points = ma.fields.Integer()
    transfer_id = ma.fields.Integer()
    created_at = LocalDateTime()


class RedeemedSchema(RedemptionSchema):
    balance_after = ma.fields.Integer()


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
    return {**{f: getattr(redemption, f) for f in RedemptionSchema._declared_fields}, "balance_after": balance_after}


@blp.get("/me/redemptions")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RedemptionSchema, "RedemptionPage"))
def my_redemptions(args):
    """What I have redeemed, newest first."""
    user = current_user()
    return paginate(services.my_redemptions_query(user.id), Redemption.id, args["limit"], args["cursor"])


@blp.get("/communities/<int:community_id>/redemptions")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RedemptionSchema, "CommunityRedemptionPage"))
def community_redemptions(args, community_id):
    """Redemptions at the community's shelf, newest first (staff: to hand the goods over)."""
    policy.require_staff(current_user(), community_id)
    return paginate(services.community_redemptions_query(community_id), Redemption.id, args["limit"],
                    args["cursor"])
