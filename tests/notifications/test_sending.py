"""Sending through wechatpy to the fake platform with a real RQ worker: once, retries, refusals."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from backend.db import utcnow
from backend.extensions import db
from backend.jobs import drain
from backend.jobs.models import OutboxJob
from backend.notifications.models import Notification, NotificationAttempt
from backend.notifications.sender import RETRY_DELAYS, send
from backend.notifications.services import notify
from tests.jobs.util import run_worker

SEND = "/cgi-bin/message/subscribe/send"


def _n(nid) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, nid)


def _errcodes(nid) -> list:
    return list(db.session.scalars(select(NotificationAttempt.errcode).where(
        NotificationAttempt.notification_id == nid).order_by(NotificationAttempt.id)))


def _cancelled(user, title="周末清扫楼道"):
    n = notify(user.id, "task_cancelled", {"task_id": 5, "title": title, "starts_at": "2026-11-07T09:00:00+08:00",
                                           "reason": "天气原因"}, ref_type="task", ref_id=5)
    db.session.commit()
    return n.id


def _later(seconds):
    return time_machine.travel(utcnow() + timedelta(seconds=seconds))


def test_delivered_once(app, city, wechat):
    nid = _cancelled(city.member)
    run_worker(app)
    calls = wechat.calls(SEND)
    assert len(calls) == 1
    body = calls[0]["body"]
    assert body["touser"] == "mock-member"
    assert body["template_id"] == "mock-tpl-task-cancelled"
    assert body["page"] == "pages/task/detail?id=5"
    assert body["data"]["thing1"]["value"] == "周末清扫楼道"
    assert body["data"]["time2"]["value"] == "2026年11月7日 09:00"
    n = _n(nid)
    assert n.status == "sent" and n.sent_at is not None and n.attempts == 1
    assert _errcodes(nid) == [0]
    # a duplicate job (pushed twice, or run by hand) does not send again
    assert send(nid) == "sent"
    run_worker(app)
    assert len(wechat.calls(SEND)) == 1


def test_a_claimed_notification_is_not_sent_by_a_second_worker(app, city, wechat):
    nid = _cancelled(city.member)
    db.session.query(Notification).filter_by(id=nid).update({"status": "sending", "claimed_at": utcnow()})
    db.session.commit()
    run_worker(app)
    assert wechat.calls(SEND) == []
    assert _n(nid).status == "sending"
    # ...unless that worker died: after the lease another one takes over
    with _later(11 * 60):
        assert send(nid) == "sent"
    assert len(wechat.calls(SEND)) == 1


def test_retried_on_system_busy_then_delivered(app, city, wechat):
    wechat.fail(SEND, -1, -1)
    nid = _cancelled(city.member)
    run_worker(app)
    n = _n(nid)
    assert n.status == "pending" and n.last_errcode == -1
    assert n.next_attempt_at - utcnow() > timedelta(seconds=RETRY_DELAYS[0] - 3)
    assert drain(app) == 0  # the retry is not due yet
    with _later(RETRY_DELAYS[0] + 1):
        assert drain(app) == 1
        run_worker(app)
        assert _n(nid).status == "pending"
        with _later(RETRY_DELAYS[1] + 1):
            assert drain(app) == 1
            run_worker(app)
    n = _n(nid)
    assert n.status == "sent" and n.attempts == 3
    assert _errcodes(nid) == [-1, -1, 0]
    assert len(wechat.calls(SEND)) == 3


def test_gives_up_after_the_last_retry(app, city, wechat):
    wechat.fail(SEND, *([-1] * (len(RETRY_DELAYS) + 1)))
    nid = _cancelled(city.member)
    run_worker(app)
    offset = 0
    for delay in RETRY_DELAYS:
        offset += delay + 1
        with _later(offset):
            assert drain(app) == 1
            run_worker(app)
    n = _n(nid)
    assert n.status == "failed" and n.attempts == len(RETRY_DELAYS) + 1
    assert _errcodes(nid) == [-1] * (len(RETRY_DELAYS) + 1)
    with _later(offset + 3600):
        assert drain(app) == 0


def test_not_retried_when_the_user_refused(app, city, wechat):
    wechat.fail(SEND, 43101)
    nid = _cancelled(city.member)
    run_worker(app)
    n = _n(nid)
    assert n.status == "refused" and n.attempts == 1
    assert _errcodes(nid) == [43101]
    with _later(3600):
        assert drain(app) == 0
        run_worker(app)
    assert len(wechat.calls(SEND)) == 1
    pending = db.session.scalars(select(OutboxJob).where(OutboxJob.done_at.is_(None))).all()
    assert pending == []


def test_other_errors_fail_without_retry(app, city, wechat):
    wechat.fail(SEND, 40003)  # invalid openid
    nid = _cancelled(city.member)
    run_worker(app)
    assert _n(nid).status == "failed"
    assert _errcodes(nid) == [40003]


def test_network_error_is_retried(app, city, wechat):
    from backend.wechat import client_for

    client = client_for(app)
    client.access_token  # fetch the token while the platform is reachable
    base = client.wxa.API_BASE_URL
    client.wxa.API_BASE_URL = "http://127.0.0.1:1/"
    try:
        nid = _cancelled(city.member)
        run_worker(app)
    finally:
        client.wxa.API_BASE_URL = base
    n = _n(nid)
    assert n.status == "pending" and n.last_errcode is None
    assert "network" in db.session.scalar(select(NotificationAttempt.error))
    with _later(RETRY_DELAYS[0] + 1):
        drain(app)
        run_worker(app)
    assert _n(nid).status == "sent"


def test_expired_access_token_is_refreshed_by_wechatpy(app, city, wechat):
    import requests

    from backend.wechat import client_for

    client_for(app).access_token
    requests.post(wechat.url + "__mock__/expire-tokens")
    nid = _cancelled(city.member)
    run_worker(app)
    assert _n(nid).status == "sent"
    assert _errcodes(nid) == [0]  # one attempt of ours; wechatpy retried inside it
    assert len(wechat.calls(SEND)) == 2  # 40001, then accepted with the new token


def test_long_fields_are_truncated_and_accepted(app, city, wechat):
    title = "二〇二六年冬季社区楼道清理与垃圾分类宣传志愿服务活动（第三期）"
    assert len(title) > 20
    nid = _cancelled(city.member, title=title)
    run_worker(app)
    assert _n(nid).status == "sent"
    sent = wechat.calls(SEND)[-1]["body"]["data"]["thing1"]["value"]
    assert len(sent) == 20 and sent.endswith("…") and title.startswith(sent[:-1])
    # the same title untruncated is what the platform rejects
    from wechatpy.exceptions import WeChatClientException

    from backend.wechat import client_for

    with pytest.raises(WeChatClientException) as exc:
        client_for(app).wxa.send_subscribe_message("mock-member", "t", {"thing1": {"value": title}})
    assert exc.value.errcode == 47003


def test_closed_account_is_skipped(app, city, wechat):
    city.member.closed_at = utcnow()
    nid = _cancelled(city.member)
    run_worker(app)
    assert _n(nid).status == "skipped"
    assert wechat.calls(SEND) == []


def test_notify_rejects_unknown_kind(city):
    with pytest.raises(ValueError):
        notify(city.member.id, "no_such_kind", {})
