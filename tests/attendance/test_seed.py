"""The demo city gives demo-member a confirmed attendance with points through the time bank."""
from sqlalchemy import select

from backend.attendance.models import Attendance
from backend.attendance.services import service_minutes
from backend.extensions import db


def test_demo_member_has_a_confirmed_attendance():
    from backend.seed import seed_demo, user_for

    assert seed_demo() is True
    member = user_for("demo-member")
    [row] = db.session.scalars(select(Attendance).where(Attendance.user_id == member.id))
    assert row.status == "checked_out" and row.minutes > 0 and row.awarded_at is not None and row.points > 0
    assert service_minutes(member.id)["scanned"] == row.minutes
    from backend.timebank.models import Transfer

    [t] = db.session.scalars(select(Transfer).where(Transfer.ref_type == "attendance", Transfer.ref_id == row.id))
    assert t.amount == row.points
