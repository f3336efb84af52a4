"""Demo feedback: demo-member shares their record with the unit and is rated this quarter and
last; last quarter's feedback of the first unit is issued (demo-unit gets feedback_ready)."""
from __future__ import annotations

from flask import current_app

from backend.db import utcnow
from backend.feedback import consents, services
from backend.feedback.periods import previous_quarter, quarter_of


def seed(ctx: dict) -> None:
    users = ctx["users"]
    member, staff = users["demo-member"], users["demo-staff"]
    c1, u1 = ctx["communities"][0], ctx["units"][0]
    now = utcnow()
    consents.set_consent(member, consents.UNIT_FEEDBACK, True, current_app.config["PRIVACY_POLICY_VERSION"])
    last, this = previous_quarter(now), quarter_of(now)
    services.evaluate(staff, c1.id, user_id=member.id, period=last, rating="合格", comment="按时参加社区活动")
    services.issue_feedback(u1.id, last)
    services.evaluate(staff, c1.id, user_id=member.id, period=this, rating="优秀",
                      comment="积极参加义诊和环境整治，服务热情")
