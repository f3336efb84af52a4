"""Whose figures a unit sees, the workbook's task sheet, and what a certificate's check confirms."""
from __future__ import annotations

import io
import os
import shutil

import openpyxl
import pytest

from backend.extensions import db
from backend.feedback.models import Certificate
from backend.reports.models import CLOSED, REJECTED
from tests.feedback.conftest import Q4_DAY
from tests.helpers import needs_pg, run_threads

URL = "/api/v1/units/{}/feedback?period=2026-Q4"
CERT = "/api/v1/me/certificate?from=2026-10-01&to=2026-12-31"


@pytest.fixture(autouse=True)
def _empty_exports(app):
    shutil.rmtree(os.path.join(app.config["FILES_DIR"], "exports"), ignore_errors=True)


def _member_of_u1_who_consented(client, login, city, report, serve, consent):
    """张三 reported with 一单位, served in 2026-Q4, was rated with a private comment, consented."""
    report(city.member, city.c1, city.u1, phone="13812345678", name="张三")
    serve(city.member, city.c1, 90, title="社区义诊")
    resp = client.post(f"/api/v1/communities/{city.c1.id}/evaluations", headers=login("staff1"),
                       json={"user_id": city.member.id, "period": "2026-Q4", "rating": "优秀", "comment": "私密评语"})
    assert resp.status_code == 201, resp.get_json()
    consent("member")


def _export(client, headers, unit_id, work):
    job_id = client.post(f"/api/v1/units/{unit_id}/feedback-exports", json={"period": "2026-Q4"},
                         headers=headers).get_json()["job_id"]
    work()
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["status"] == "finished", status
    wb = openpyxl.load_workbook(io.BytesIO(client.get(status["result_url"], headers=headers).data))
    return ([list(r) for r in wb["成员"].iter_rows(values_only=True)][1:],
            [list(r) for r in wb["任务"].iter_rows(values_only=True)][1:])


def test_another_unit_cannot_see_a_members_figures_by_putting_the_phone_on_its_roster(
        client, login, city, report, serve, consent, work):
    """The consent is for the member's own unit (the one the report names); a roster is typed in
    by the unit's admin, so another unit may list the phone and see the report status, no more."""
    _member_of_u1_who_consented(client, login, city, report, serve, consent)
    other = login("unit2")
    resp = client.post(f"/api/v1/units/{city.u2.id}/members", headers=other,
                       json={"members": [{"name": "张三", "phone": "13812345678"}]})
    assert resp.status_code == 200, resp.get_json()

    body = client.get(URL.format(city.u2.id), headers=other).get_json()
    (item,) = body["items"]
    assert item["status"] == "approved" and item["on_roster"] is True
    assert item["consented"] is False
    for field in ("tasks_done", "service_minutes", "points", "evaluations"):
        assert item[field] is None, field
    assert "私密评语" not in str(body) and body["counts"]["consented"] == 0

    members, tasks = _export(client, other, city.u2.id, work)
    assert members[0][5] == "否" and members[0][6:] == ["未授权"] * 7
    assert tasks == []
    # the member's own unit still sees everything
    own = client.get(URL.format(city.u1.id), headers=login("unit1")).get_json()["items"][0]
    assert own["consented"] is True and own["service_minutes"] == 90


def test_a_rejected_report_naming_a_unit_does_not_share_with_it_once_approved_elsewhere(
        client, login, city, report, serve, consent, work):
    """张三 first named 二单位 by mistake (rejected), then 一单位 (approved): 二单位 gets no figures."""
    report(city.member, city.c3, city.u2, phone="13812345678", name="张三", status=REJECTED)
    _member_of_u1_who_consented(client, login, city, report, serve, consent)
    other = login("unit2")
    body = client.get(URL.format(city.u2.id), headers=other).get_json()
    for item in body["items"]:
        assert item["consented"] is False and item["points"] is None and item["evaluations"] is None
    assert "私密评语" not in str(body) and body["counts"]["consented"] == 0
    members, tasks = _export(client, other, city.u2.id, work)
    assert all(r[5] == "否" for r in members)
    assert tasks == []  # no task rows of anybody, let alone rows without a unit or a name


def test_verification_confirms_what_the_pdf_says_after_the_member_moved(client, login, city, report, serve):
    """The same services, downloaded again after moving to 二社区 under a corrected name: the check
    page must show the name and community printed on this PDF (else the paper looks forged)."""
    first = report(city.member, city.c1, city.u1, phone="13812345678", name="张伟")
    serve(city.member, city.c1, 90, title="社区义诊", at=Q4_DAY)
    headers = login("member")
    old = client.get(CERT, headers=headers)
    assert old.status_code == 200
    first.status = CLOSED
    db.session.commit()
    report(city.member, city.c2, city.u1, phone="13812345678", name="张玮")

    new = client.get(CERT, headers=headers)
    assert new.status_code == 200
    code = new.headers["X-Certificate-Code"]
    check = client.get(f"/api/v1/certificates/{code}").get_json()
    assert (check["name"], check["community"]) == ("张玮", "二社区"), check
    # the first certificate still confirms what it said
    before = client.get(f"/api/v1/certificates/{old.headers['X-Certificate-Code']}").get_json()
    assert (before["name"], before["community"]) == ("张伟", "一社区")
    assert db.session.query(Certificate).count() == 2


@needs_pg
def test_two_downloads_at_once_mint_one_certificate(app, city, report, serve, monkeypatch):
    """A double tap on 下载证明: both requests find no certificate yet; only one number may be minted."""
    import threading

    from backend.auth.models import User
    from backend.feedback import certificate

    report(city.member, city.c1, city.u1, phone="13812345678", name="张伟")
    serve(city.member, city.c1, 90, title="社区义诊", at=Q4_DAY)
    member_id = city.member.id
    both_looked = threading.Barrier(2, timeout=1.5)
    real = certificate._new_code

    def new_code_when_both_looked():
        try:
            both_looked.wait()  # both requests past the lookup before either inserts
        except threading.BrokenBarrierError:
            pass  # the other request is held back: fine
        return real()

    monkeypatch.setattr(certificate, "_new_code", new_code_when_both_looked)
    numbers, errors = [], []

    def download():
        with app.app_context():
            try:
                cert, _ = certificate.issue_certificate(db.session.get(User, member_id))
                numbers.append(cert.number)
                db.session.commit()
            except Exception as exc:  # pragma: no cover - shown in the assertion
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    run_threads(*[download] * 2)
    assert errors == [] and len(numbers) == 2
    assert numbers[0] == numbers[1]
    assert db.session.query(Certificate).count() == 1
