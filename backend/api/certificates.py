"""志愿服务记录证明: the caller's certificate as PDF, and its public verification."""
from __future__ import annotations

from urllib.parse import quote

import marshmallow as ma
from flask import current_app, make_response, request
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, public
from backend.feedback import certificate, certificate_pdf

blp = Blueprint("certificates", __name__, url_prefix="/api/v1", description="志愿服务记录证明")


class CertificateArgs(ma.Schema):
    from_ = ma.fields.Date(data_key="from", load_default=None, metadata={"example": "2026-01-01"})
    to = ma.fields.Date(load_default=None, metadata={"example": "2026-12-31"})

    @ma.validates_schema
    def _ordered(self, data, **kw):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ma.ValidationError("开始日期不能晚于结束日期", "from")


class VerificationSchema(ma.Schema):
    valid = ma.fields.Boolean()
    number = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()
    community = ma.fields.String(allow_none=True)
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()
    services = ma.fields.Integer()
    scanned_minutes = ma.fields.Integer()
    manual_minutes = ma.fields.Integer()
    total_minutes = ma.fields.Integer()
    total_hours = ma.fields.Float()
    issued_at = LocalDateTime()


@blp.get("/me/certificate")
@blp.arguments(CertificateArgs, location="query")
@blp.doc(responses={"200": {"description": "application/pdf"}})
def my_certificate(args):
    """The caller's volunteer service record (志愿服务记录证明) for [from, to] as a PDF (default: this year)."""
    cert, rec = certificate.issue_certificate(current_user(), args["from_"], args["to"])
    url = request.host_url.rstrip("/") + f"/api/v1/certificates/{cert.code}"
    pdf = certificate_pdf.render(cert, rec, verify_url=url, config=current_app.config)
    resp = make_response(pdf)
    resp.headers["Content-Type"] = "application/pdf"
    name = quote(f"志愿服务记录证明-{cert.number}.pdf")
    resp.headers["Content-Disposition"] = f"inline; filename=\"{cert.number}.pdf\"; filename*=UTF-8''{name}"
    resp.headers["X-Certificate-Code"] = cert.code
    return resp


@public
@blp.get("/certificates/<string:code>")
@blp.response(200, VerificationSchema)
def verify(code):
    """Check a certificate by its verification code (anyone): who, when and the totals, no phone."""
    record = certificate.verify(code)
    record["from_"] = record.pop("from")
    return record
