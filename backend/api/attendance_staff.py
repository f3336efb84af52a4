"""Staff tools on a task's attendance: roster, bulk check-out, absence, manual minutes, confirmation."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import (LocalDateTime, PageArgs, _encode, current_user, cursor_id, idempotent,
                                page_schema)
from backend.attendance import staff

blp = Blueprint("attendance_staff", __name__, url_prefix="/api/v1", description="签到管理（社区工作人员）")


class AttendanceItem(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)
    nickname = ma.fields.String()
    claimed = ma.fields.Boolean()
    claim_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"description": "claimed|checked_in|checked_out|absent"})
    source = ma.fields.String(metadata={"description": "scan (信用) | manual (荣誉)"})
    manual_reason = ma.fields.String(allow_none=True)
    checkin_at = LocalDateTime(allow_none=True)
    checkin_received_at = LocalDateTime(allow_none=True)
    checkin_offline = ma.fields.Boolean()
    checkin_distance_m = ma.fields.Integer(allow_none=True)
    checkout_at = LocalDateTime(allow_none=True)
    checkout_received_at = LocalDateTime(allow_none=True)
    checkout_offline = ma.fields.Boolean()
    checkout_distance_m = ma.fields.Integer(allow_none=True)
    minutes = ma.fields.Integer()
    awarded_at = LocalDateTime(allow_none=True)
    points = ma.fields.Integer()


AttendanceList = page_schema(AttendanceItem, "AttendanceList")


class CheckoutAllResult(ma.Schema):
    checked_out = ma.fields.Integer()
    user_ids = ma.fields.List(ma.fields.Integer())


class AttendanceManualArgs(ma.Schema):
    minutes = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 24 * 60))
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))

    @ma.validates("reason")
    def _not_blank(self, value, **kw):
        if not value.strip():
            raise ma.ValidationError("请填写原因")


class AttendanceConfirmResult(ma.Schema):
    awarded = ma.fields.Integer(metadata={"description": "attendances that earned points now"})
    points = ma.fields.Integer()
    confirmed = ma.fields.Integer(metadata={"description": "attendances confirmed now, zero-point ones included"})


@blp.get("/tasks/<int:task_id>/attendances")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AttendanceList)
def list_attendances(args, task_id):
    """The task's claimers with their attendance, by user id, a page at a time (staff of the task's community)."""
    after = cursor_id(args["cursor"])
    items, last = staff.task_roster(current_user(), task_id, limit=args["limit"], after=after)
    return {"items": items, "next_cursor": _encode(last) if last is not None else None}


@blp.post("/tasks/<int:task_id>/checkout-all")
@blp.response(200, CheckoutAllResult)
def checkout_all(task_id):
    """After the end, check out everyone still checked in, at the task's end (staff)."""
    return staff.checkout_all(current_user(), task_id)


@blp.post("/tasks/<int:task_id>/attendances/<int:user_id>/absent")
@blp.response(200, AttendanceItem)
def mark_absent(task_id, user_id):
    """Mark a claimer absent (staff)."""
    return staff.mark_absent(current_user(), task_id, user_id)


@blp.post("/tasks/<int:task_id>/attendances/<int:user_id>/manual")
@blp.arguments(AttendanceManualArgs)
@blp.response(200, AttendanceItem)
def enter_manual(args, task_id, user_id):
    """Enter a claimer's minutes by hand, with a reason (staff; 荣誉 minutes, audited)."""
    return staff.enter_manual(current_user(), task_id, user_id, args["minutes"], args["reason"].strip())


@blp.post("/tasks/<int:task_id>/confirm")
@idempotent
@blp.response(200, AttendanceConfirmResult)
def confirm(task_id):
    """Award points for every finished attendance not yet awarded, exactly once (staff)."""
    return staff.confirm(current_user(), task_id)
