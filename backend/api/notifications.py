"""WeChat subscribe messages: one's own, and the platform admin's delivery overview."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, page_schema, paginate
from backend.notifications import services
from backend.notifications.models import KINDS, Notification

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="订阅消息")

STATUSES = ("pending", "sending", "sent", "refused", "failed", "skipped")


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    data = ma.fields.Dict()
    ref_type = ma.fields.String(allow_none=True)
    ref_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    attempts = ma.fields.Integer()
    created_at = LocalDateTime()
    sent_at = LocalDateTime(allow_none=True)


class AttemptSchema(ma.Schema):
    at = LocalDateTime()
    errcode = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)


class AdminNotificationSchema(NotificationSchema):
    user_id = ma.fields.Integer()
    last_errcode = ma.fields.Integer(allow_none=True)
    next_attempt_at = LocalDateTime(allow_none=True)
    attempt_log = ma.fields.Method("_attempts")

    def _attempts(self, obj):
        return AttemptSchema(many=True).dump(services.attempts_of(obj.id))


class AdminListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    user_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(KINDS))


class SendArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    data = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=40)), load_default=dict)
    ref_type = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    ref_id = ma.fields.Integer(load_default=None)


@blp.get("/me/notifications")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
def my_notifications(args):
    """My subscribe messages and whether each was delivered."""
    user = current_user()
    return paginate(services.mine_query(user.id), Notification.id, args["limit"], args["cursor"])


@blp.get("/admin/notifications")
@blp.arguments(AdminListArgs, location="query")
@blp.response(200, page_schema(AdminNotificationSchema, "AdminNotificationPage"))
def admin_notifications(args):
    """Delivery overview with every attempt's errcode (admin)."""
    q = services.admin_query(current_user(), status=args["status"], user_id=args["user_id"], kind=args["kind"])
    return paginate(q, Notification.id, args["limit"], args["cursor"])


@blp.post("/admin/notifications")
@blp.arguments(SendArgs)
@blp.response(201, AdminNotificationSchema)
def send_notification(args):
    """Send one subscribe message to one user, e.g. a personal report reminder (admin)."""
    return services.send_by_admin(current_user(), args.pop("user_id"), args.pop("kind"), args.pop("data"), **args)


@blp.post("/admin/notifications/<int:notification_id>/retry")
@blp.response(200, AdminNotificationSchema)
def retry_notification(notification_id):
    """Try a failed notification again with a fresh set of attempts (admin)."""
    return services.retry_by_admin(current_user(), notification_id)
