"""Configuration: production refuses to start without its secrets; the CLI works."""
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
