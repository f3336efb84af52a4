"""Configuration: production refuses to start without its secrets; the CLI works."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "APP_ENV")}
    base.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("given,missing", [
    ({}, ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"]),
    ({"SECRET_KEY": "s3cret-long-value"}, ["DATABASE_URL", "REDIS_URL"]),
    ({"SECRET_KEY": "x" * 32, "DATABASE_URL": "postgresql://u@h/db"}, ["REDIS_URL"]),
])
def test_production_refuses_without_settings(given, missing):
    proc = _run("import wsgi", APP_ENV="production", **given)
    assert proc.returncode != 0
    line = [l for l in proc.stderr.splitlines() if "refuses to start" in l][-1]
    for name in missing:
        assert name in line
    for name in set(["SECRET_KEY", "DATABASE_URL", "REDIS_URL"]) - set(missing):
        assert name not in line


def test_production_config_complete_passes_check():
    proc = _run(
        "from backend.config import Config; print(Config.problems())",
        APP_ENV="production", SECRET_KEY="x" * 32, DATABASE_URL="postgresql://u@h/db", REDIS_URL="redis://h:6379/0",
    )
    assert proc.stdout.strip() == "[]", proc.stderr


def test_postgres_url_uses_psycopg3():
    from backend.config import _db_url

    assert _db_url("postgresql://postgres@127.0.0.1/test") == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert _db_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"


def test_grant_role_cli(app, city):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["grant-role", "mock-resident", "staff", "--community", str(city.c2.id)])
    assert result.exit_code == 0, result.output
    from backend.auth import policy
    from backend.auth.models import User
    from backend.extensions import db

    user = db.session.get(User, city.resident.id)
    db.session.refresh(user)
    assert policy.has_role(user, "staff", community_id=city.c2.id)
    bad = runner.invoke(args=["grant-role", "mock-nobody", "staff", "--community", "1"])
    assert bad.exit_code != 0


PROD = {"APP_ENV": "production", "SECRET_KEY": "x" * 32, "DATABASE_URL": "postgresql://u@h/db",
        "REDIS_URL": "redis://h:6379/0"}
CHECK = "from backend.config import Config; print(Config.WECHAT_API_BASE, Config.problems())"


def test_no_appid_talks_to_the_fake_platform():
    proc = _run(CHECK, WECHAT_APPID="", WECHAT_SECRET="", WECHAT_API_BASE="")
    assert proc.stdout.split()[0] == "http://127.0.0.1:5001/", proc.stderr


@pytest.mark.parametrize("given,missing", [
    ({"WECHAT_API_BASE": "https://api.weixin.qq.com/"}, ["WECHAT_APPID", "WECHAT_SECRET"]),
    ({"WECHAT_APPID": "wx0123456789abcdef"}, ["WECHAT_SECRET"]),  # a real AppID means real WeChat
    ({"WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "s" * 32}, []),
    ({"WECHAT_API_BASE": "http://127.0.0.1:9/"}, []),  # a stand-in platform needs no AppSecret
])
def test_production_with_real_wechat_needs_appid_and_secret(given, missing):
    env = {"WECHAT_APPID": "", "WECHAT_SECRET": "", "WECHAT_API_BASE": "", **PROD, **given}
    proc = _run(CHECK, **env)
    assert proc.returncode == 0, proc.stderr
    base, problems = proc.stdout.split(" ", 1)
    assert ast.literal_eval(problems) == missing
    if "WECHAT_APPID" in given:
        assert base == "https://api.weixin.qq.com/"
    if missing:
        refused = _run("import wsgi", **env)
        assert refused.returncode != 0 and all(m in refused.stderr for m in missing)


def test_a_setting_that_is_not_a_number_is_named():
    proc = _run("import wsgi", TOKEN_TTL="7d")
    assert proc.returncode != 0
    assert "TOKEN_TTL must be an integer, not '7d'" in proc.stderr.splitlines()[-1]
