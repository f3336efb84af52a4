"""A person's own data (PIPL Art. 45-47): the export of everything held, and closing the account."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import current_user
from backend.oversight import closing, mydata

blp = Blueprint("mydata", __name__, url_prefix="/api/v1", description="个人信息：导出与注销")


class MyDataSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    exported_at = ma.fields.String()
    profile = ma.fields.Dict()
    member_reports = ma.fields.List(ma.fields.Dict())
    task_claims = ma.fields.List(ma.fields.Dict())
    attendances = ma.fields.List(ma.fields.Dict())
    wishes_posted = ma.fields.List(ma.fields.Dict())
    wishes_claimed = ma.fields.List(ma.fields.Dict())
    wish_events = ma.fields.List(ma.fields.Dict())
    account = ma.fields.Dict()
    transfers = ma.fields.List(ma.fields.Dict())
    redemptions = ma.fields.List(ma.fields.Dict())
    duty_posts = ma.fields.List(ma.fields.Dict())
    duty_logs = ma.fields.List(ma.fields.Dict())
    household_links = ma.fields.List(ma.fields.Dict())
    visits = ma.fields.List(ma.fields.Dict())
    meetings = ma.fields.List(ma.fields.Dict())
    follow_ups = ma.fields.List(ma.fields.Dict())
    evaluations = ma.fields.List(ma.fields.Dict())
    certificates = ma.fields.List(ma.fields.Dict())
    unit_rosters = ma.fields.List(ma.fields.Dict())
    notifications = ma.fields.List(ma.fields.Dict())
    consents = ma.fields.Dict()


@blp.get("/me/export")
@blp.response(200, MyDataSchema)
def export_me():
    """Everything held about the caller, as JSON (profile, reports, claims, attendances, points, visits, consents, ...)."""
    return mydata.export_my_data(current_user())


@blp.delete("/me")
@blp.response(204)
def close_me():
    """Close the caller's account: personal data erased, roles revoked, balance returned, token invalid."""
    closing.close_account(current_user())
