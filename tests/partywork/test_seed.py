"""The demo city has party work to look at after seed-demo."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.extensions import db
from backend.partywork import quiet
from backend.partywork.models import (
    CommunityNeed, DutyHolder, DutyLog, DutyPost, Household, HouseholdLink, Meeting, MeetingAttendee, NeedPledge,
    Visit,
)
from backend.seed import seed_demo


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_demo_has_party_work(client, login):
    assert seed_demo()
    assert _count(DutyPost) >= 2 and _count(DutyHolder, DutyHolder.status == "active") >= 1
    assert _count(DutyLog, DutyLog.status == "confirmed") >= 1 and _count(DutyLog, DutyLog.status == "pending") >= 1
    assert _count(Household) >= 3 and _count(HouseholdLink) >= 2 and _count(Visit) >= 2
    assert _count(MeetingAttendee, MeetingAttendee.status == "present") >= 1
    assert _count(MeetingAttendee, MeetingAttendee.status == "leave") >= 1
    assert _count(Meeting) >= 2
    assert _count(NeedPledge) >= 1 and _count(CommunityNeed, CommunityNeed.status == "已认领") >= 1
    staff = login("demo-staff")
    c1 = db.session.scalar(select(DutyPost.community_id).limit(1))
    names = [q["name"] for q in quiet.find_quiet(c1, 6)]
    assert "周军" in names
    quiet_items = client.get(f"/api/v1/communities/{c1}/quiet-members", headers=staff).get_json()["items"]
    assert quiet_items[0]["follow_up"]["status"] == "失联"
    assert client.get("/api/v1/me/households", headers=login("demo-member")).get_json()["items"]
    assert client.get(f"/api/v1/communities/{c1}/matches", headers=staff).get_json()["items"]


def test_figures_for_other_domains(city):
    from datetime import date, datetime, timezone

    import time_machine

    from backend.partywork import duty, figures

    with time_machine.travel(datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc), tick=False):
        post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1)
        duty.apply_or_appoint(city.staff1, post.id, city.member.id)
        log = duty.add_log(city.member, post.id, date_=date(2026, 11, 10), minutes=50)
        duty.add_log(city.member, post.id, date_=date(2026, 11, 10), minutes=7)  # not confirmed
        duty.confirm_logs(city.staff1, city.c1.id, [log.id])
        assert figures.honor_minutes(city.member.id) == {"duty": 50, "visits": 0}
        nov = (datetime(2026, 10, 31, 16, tzinfo=timezone.utc), datetime(2026, 11, 30, 16, tzinfo=timezone.utc))
        assert figures.honor_minutes(community_ids=[city.c1.id], since=nov[0], until=nov[1])["duty"] == 50
        assert figures.honor_minutes(community_ids=[city.c2.id])["duty"] == 0
        assert figures.honor_minutes(city.member.id, until=nov[0])["duty"] == 0
        assert figures.quiet_count(city.c1.id) == 0
