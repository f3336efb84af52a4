"""The product's local time zone: Beijing (Asia/Shanghai, no daylight saving).

Times are stored and compared in UTC (backend.db.utcnow); they are shown, and calendar days,
months and quarters are cut, in this zone."""
from __future__ import annotations

from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
