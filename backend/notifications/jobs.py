"""Notification jobs: each notification is sent by its own outbox job."""
from __future__ import annotations

from backend.jobs import worker_app


def deliver(notification_id: int) -> str:
    """Send one notification through WeChat (retries are re-deferred by the sender)."""
    from backend.notifications.sender import send

    with worker_app().app_context():
        return send(notification_id)
