"""The demo city has feedback to look at after seed-demo."""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.feedback.periods import previous_quarter, quarter_of
from backend.notifications.models import Notification
from backend.orgs.models import Unit
from backend.db import utcnow
from backend.seed import seed_demo


def test_seed_demo_has_feedback(client, login):
    assert seed_demo()
    unit = db.session.scalar(select(Unit).where(Unit.name == "市第一人民医院"))
    headers = login("demo-unit")
    now = utcnow()
    this = client.get(f"/api/v1/units/{unit.id}/feedback?period={quarter_of(now)}", headers=headers).get_json()
    zhang = next(i for i in this["items"] if i["name"] == "张伟")
    assert zhang["consented"] is True and zhang["service_minutes"] > 0 and zhang["points"] > 0
    assert zhang["evaluations"][0]["rating"] == "优秀"
    assert this["counts"]["total"] >= 5
    last = client.get(f"/api/v1/units/{unit.id}/feedback?period={previous_quarter(now)}", headers=headers).get_json()
    assert last["issued_at"] is not None
    assert db.session.scalar(select(Notification.kind).where(Notification.kind == "feedback_ready"))
    pdf = client.get("/api/v1/me/certificate", headers=login("demo-member"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
