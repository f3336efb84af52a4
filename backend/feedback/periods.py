"""Quarterly periods ("2026-Q4"): validation, bounds in UTC and the previous quarter."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from backend.clock import TZ
from backend.errors import ValidationFailed

QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
QUARTER_ERROR = "格式应为 2026-Q4（年份-季度）"


def check_quarter(period: str | None) -> str:
    """The period when it is "YYYY-Qn", else ValidationFailed on `period`."""
    m = QUARTER.match(period or "")
    if not m or not 2000 <= int(m.group(1)) <= 2999:
        raise ValidationFailed(details={"period": [QUARTER_ERROR]})
    return period


def quarter_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a quarter, on the Asia/Shanghai calendar."""
    m = QUARTER.match(check_quarter(period))
    year, q = int(m.group(1)), int(m.group(2))
    start = datetime(year, 3 * q - 2, 1, tzinfo=TZ)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=TZ)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def quarter_of(when: datetime) -> str:
    """The quarter a moment falls in (Asia/Shanghai)."""
    local = when.astimezone(TZ)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def previous_quarter(when: datetime) -> str:
    """The quarter before the one `when` falls in."""
    local = when.astimezone(TZ)
    q = (local.month - 1) // 3 + 1
    return f"{local.year - 1}-Q4" if q == 1 else f"{local.year}-Q{q - 1}"
