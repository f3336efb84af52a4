"""Unit feedback: members with status and community; figures only with consent; scoped readers."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from backend.extensions import db
from backend.reports.models import UnitMember
from tests.feedback.conftest import Q3_DAY, Q4_DAY
from tests.helpers import error_code

URL = "/api/v1/units/{}/feedback?period={}"


def _by_name(body):
    return {i["name"]: i for i in body["items"]}


def test_consent_decides_what_the_unit_sees(client, login, city, report, serve, consent):
    report(city.member, city.c1, city.u1, phone="13812345678", name="张三")
    report(city.member2, city.c1, city.u1, phone="13987654321", name="李四")
    serve(city.member, city.c1, 90)  # scanned, 90 points at 60/h
    serve(city.member, city.c2, 30, source="manual", title="整理图书")
    serve(city.member2, city.c1, 120)
    client.post(f"/api/v1/communities/{city.c1.id}/evaluations", headers=login("staff1"),
                json={"user_id": city.member.id, "period": "2026-Q4", "rating": "优秀", "comment": "带头参加"})
    client.post(f"/api/v1/communities/{city.c1.id}/evaluations", headers=login("staff1"),
                json={"user_id": city.member2.id, "period": "2026-Q4", "rating": "合格", "comment": "私密评语"})
    consent("member")

    resp = client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("unit1"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    items = _by_name(body)
    zhang, li = items["张三"], items["李四"]
    assert zhang["consented"] is True and zhang["status"] == "approved" and zhang["community_name"] == "一社区"
    assert (zhang["tasks_done"], zhang["scanned_minutes"], zhang["manual_minutes"], zhang["service_minutes"]) == (2, 90, 30, 120)
    assert zhang["points"] == 120
    assert zhang["evaluations"] == [{"community_id": city.c1.id, "community_name": "一社区", "rating": "优秀",
                                     "comment": "带头参加"}]
    assert zhang["phone"] == "138****5678"
    assert li["consented"] is False and li["status"] == "approved" and li["community_name"] == "一社区"
    for field in ("tasks_done", "scanned_minutes", "manual_minutes", "service_minutes", "points", "evaluations"):
        assert li[field] is None, field
    assert "私密评语" not in resp.get_data(as_text=True)
    assert li["phone"] == "139****4321"
    assert body["counts"] == {"total": 2, "reported": 2, "pending": 0, "rejected": 0, "not_reported": 0, "consented": 1}

    consent("member", granted=False)  # withdrawn: the unit sees only the status again
    again = _by_name(client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("unit1")).get_json())
    assert again["张三"]["consented"] is False and again["张三"]["points"] is None


def test_only_the_period_counts_and_unconfirmed_or_reversed_work_does_not(client, login, city, report, serve,
                                                                         consent, time_machine):
    from backend.timebank.models import Transfer
    from backend.timebank.service import reverse

    report(city.member, city.c1, city.u1, name="张三")
    consent("member")
    time_machine.move_to(Q3_DAY + timedelta(hours=1))
    serve(city.member, city.c1, 60, at=Q3_DAY)  # Q3: its minutes and points belong to Q3
    time_machine.move_to(Q4_DAY + timedelta(days=3))
    serve(city.member, city.c1, 45, at=Q4_DAY)
    serve(city.member, city.c1, 200, at=Q4_DAY, confirm=False)  # staff never confirmed it
    wrong = serve(city.member, city.c1, 30, at=Q4_DAY)
    earn = db.session.query(Transfer).filter_by(kind="earn", amount=30).one()
    reverse(db.session, transfer_id=earn.id, actor_id=city.admin.id, reason="误录")
    db.session.commit()
    assert wrong is not None
    q4 = _by_name(client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("unit1")).get_json())["张三"]
    assert (q4["tasks_done"], q4["scanned_minutes"], q4["points"]) == (2, 75, 45)
    q3 = _by_name(client.get(URL.format(city.u1.id, "2026-Q3"), headers=login("unit1")).get_json())["张三"]
    assert (q3["tasks_done"], q3["scanned_minutes"], q3["points"]) == (1, 60, 60)


def test_roster_members_not_reported_and_pending_reports_are_listed(client, login, city, report):
    db.session.add(UnitMember(unit_id=city.u1.id, name="王五", phone="13700001111"))
    db.session.add(UnitMember(unit_id=city.u1.id, name="赵六", phone="13700002222"))
    db.session.commit()
    report(city.member, city.c2, city.u1, phone="13700002222", status="pending", name="赵六")
    report(city.member2, city.c3, city.u2, phone="13600000000", name="别的单位")
    body = client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("unit1")).get_json()
    items = _by_name(body)
    assert set(items) == {"王五", "赵六"}
    assert items["王五"]["status"] == "not_reported" and items["王五"]["community_name"] is None
    assert items["王五"]["on_roster"] is True and items["王五"]["phone"] == "137****1111"
    assert items["赵六"]["status"] == "pending" and items["赵六"]["community_name"] == "二社区"
    assert body["counts"]["not_reported"] == 1 and body["counts"]["pending"] == 1


def test_readers_are_scoped(client, login, city, report):
    report(city.member, city.c1, city.u1)
    assert error_code(client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("unit2"))) == "FORBIDDEN"
    assert client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("streetadm")).status_code == 200
    assert client.get(URL.format(city.u2.id, "2026-Q4"), headers=login("streetadm")).status_code == 403
    assert client.get(URL.format(city.u2.id, "2026-Q4"), headers=login("admin")).status_code == 200
    assert client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("member")).status_code == 403
    assert client.get(URL.format(city.u1.id, "2026-Q4"), headers=login("staff1")).status_code == 403
    assert client.get(URL.format(9999, "2026-Q4"), headers=login("admin")).status_code == 404
    assert client.get(URL.format(city.u1.id, "2026-Q4")).status_code == 401


def test_bad_period_is_422(client, login, city):
    headers = login("unit1")
    for period in ("2026-13", "2026-Q0", "2026Q4", "abc", "2026-11"):
        resp = client.get(URL.format(city.u1.id, period), headers=headers)
        assert resp.status_code == 422 and "period" in resp.get_json()["error"]["details"], period
    resp = client.get(f"/api/v1/units/{city.u1.id}/feedback", headers=headers)
    assert resp.status_code == 422 and "period" in resp.get_json()["error"]["details"]


def test_pages_and_counts_over_everyone(client, login, city, report, consent):
    for n in range(5):
        db.session.add(UnitMember(unit_id=city.u1.id, name=f"成员{n}", phone=f"1370000000{n}"))
    db.session.commit()
    report(city.member, city.c1, city.u1, phone="13700000003", name="成员3")
    consent("member")
    headers = login("unit1")
    first = client.get(URL.format(city.u1.id, "2026-Q4") + "&limit=2", headers=headers).get_json()
    assert [i["name"] for i in first["items"]] == ["成员0", "成员1"] and first["next_cursor"] == "2"
    assert first["counts"]["total"] == 5 and first["counts"]["consented"] == 1
    second = client.get(URL.format(city.u1.id, "2026-Q4") + "&limit=2&cursor=2", headers=headers).get_json()
    assert [i["name"] for i in second["items"]] == ["成员2", "成员3"]
    assert second["items"][1]["consented"] is True and second["items"][1]["tasks_done"] == 0
    last = client.get(URL.format(city.u1.id, "2026-Q4") + "&limit=2&cursor=4", headers=headers).get_json()
    assert len(last["items"]) == 1 and last["next_cursor"] is None
    assert client.get(URL.format(city.u1.id, "2026-Q4") + "&cursor=x", headers=headers).status_code == 422


def test_statement_count_does_not_grow_with_members(app, city):
    """The figures come from GROUP BY queries: 3 members or 30, the same number of statements."""
    from backend.auth.models import User
    from backend.feedback.consents import set_consent
    from backend.feedback.unit_feedback import unit_feedback
    from backend.reports.models import MemberReport

    def add_members(n, offset):
        for k in range(offset, offset + n):
            u = User(openid=f"bulk-{k}", nickname=f"n{k}")
            db.session.add(u)
            db.session.flush()
            db.session.add(MemberReport(user_id=u.id, community_id=city.c1.id, unit_id=city.u1.id, name=f"人{k}",
                                        phone=f"135{k:08d}", status="approved"))
            set_consent(u, "unit_feedback", True, "2026-11")
        db.session.commit()

    def statements():
        seen = []
        listener = lambda *a, **kw: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            body = unit_feedback(city.u1.id, "2026-Q4")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen), body

    add_members(3, 0)
    few, body = statements()
    assert body["counts"]["total"] == 3
    add_members(27, 3)
    many, body = statements()
    assert body["counts"]["total"] == 30 and body["counts"]["consented"] == 30
    assert many == few
