"""Marshmallow schemas for wishes."""
from __future__ import annotations

import marshmallow as ma

from backend.api.common import LocalDateTime, PageArgs
from backend.wishes.models import STATUSES, TYPES

V = ma.validate


class CreateWishArgs(ma.Schema):
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=100))
    description = ma.fields.String(load_default="", validate=V.Length(max=2000))
    type = ma.fields.String(required=True, validate=V.OneOf(TYPES, error="类型应为：物质 或 精神"))

    @ma.validates("title")
    def _title(self, value, **kw):
        if not value.strip():
            raise ma.ValidationError("标题不能为空")


class MyWishListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=V.OneOf(STATUSES))


class WishListArgs(MyWishListArgs):
    mine = ma.fields.Boolean(load_default=False, metadata={"description": "only wishes I posted or claimed"})


class WishDecisionArgs(ma.Schema):
    approve = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=200))


class WishCancelArgs(ma.Schema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=200))


class WishCompleteArgs(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=200))


class WishRatingArgs(ma.Schema):
    rating = ma.fields.Integer(required=True, strict=True, validate=V.Range(1, 5, error="评分应为 1 到 5"))
    comment = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=500))


class WishEventSchema(ma.Schema):
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    at = LocalDateTime()
    note = ma.fields.String(allow_none=True)


class WishSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    resident_name = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    description = ma.fields.String()
    type = ma.fields.String()
    status = ma.fields.String(metadata={"description": " | ".join(STATUSES)})
    claimer_id = ma.fields.Integer(allow_none=True)
    claimer_name = ma.fields.String(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()
    decided_at = LocalDateTime(allow_none=True)
    claimed_at = LocalDateTime(allow_none=True)
    completed_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    rated_at = LocalDateTime(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(WishEventSchema), metadata={"description": "history (one wish only)"})
