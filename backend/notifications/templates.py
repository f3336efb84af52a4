"""Subscribe-message templates: which template each kind uses and how its fields are filled.

Template ids come from the config or the environment (WECHAT_TEMPLATE_<KIND>), with mock
defaults for the fake platform. Field keys follow WeChat's value types (thing1, time2, ...) and
every value is fitted to its type's limit by truncation, because WeChat rejects the whole
message (47003) when one value is too long.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

from backend.clock import TZ


# WeChat's limits per value type (characters)
LIMITS = {"thing": 20, "name": 10, "phrase": 5, "character_string": 32, "number": 32, "letter": 32,
          "symbol": 5, "phone_number": 17, "car_number": 8, "amount": 11}
ELLIPSIS = "…"
_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_WS = re.compile(r"\s+")

STATUS_WORDS = {"approved": "已通过", "rejected": "未通过", "pending": "待审核", "revoked": "已撤销"}
REMINDER_WORDS = {"stale": "请更新报到信息", "missing": "请尽快报到", "unreported": "请尽快报到"}


def value_type(key: str) -> str:
    """thing12 -> thing, character_string3 -> character_string."""
    m = _KEY.match(key)
    return m.group(1) if m else key


def as_datetime(value) -> datetime | None:
    """A datetime from a datetime, date or ISO 8601 string; None when it is none of these."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=TZ)
    if isinstance(value, str) and value.strip():
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=TZ)
    return None


def _cut(text: str, limit: int, ellipsis: bool) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS if ellipsis else text[:limit]


def fit(key: str, value, fallback_time: datetime | None = None) -> str:
    """One value made acceptable to WeChat for the field `key` (truncated, never rejected)."""
    kind = value_type(key)
    if kind in ("time", "date"):
        dt = as_datetime(value) or fallback_time or datetime.now(timezone.utc)
        local = dt.astimezone(TZ)
        day = f"{local.year}年{local.month}月{local.day}日"
        return day if kind == "date" else f"{day} {local:%H:%M}"
    text = _WS.sub(" ", "" if value is None else str(value)).strip()
    if kind == "character_string":
        text = "".join(c for c in text if c.isascii() and c.isprintable() and c != " ")
    elif kind == "number":
        text = "".join(c for c in text if c.isdigit() or c in ".-")
    elif kind == "letter":
        text = "".join(c for c in text if c.isascii() and c.isalpha())
    elif kind == "phone_number":
        text = "".join(c for c in text if c.isdigit() or c in "+-")
    elif kind in ("name", "phrase"):
        text = text.replace(" ", "")
    limit = LIMITS.get(kind)
    if limit is not None:
        text = _cut(text, limit, ellipsis=kind == "thing")
    return text or ("0" if kind == "number" else "无")


@dataclass(frozen=True)
class Template:
    setting: str  # config / environment name of the template id
    default_id: str  # the fake platform accepts any id
    page: str  # mini-program page opened from the message; {ref_id} is filled in
    fields: dict[str, Callable[[dict], object]] = field(default_factory=dict)


def _status(d: dict) -> str:
    s = str(d.get("status", ""))
    return STATUS_WORDS.get(s, s or "已处理")


def _reminder(d: dict) -> str:
    return d.get("message") or REMINDER_WORDS.get(str(d.get("reason", "")), "请及时完成双报到")


TEMPLATES: dict[str, Template] = {
    "report_decided": Template("WECHAT_TEMPLATE_REPORT_DECIDED", "mock-tpl-report-decided", "pages/me/index", {
        "thing1": lambda d: d.get("community") or d.get("unit") or "双报到",
        "phrase2": _status,
        "thing3": lambda d: d.get("reason") or ("欢迎参与社区服务" if d.get("status") == "approved" else "详情请进入小程序查看"),
        "time4": lambda d: d.get("decided_at"),
    }),
    "task_reminder": Template("WECHAT_TEMPLATE_TASK_REMINDER", "mock-tpl-task-reminder", "pages/task/detail?id={ref_id}", {
        "thing1": lambda d: d.get("title"),
        "time2": lambda d: d.get("starts_at"),
        "thing3": lambda d: d.get("location") or "见活动详情",
        "thing4": lambda d: d.get("note") or "请按时到场扫码签到",
    }),
    "task_cancelled": Template("WECHAT_TEMPLATE_TASK_CANCELLED", "mock-tpl-task-cancelled", "pages/task/detail?id={ref_id}", {
        "thing1": lambda d: d.get("title"),
        "time2": lambda d: d.get("starts_at"),
        "thing3": lambda d: d.get("reason") or "活动已取消",
    }),
    "wish_claimed": Template("WECHAT_TEMPLATE_WISH_CLAIMED", "mock-tpl-wish-claimed", "pages/wish/detail?id={ref_id}", {
        "thing1": lambda d: d.get("title"),
        "name2": lambda d: d.get("claimer") or d.get("claimer_name") or d.get("member") or "党员志愿者",
        "time3": lambda d: d.get("claimed_at"),
        "thing4": lambda d: d.get("note") or "认领人将与您联系",
    }),
    "feedback_ready": Template("WECHAT_TEMPLATE_FEEDBACK_READY", "mock-tpl-feedback-ready", "pages/unit/feedback?period={period}", {
        "thing1": lambda d: d.get("unit") or "本单位",
        "character_string2": lambda d: d.get("period"),
        "thing3": lambda d: d.get("note") or "党员社区表现反馈已生成",
        "time4": lambda d: d.get("at"),
    }),
    "redemption_cancelled": Template("WECHAT_TEMPLATE_REDEMPTION_CANCELLED", "mock-tpl-redemption-cancelled",
                                     "pages/points/rewards", {
        "thing1": lambda d: d.get("reward") or "爱心超市礼品",
        "number2": lambda d: d.get("points"),
        "time3": lambda d: d.get("at"),
        "thing4": lambda d: d.get("note") or "积分已退回，可重新兑换",
    }),
    "report_reminder": Template("WECHAT_TEMPLATE_REPORT_REMINDER", "mock-tpl-report-reminder", "pages/report/index", {
        "thing1": _reminder,
        "thing2": lambda d: d.get("unit") or d.get("community") or "双报到",
        "time3": lambda d: d.get("at"),
    }),
}


def template_id(kind: str, config) -> str:
    """The configured template id for kind (config first, then the environment, then the mock)."""
    t = TEMPLATES[kind]
    return (config.get(t.setting) if config is not None else None) or os.environ.get(t.setting) or t.default_id


def render(kind: str, data: dict, *, ref_id: int | None = None, at: datetime | None = None,
           config=None) -> tuple[str, dict, str]:
    """(template_id, {"thing1": {"value": ...}, ...}, page) for a notification, within WeChat's limits."""
    t = TEMPLATES[kind]
    data = data or {}
    values = {key: {"value": fit(key, getter(data), fallback_time=at)} for key, getter in t.fields.items()}
    page = t.page.format(ref_id="" if ref_id is None else ref_id, period=data.get("period", ""))
    return template_id(kind, config), values, page
