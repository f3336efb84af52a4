"""QR attendance: rotating check-in codes, their pictures, and the members' scans."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app, make_response, url_for
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, claimed_caller, current_user, login_in_handler, public
from backend.attendance import services, staff

blp = Blueprint("attendance", __name__, url_prefix="/api/v1", description="扫码签到")


class CheckinCodeArgs(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(["in", "out"]))


class CheckinCodeSchema(ma.Schema):
    task_id = ma.fields.Integer()
    action = ma.fields.String()
    code = ma.fields.String()
    expires_at = LocalDateTime()
    refresh_after = ma.fields.Integer(metadata={"description": "seconds until the staff page should fetch a new code"})
    image_url = ma.fields.String()


class CheckinImageArgs(ma.Schema):
    format = ma.fields.String(load_default="png", validate=ma.validate.OneOf(["png", "svg"]))
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["qrcode", "wxacode"]))


class CheckinArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(-90, 90))
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(-180, 180))
    scanned_at = LocalDateTime(load_default=None, allow_none=True,
                               metadata={"description": "when the phone read the code (a scan sent later, offline)"})
    task_id = ma.fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=ma.validate.Range(min=1),
        metadata={"description": "the task whose page scanned: another task's code is 422 CODE_INVALID"})
    meeting_id = ma.fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=ma.validate.Range(min=1),
        metadata={"description": "the same for a meeting"})
    action = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.OneOf(["in", "out"]),
        metadata={"description": "the button pressed: a code of the other action is 422 CODE_INVALID"})

    @ma.validates_schema
    def _consistent(self, data, **kw):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("经纬度须同时提供", "lat" if data.get("lat") is None else "lng")
        if data.get("task_id") is not None and data.get("meeting_id") is not None:
            raise ma.ValidationError("任务与会议只能指定其一", "meeting_id")


class CheckinResult(ma.Schema):
    task_id = ma.fields.Integer()
    meeting_id = ma.fields.Integer()
    action = ma.fields.String()
    at = LocalDateTime()
    minutes = ma.fields.Integer()
    offline = ma.fields.Boolean()
    distance_m = ma.fields.Integer(allow_none=True)


@blp.get("/tasks/<int:task_id>/checkin-code")
@blp.arguments(CheckinCodeArgs, location="query")
@blp.response(200, CheckinCodeSchema)
def task_checkin_code(args, task_id):
    """A rotating check-in or check-out code for a task (staff of the task's community)."""
    out = staff.issue_task_code(current_user(), task_id, args["action"])
    out["image_url"] = url_for("attendance.code_image", code=out["code"])
    return out


@public
@blp.get("/checkin-codes/<string:code>.png")
@blp.arguments(CheckinImageArgs, location="query")
@blp.response(200, content_type="image/png")
@blp.doc(security=[])
def code_image(args, code):
    """The picture of a live code: PNG (default), ?format=svg, or ?kind=wxacode for a 小程序码 (the code is its own credential)."""
    from backend.wechat import client_for
    from backend.wechat.client import is_mock

    real = not is_mock(current_app.config)
    wants_wechat = args["kind"] == "wxacode" or (args["kind"] is None and real)
    data, mimetype = services.code_picture(
        code, fmt=args["format"], kind=args["kind"], real_appid=real,
        wechat=client_for(current_app) if wants_wechat else None)
    resp = make_response(data)
    resp.mimetype = mimetype
    resp.headers["Cache-Control"] = "no-store"
    return resp


@login_in_handler  # the hottest path: the account is checked inside the scan's own first statement
@blp.post("/checkins")
@blp.arguments(CheckinArgs())  # an instance: a class would be instantiated on every scan
@blp.response(201, CheckinResult)
@blp.alt_response(200, schema=CheckinResult, description="the same scan again: the first record")
def checkin(args):
    """Scan a check-in/out code (the member who claimed); 201 the first time, 200 when repeated."""
    body, created = services.checkin(claimed_caller(), args["code"], lat=args["lat"], lng=args["lng"],
                                     scanned_at=args["scanned_at"], task_id=args["task_id"],
                                     meeting_id=args["meeting_id"], action=args["action"])
    return body, 201 if created else 200
