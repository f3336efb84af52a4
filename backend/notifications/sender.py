"""Delivering notifications as WeChat subscribe messages, through wechatpy.

`schedule(n)` defers a send job through the job outbox in the caller's transaction. `send(id)`
claims the notification with a conditional UPDATE (so two workers never both send it), calls
subscribeMessage.send, records the attempt, and decides: sent; refused (43101, the user has
no subscription left: never retried); retry later with backoff (network errors, -1 system
busy, rate limits); failed (anything else, or out of retries). An expired access_token (40001)
is refreshed and retried inside wechatpy itself.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import redis
import requests
from flask import current_app
from sqlalchemy import and_, or_, update
from wechatpy.exceptions import WeChatClientException

from backend.auth.models import User
from backend.db import utcnow
from backend.extensions import db
from backend.jobs import defer, defer_many
from backend.notifications import templates
from backend.notifications.models import Notification, NotificationAttempt

log = logging.getLogger(__name__)

JOB = "backend.notifications.jobs.deliver"
RETRY_DELAYS = (10, 60, 300, 1800)  # seconds before the 2nd, 3rd, 4th and 5th attempt
RETRYABLE = {None, -1, 40001, 42001, 45009, 45011}  # None: network / HTTP error
REFUSED = 43101
LEASE = timedelta(minutes=10)  # a "sending" row older than this lost its worker


def schedule(n: Notification, run_at=None) -> None:
    """Defer sending n (in the caller's transaction; pushed to RQ after commit)."""
    defer(JOB, n.id, run_at=run_at)


def schedule_many(notification_ids: list[int]) -> None:
    """Defer sending each of these notifications, in bulk (see backend.jobs.defer_many)."""
    defer_many(JOB, [[nid] for nid in notification_ids])


def _claim(notification_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id,
               or_(Notification.status == "pending",
                   and_(Notification.status == "sending", Notification.claimed_at < now - LEASE)))
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _call_wechat(openid: str, template_id: str, data: dict, page: str) -> tuple[int | None, str | None]:
    """(errcode, error): 0 when WeChat accepted the message; None errcode for network errors."""
    from backend.wechat import client_for

    client = client_for(current_app._get_current_object())
    try:
        client.wxa.send_subscribe_message(openid, template_id, data, page)
        return 0, None
    except WeChatClientException as exc:
        return exc.errcode, f"{exc.errcode}: {exc.errmsg}"
    except (requests.RequestException, OSError, redis.RedisError) as exc:
        return None, f"network: {exc!r}"[:2000]


def send(notification_id: int) -> str:
    """Send one notification (a job). Returns its status afterwards; never sends twice."""
    if not _claim(notification_id):
        n = db.session.get(Notification, notification_id)
        if n is None:
            return "missing"
        if n.status == "sending":
            # held by another attempt: a live one, or one that died (or failed to commit
            # WeChat's answer) and will never finish it. Look again when its lease is over, so
            # the row is not left "sending" with no job left to take it over.
            schedule(n, run_at=(n.claimed_at or utcnow()) + LEASE + timedelta(seconds=1))
            db.session.commit()
        return n.status
    n = db.session.get(Notification, notification_id)
    user = db.session.get(User, n.user_id)
    if user is None or user.closed_at is not None or not user.openid:
        n.status, n.claimed_at = "skipped", None
        db.session.commit()
        return n.status
    try:
        template_id, data, page = templates.render(n.kind, n.data, ref_id=n.ref_id, at=n.created_at,
                                                   config=current_app.config)
        errcode, error = _call_wechat(user.openid, template_id, data, page)
    except Exception as exc:  # a bug must not leave the row "sending": count it and back off
        log.exception("sending notification %s failed", notification_id)
        db.session.rollback()
        n = db.session.get(Notification, notification_id)
        errcode, error = None, f"error: {exc!r}"[:2000]
    return _record(n, errcode, error)


def _record(n: Notification, errcode: int | None, error: str | None) -> str:
    """Write the attempt and the outcome in one transaction (with the retry job, if any)."""
    now = utcnow()
    n.attempts += 1
    n.last_errcode = errcode
    n.claimed_at = None
    n.next_attempt_at = None
    db.session.add(NotificationAttempt(notification_id=n.id, at=now, errcode=errcode, error=error))
    if errcode == 0:
        n.status, n.sent_at = "sent", now
    elif errcode == REFUSED:
        n.status = "refused"
    elif errcode in RETRYABLE and n.attempts <= len(RETRY_DELAYS):
        n.status = "pending"
        n.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[n.attempts - 1])
        schedule(n, run_at=n.next_attempt_at)
    else:
        n.status = "failed"
    if n.status != "sent":
        log.info("notification %s: %s (errcode %s, attempt %s)", n.id, n.status, errcode, n.attempts)
    db.session.commit()
    return n.status


def retry_failed(notification_id: int) -> Notification:
    """Give a failed notification a fresh start (an operator's decision); flushes, no commit."""
    n = db.session.get(Notification, notification_id)
    if n is None or n.status != "failed":
        return n
    n.status, n.attempts, n.next_attempt_at = "pending", 0, None
    db.session.flush()
    schedule(n)
    return n
