"""志愿服务记录证明: a PDF with the name, services and total in Chinese, verifiable by its code."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from backend.extensions import db
from backend.feedback.models import Certificate
from tests.helpers import error_code

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
URL = "/api/v1/me/certificate"


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "cert.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


@pytest.fixture
def served(city, report, serve):
    report(city.member, city.c1, city.u1, phone="13812345678", name="张伟")
    serve(city.member, city.c1, 90, title="社区义诊：量血压")
    serve(city.member, city.c2, 45, source="manual", title="整理社区图书室")
    serve(city.member, city.c1, 500, confirm=False, title="未确认的服务")


def test_certificate_pdf_has_name_services_and_total(client, login, city, served, tmp_path):
    resp = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=login("member"))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf" and resp.data[:5] == b"%PDF-"
    text = _text(resp.data, tmp_path)
    compact = "".join(text.split())
    assert "志愿服务记录证明" in compact
    assert "张伟" in compact
    assert "138****5678" in compact and "13812345678" not in compact
    assert "累计服务时长135分钟" in compact  # 90 scanned + 45 manual; the unconfirmed 500 is not counted
    assert "社区义诊" in compact and "整理社区图书室" in compact and "未确认" not in compact
    assert "扫码签到" in compact and "人工补录" in compact
    assert "出具单位：一社区" in compact
    cert = db.session.query(Certificate).one()
    assert cert.number in compact and cert.code in compact
    assert resp.headers["X-Certificate-Code"] == cert.code
    assert (cert.total_minutes, cert.scanned_minutes, cert.manual_minutes, cert.services) == (135, 90, 45, 2)

    # the font is embedded (a TrueType subset), so any viewer renders the Chinese
    fonts = [f.get_object() for page in PdfReader(io.BytesIO(resp.data)).pages
             for f in page["/Resources"]["/Font"].values()]
    descendants = [d.get_object() for f in fonts for d in f.get("/DescendantFonts", [])]
    assert descendants and all("/FontFile2" in d["/FontDescriptor"] for d in descendants)
    assert all("+" in d["/BaseFont"] for d in descendants)  # subset tag, e.g. ABCDEF+WenQuanYi...

    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "certificate.pdf"
    pdf.write_bytes(resp.data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / "certificate-page1")], check=True)
    assert (ARTIFACTS / "certificate-page1.png").stat().st_size > 10_000


def test_anyone_can_verify_it_and_sees_no_phone(client, login, city, served):
    pdf = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=login("member"))
    code = pdf.headers["X-Certificate-Code"]
    resp = client.get(f"/api/v1/certificates/{code}")  # no login
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["valid"] is True and body["name"] == "张伟" and body["community"] == "一社区"
    assert (body["total_minutes"], body["scanned_minutes"], body["manual_minutes"], body["services"]) == (135, 90, 45, 2)
    assert body["from"] == "2026-10-01" and body["to"] == "2026-12-31" and body["total_hours"] == 2.2
    text = resp.get_data(as_text=True)  # neither whole nor masked (a timestamp's or code's digits may hold "138")
    assert "phone" not in body and "13812345678" not in text and "****" not in text
    assert client.get(f"/api/v1/certificates/{code.lower()}").status_code == 200
    unknown = client.get("/api/v1/certificates/AAAAAAAAAAAA")
    assert unknown.status_code == 404 and error_code(unknown) == "NOT_FOUND"


def test_same_record_same_certificate_new_record_new_one(client, login, city, served, serve):
    headers = login("member")
    first = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=headers).headers["X-Certificate-Code"]
    again = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=headers).headers["X-Certificate-Code"]
    assert first == again and db.session.query(Certificate).count() == 1
    serve(city.member, city.c1, 30, title="又一次服务")
    third = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=headers).headers["X-Certificate-Code"]
    assert third != first and db.session.query(Certificate).count() == 2
    assert client.get(f"/api/v1/certificates/{first}").get_json()["total_minutes"] == 135
    assert client.get(f"/api/v1/certificates/{third}").get_json()["total_minutes"] == 165


def test_bad_ranges_and_nothing_to_certify(client, login, city, served):
    headers = login("member")
    resp = client.get(URL + "?from=2026-12-31&to=2026-10-01", headers=headers)
    assert resp.status_code == 422 and "from" in resp.get_json()["error"]["details"]
    resp = client.get(URL + "?from=2026-13-01", headers=headers)
    assert resp.status_code == 422 and "from" in resp.get_json()["error"]["details"]
    resp = client.get(URL + "?from=2025-01-01&to=2025-12-31", headers=headers)
    assert resp.status_code == 409 and error_code(resp) == "NO_SERVICE_RECORDS"
    assert client.get(URL).status_code == 401
    # with no range: this year so far
    assert client.get(URL, headers=headers).status_code == 200


def test_long_record_spans_pages_each_numbered_with_the_certificate(client, login, city, report, serve, tmp_path):
    report(city.member, city.c1, city.u1, name="张伟")
    for i in range(40):
        serve(city.member, city.c1, 30, title=f"关爱空巢老人与楼道清扫志愿活动第{i + 1}次")
    resp = client.get(URL + "?from=2026-10-01&to=2026-12-31", headers=login("member"))
    assert resp.status_code == 200
    path = tmp_path / "long.pdf"
    path.write_bytes(resp.data)
    pages = len(PdfReader(io.BytesIO(resp.data)).pages)
    assert pages >= 2
    cert = db.session.query(Certificate).one()
    for n in range(1, pages + 1):
        text = "".join(subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(path), "-"], capture_output=True,
                                      check=True, text=True).stdout.split())
        assert f"证明编号：{cert.number}" in text and f"第{n}页/共{pages}页" in text, (n, text[-120:])
        assert "序号" in text  # the table's heading is repeated
    last = "".join(_text(resp.data, tmp_path).split())
    assert "共40次" in last and "1200" in last and cert.code in last
