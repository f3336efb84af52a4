"""The product side: its schema on the bench database and bulk data made directly in SQL.

Users and tokens are made without the API (tokens minted with backend.auth.tokens.issue), so
that a workload measures only what it names.
"""
from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone

from bench import env

_app = None


def app():
    """The product app in this process (production config from bench.env), schema created."""
    global _app
    if _app is None:
        from backend import create_app

        env.recreate_database(env.DB)
        _app = create_app()
        with _app.app_context():
            from backend.schema import create_all

            create_all()
        _app.extensions["redis"].flushdb()
    return _app


def fresh_app():
    """The product app on an empty database: for workloads that lay out ids themselves, so
    earlier workloads' rows in the shared bench database must go."""
    from backend.extensions import db
    from backend.schema import create_all

    a = app()
    with a.app_context():
        db.session.remove()
        db.engine.dispose()
        env.recreate_database(env.DB)
        create_all()
    a.extensions["redis"].flushdb()
    return a


def has(module: str, *names: str) -> bool:
    """True when backend module `module` exists and defines every name (the endpoint landed)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return all(hasattr(mod, n) for n in names)


def has_route(method: str, path: str) -> bool:
    """True when the product serves `method path` (an OpenAPI-style path)."""
    spec = app().extensions["smorest_api"].spec.to_dict()
    return method.lower() in spec.get("paths", {}).get(path, {})


def city():
    """One street, two communities and a unit (created once per process)."""
    from backend.extensions import db
    from backend.orgs import services as orgs
    from backend.orgs.models import Street
    from sqlalchemy import select

    s = db.session.scalar(select(Street).where(Street.name == "压测街道"))
    if s is None:
        s = orgs.get_or_create_street("压测街道", "压测区")
        orgs.create_community("压测一社区", street_id=s.id)
        orgs.create_community("压测二社区", street_id=s.id)
        orgs.create_unit("压测单位", "企业", street_id=s.id)
        db.session.commit()
    from backend.orgs.models import Community, Unit

    cs = list(db.session.scalars(select(Community).where(Community.street_id == s.id).order_by(Community.id)))
    u = db.session.scalar(select(Unit).where(Unit.name == "压测单位"))
    return s, cs, u


def users(n: int, prefix: str, *, role: str | None = "member", community_id: int | None = None) -> list[int]:
    """n users made in one INSERT (openid <prefix>-<i>), optionally with a scoped role."""
    from sqlalchemy import text

    from backend.extensions import db

    now = datetime.now(timezone.utc)
    rows = db.session.execute(text(
        "INSERT INTO users (openid, nickname, name, phone, token_version, created_at) "
        "SELECT :p || '-' || g, '压测' || g, '压测用户' || g, '138' || lpad(g::text, 8, '0'), 0, :now "
        "FROM generate_series(1, :n) g RETURNING id"), {"p": prefix, "n": n, "now": now}).scalars().all()
    if role:
        db.session.execute(text(
            "INSERT INTO role_grants (user_id, role, community_id, created_at) "
            "SELECT id, :role, :cid, :now FROM users WHERE openid LIKE :p || '-%'"),
            {"role": role, "cid": community_id, "now": now, "p": prefix})
    db.session.commit()
    return sorted(rows)


def staff(community_id: int, code: str = "bench-staff") -> int:
    return users(1, code, role="staff", community_id=community_id)[0]


def token(user_id: int) -> str:
    from backend.auth import tokens

    a = app()
    return tokens.issue(a.config["SECRET_KEY"], a.config["TOKEN_TTL"], user_id, 0)[0]


def aware(minutes: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)
