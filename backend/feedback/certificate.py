"""志愿服务记录证明: a person's confirmed services in a date range, issued once per record.

The same record (same person, range and services) gives back the same certificate, so
downloading it twice does not mint two numbers; GET /api/v1/certificates/{code} confirms it."""
from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from backend.auth.models import User
from backend.auth.services import lock_person
from backend.clock import TZ
from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed, error
from backend.extensions import db
from backend.feedback import figures
from backend.feedback.models import Certificate
from backend.orgs.models import Community
from backend.reports.models import APPROVED, MemberReport
from backend.reports.roster import mask_phone

NoServiceRecords = error(409, "NO_SERVICE_RECORDS", "该时间段内没有已确认的志愿服务记录")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
CODE_LENGTH = 12
MAX_DAYS = 366 * 10


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time(0), tzinfo=TZ).astimezone(timezone.utc)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=TZ).astimezone(timezone.utc)
    return start, end


def _person(user: User) -> tuple[str, str | None, MemberReport | None]:
    """(name, phone, approved report): the report's name first, it is the checked one."""
    report = db.session.scalar(select(MemberReport).where(
        MemberReport.user_id == user.id, MemberReport.status == APPROVED))
    latest = report or db.session.scalar(select(MemberReport).where(
        MemberReport.user_id == user.id).order_by(MemberReport.id.desc()).limit(1))
    name = (latest.name if latest else None) or user.name or user.nickname or "志愿者"
    phone = (latest.phone if latest else None) or user.phone
    return name, phone, report


def record_of(user: User, date_from: date | None, date_to: date | None) -> dict:
    """The person's confirmed services in [date_from, date_to] (local dates) and their totals."""
    today = utcnow().astimezone(TZ).date()
    date_to = date_to or today
    date_from = date_from or date(date_to.year, 1, 1)
    if date_from > date_to:
        raise ValidationFailed(details={"from": ["开始日期不能晚于结束日期"]})
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed(details={"from": ["时间跨度不能超过十年"]})
    start, end = _bounds(date_from, date_to)
    services = [{"date": when.astimezone(TZ).date(), "community": community, "task": title,
                 "minutes": int(minutes), "source": source, "community_id": cid}
                for _, when, community, title, minutes, source, cid in figures.service_rows([user.id], start, end)]
    name, phone, report = _person(user)
    scanned = sum(s["minutes"] for s in services if s["source"] != "manual")
    manual = sum(s["minutes"] for s in services if s["source"] == "manual")
    if report is not None:
        community = db.session.get(Community, report.community_id)
    else:
        top = Counter(s["community_id"] for s in services).most_common(1)
        community = db.session.get(Community, top[0][0]) if top else None
    return {"name": name, "phone": mask_phone(phone), "community": community, "from": date_from, "to": date_to,
            "services": services, "scanned_minutes": scanned, "manual_minutes": manual,
            "total_minutes": scanned + manual}


def _digest(user_id: int, rec: dict) -> str:
    payload = {"user": user_id, "from": rec["from"].isoformat(), "to": rec["to"].isoformat(),
               "services": [[s["date"].isoformat(), s["community"], s["task"], s["minutes"], s["source"]]
                            for s in rec["services"]]}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def issue_certificate(user: User, date_from: date | None = None, date_to: date | None = None) -> tuple[Certificate, dict]:
    """(certificate row, record) for the person's services in the range; the same record reuses
    its certificate. NO_SERVICE_RECORDS when there is nothing to certify."""
    rec = record_of(user, date_from, date_to)
    if not rec["services"]:
        raise NoServiceRecords()
    # one issuer per person at a time: two downloads at once must not both miss and mint two numbers
    lock_person(user.id)
    digest = _digest(user.id, rec)
    community_id = rec["community"].id if rec["community"] else None
    # reused only while it still says what this PDF prints: its check page shows name and community
    cert = db.session.scalar(select(Certificate).where(
        Certificate.user_id == user.id, Certificate.digest == digest, Certificate.name == rec["name"],
        Certificate.community_id.is_(None) if community_id is None else Certificate.community_id == community_id))
    if cert is None:
        code = _new_code()
        cert = Certificate(number=code, code=code, user_id=user.id, name=rec["name"], community_id=community_id,
                           date_from=rec["from"], date_to=rec["to"], services=len(rec["services"]),
                           scanned_minutes=rec["scanned_minutes"], manual_minutes=rec["manual_minutes"],
                           total_minutes=rec["total_minutes"], digest=digest, issued_at=utcnow())
        db.session.add(cert)
        db.session.flush()
        cert.number = f"ZYFW-{cert.issued_at.astimezone(TZ):%Y}-{cert.id:06d}"
        db.session.flush()
    return cert, rec


def verify(code: str) -> dict:
    """What anyone may check about a certificate: who, when, totals; never a phone number."""
    cert = db.session.scalar(select(Certificate).where(Certificate.code == (code or "").strip().upper()))
    if cert is None:
        raise NotFound("证明不存在或验证码有误")
    community = db.session.get(Community, cert.community_id) if cert.community_id else None
    return {"valid": True, "number": cert.number, "code": cert.code, "name": cert.name,
            "community": community.name if community else None, "from": cert.date_from, "to": cert.date_to,
            "services": cert.services, "scanned_minutes": cert.scanned_minutes,
            "manual_minutes": cert.manual_minutes, "total_minutes": cert.total_minutes,
            "total_hours": round(cert.total_minutes / 60, 1), "issued_at": cert.issued_at}
