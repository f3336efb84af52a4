"""What the partywork services share: errors, masking, periods, membership and the award call.

Points for 荣誉 (manually logged, staff-confirmed) minutes, the rule used by duty logs and visits:
  points = minutes × HONOR_POINTS_PER_HOUR // 60 (whole points, rounded down);
  a duty post's points_per_month caps what one holder earns from that post per calendar month
  (Asia/Shanghai, by the log's date); a post without points_per_month earns no points.
Minutes count either way (service minutes), kept apart from scanned ones.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from backend.auth.models import RoleGrant
from backend.clock import TZ
from backend.errors import ValidationFailed, error
from backend.extensions import db

HONOR_POINTS_PER_HOUR = 10
MAX_MINUTES = 24 * 60

LinkLimit = error(409, "LINK_LIMIT", "该党员联系的家庭已达上限")
NotHolder = error(403, "FORBIDDEN", "您未担任该岗位")
NotLinked = error(403, "FORBIDDEN", "您未联系该家庭")
PostFull = error(409, "POST_FULL", "该岗位已满员")
AlreadyHolding = error(409, "ALREADY_APPLIED", "您已申请或担任该岗位")
AlreadyPledged = error(409, "ALREADY_PLEDGED", "该单位已认领此需求")
MeetingClosed = error(409, "MEETING_CLOSED", "当前不在会议签到时间内")
NotInvited = error(409, "NOT_INVITED", "您不在本次会议的参会名单中")


def honor_points(minutes: int) -> int:
    """Points for confirmed 荣誉 minutes before any cap."""
    return minutes * HONOR_POINTS_PER_HOUR // 60


def check_minutes(minutes: int, field: str = "minutes") -> None:
    """1..1440 minutes (a day at most); services are callable without the API schema."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not (1 <= minutes <= MAX_MINUTES):
        raise ValidationFailed(details={field: [f"时长应在 1 到 {MAX_MINUTES} 分钟之间"]})


def award(community_id: int, entries: list[dict], actor_id: int | None) -> tuple[dict[int, int], int]:
    """Post points through the time bank, once per (ref_type, ref_id); zero amounts are skipped.

    Returns ({ref_id: points earned} for every entry, points posted now): the community's daily
    cap (or a closed wallet) may post less than asked, and a log or visit must say what it earned."""
    earned = {e["ref_id"]: 0 for e in entries}
    entries = [e for e in entries if e["amount"] > 0]
    if not entries:
        return earned, 0
    from backend.timebank.earn import post_earnings

    new, earlier = post_earnings(db.session, community_id=community_id, entries=entries, actor_id=actor_id)
    earned.update((ref_id, points) for (_, ref_id), points in {**earlier, **new}.items())
    return earned, sum(new.values())


def mask_phone(phone: str | None) -> str | None:
    """138****5678; short numbers keep only their last two digits."""
    if not phone:
        return phone
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(0, len(phone) - 2) + phone[-2:]


def mask_address(address: str | None) -> str | None:
    """The first part of an address (at most 6 characters, never the whole) then ****."""
    if not address:
        return address
    keep = min(6, len(address) // 2)
    return address[:keep] + "****"


def member_ids(community_id: int) -> list[int]:
    """Users holding the live `member` role of the community (approved 双报到)."""
    return list(db.session.scalars(select(RoleGrant.user_id).where(
        RoleGrant.role == "member", RoleGrant.community_id == community_id,
        RoleGrant.revoked_at.is_(None)).distinct()))


def is_member(user_id: int, community_id: int) -> bool:
    return db.session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == user_id, RoleGrant.role == "member", RoleGrant.community_id == community_id,
        RoleGrant.revoked_at.is_(None)).limit(1)) is not None


def local_date(at: datetime) -> date:
    return at.astimezone(TZ).date()


def day_start(d: date) -> datetime:
    """00:00 Asia/Shanghai of a date, as aware UTC."""
    return datetime.combine(d, time(0), TZ).astimezone(timezone.utc)


def month_bounds(d: date) -> tuple[date, date]:
    """The first day of d's month and of the next."""
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def parse_period(period: str, field: str = "period") -> tuple[datetime, datetime]:
    """'2026-11' | '2026-Q4' | '2026' → [start, end) as aware UTC (Asia/Shanghai calendar)."""
    m = _PERIOD.match(period or "")
    if not m or not 2000 <= int(m.group(1)) <= 2999:  # year 0 or 9999's end cannot be a date
        raise ValidationFailed(details={field: ["期间格式应为 2026-11、2026-Q4 或 2026"]})
    year, month, quarter = int(m.group(1)), m.group(2), m.group(3)
    if month:
        start_m, n = int(month), 1
    elif quarter:
        start_m, n = (int(quarter) - 1) * 3 + 1, 3
    else:
        start_m, n = 1, 12
    end_index = year * 12 + start_m - 1 + n
    start = date(year, start_m, 1)
    end = date(end_index // 12, end_index % 12 + 1, 1)
    return day_start(start), day_start(end)


def check_coords(lat, lng, field: str = "location") -> None:
    """Both or neither, inside China's bounding box."""
    if (lat is None) != (lng is None):
        raise ValidationFailed(details={field: ["经纬度需同时填写"]})
    if lat is not None and not (3.8 <= lat <= 53.6 and 73.5 <= lng <= 135.1):
        raise ValidationFailed(details={field: ["坐标不在中国境内"]})
