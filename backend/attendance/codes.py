"""Rotating signed check-in codes: pure functions, no Flask, no database.

A code reads `T2s.i1c9x0k.<signature>`: the subject (a type letter, "T" task or "M"
meeting, and its id in base 36), the action (`i` in, `o` out) with the time window number
floor(unix time / ttl) in base 36, and 16 characters of base64url HMAC-SHA256 over the rest,
keyed by the app's secret. Everything is in WeChat's `scene` alphabet and at most 32
characters, so the same string can be a plain QR code or the scene of a 小程序码.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from backend.attendance.errors import CodeExpired, CodeInvalid

MAX_LEN = 32
SIG_LEN = 16  # 96 bits of the HMAC
SCENE_CHARS = frozenset(string.ascii_letters + string.digits + "!#$&'()*+,/:;=?@-._~")
ACTIONS = {"in": "i", "out": "o"}
_ACTION_OF = {v: k for k, v in ACTIONS.items()}
_PATTERN = re.compile(r"([A-Z])([0-9a-z]{1,6})\.([io])([0-9a-z]{1,6})\.([A-Za-z0-9_-]{%d})" % SIG_LEN)
_DOMAIN = b"checkin-code\x00"  # keeps these MACs apart from any other use of SECRET_KEY
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Code:
    """What a code says: subject, action and the window it was issued in."""

    subject_type: str
    subject_id: int
    action: str  # "in" | "out"
    window: int


def window_of(at: datetime, ttl: int) -> int:
    """The window number of an aware datetime."""
    return int((at - _EPOCH).total_seconds() // ttl)


def window_start(window: int, ttl: int) -> datetime:
    return _EPOCH + timedelta(seconds=window * ttl)


def window_end(window: int, ttl: int) -> datetime:
    """The instant the next window begins."""
    return _EPOCH + timedelta(seconds=(window + 1) * ttl)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sign(secret: str, header: str) -> str:
    mac = hmac.new(secret.encode(), _DOMAIN + header.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:SIG_LEN]


def make(secret: str, code: Code) -> str:
    """The signed text of a code; ValueError when it would not fit a WeChat scene."""
    if not (len(code.subject_type) == 1 and code.subject_type in string.ascii_uppercase):
        raise ValueError("subject type must be one upper-case letter")
    if code.action not in ACTIONS or not (0 <= code.subject_id < 36**6 and 0 <= code.window < 36**6):
        raise ValueError("bad action, or id/window beyond six base-36 digits")
    header = f"{code.subject_type}{_b36(code.subject_id)}.{ACTIONS[code.action]}{_b36(code.window)}"
    text = f"{header}.{_sign(secret, header)}"
    if len(text) > MAX_LEN or not set(text) <= SCENE_CHARS:
        raise ValueError("code does not fit a WeChat scene")
    return text


def parse(secret: str, text: str) -> Code:
    """The code a text names, after checking its signature in constant time; CodeInvalid if not."""
    if not isinstance(text, str) or len(text) > MAX_LEN:
        raise CodeInvalid()
    m = _PATTERN.fullmatch(text)
    if m is None:
        raise CodeInvalid()
    kind, sid, action, win, sig = m.groups()
    header = text[: -SIG_LEN - 1]
    if not hmac.compare_digest(_sign(secret, header).encode(), sig.encode()):
        raise CodeInvalid()
    subject_id, window = int(sid, 36), int(win, 36)
    if _b36(subject_id) != sid or _b36(window) != win:  # one spelling per code (no leading zeros)
        raise CodeInvalid()
    return Code(kind, subject_id, _ACTION_OF[action], window)


def check_age(code: Code, at: datetime, ttl: int) -> None:
    """Accept the window of `at` and the one before; older is expired, newer is forged."""
    current = window_of(at, ttl)
    if code.window > current:
        raise CodeInvalid("签到码时间无效")
    if code.window < current - 1:
        raise CodeExpired()


def accepted_until(code: Code, ttl: int) -> datetime:
    """The last instant a code is accepted when scanned online (end of the next window)."""
    return window_end(code.window + 1, ttl)
