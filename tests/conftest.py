"""Shared fixtures: the app on TEST_DATABASE_URL/TEST_REDIS_URL (or the embedded defaults),
the fake WeChat platform as a real HTTP server, a client, and factories."""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import text
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend import create_app  # noqa: E402
from backend.config import TestConfig  # noqa: E402
from backend.extensions import db  # noqa: E402

from tests.helpers import ON_PG  # noqa: E402


def _load_platform():
    spec = importlib.util.spec_from_file_location("wechat_platform", ROOT / "miniprogram-mock" / "wechat_platform.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ServerThread(threading.Thread):
    """A WSGI app served for real on 127.0.0.1 in a background thread."""

    def __init__(self, wsgi_app):
        super().__init__(daemon=True)
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def wechat():
    """The fake WeChat platform, running; `wechat.calls(path)` lists what it received."""
    platform = _load_platform().create_platform()
    server = ServerThread(platform)
    server.start()

    class Handle:
        url = server.url

        def calls(self, path=None):
            return requests.get(self.url + "__mock__/calls", params={"path": path} if path else None).json()

        def fail(self, path, *errcodes):
            requests.post(self.url + "__mock__/fail", json={"path": path, "errcodes": list(errcodes)})

        def reset(self):
            requests.post(self.url + "__mock__/reset")

    yield Handle()
    server.stop()


@pytest.fixture(scope="session")
def app(wechat, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")

    class Config(TestConfig):
        WECHAT_API_BASE = wechat.url
        FILES_DIR = str(tmp / "files")
        EMBEDDED_REDIS_PATH = str(Path(tempfile.mkdtemp(prefix="rl")) / "redis.db")

    if not ON_PG:
        Config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp / 'test.db'}"
    app = create_app(Config)
    with app.app_context():
        if ON_PG:
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        from backend.schema import create_all

        create_all()
    yield app


def _truncate():
    names = [t.name for t in db.metadata.sorted_tables]
    if ON_PG:
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    else:
        # append-only triggers would refuse the clean-up: lift them for the DELETEs only
        triggers = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _ in triggers:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        for n in reversed(names):
            db.session.execute(text(f'DELETE FROM "{n}"'))
        for _, sql in triggers:
            db.session.execute(text(sql))
        db.session.execute(text("DELETE FROM sqlite_sequence")) if db.session.execute(
            text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean(request, app, wechat):
    """Every test starts on empty tables, an empty Redis db, the outbox's Redis circuit breaker
    closed (process state) and a fresh fake platform; the breaker is closed again after it."""
    from backend.jobs import reset_breaker

    with app.app_context():
        _truncate()
        app.extensions["redis"].flushdb()
    wechat.reset()
    reset_breaker()
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.remove()
    ctx.pop()
    reset_breaker()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """login("demo-staff") -> headers with that person's bearer token."""

    def _login(code: str) -> dict:
        resp = client.post("/api/v1/auth/login", json={"code": code})
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": "Bearer " + resp.get_json()["token"]}

    return _login


@pytest.fixture
def city():
    """A small city: 2 streets' worth of communities and units, plus people with roles.

    Returns a namespace with street, other_street, c1, c2 (street), c3 (other street),
    u1, u2, and user objects admin, streetadm, staff1, staff2, unit1, member, resident."""
    from types import SimpleNamespace

    from backend.auth.services import grant_role
    from backend.orgs import services as orgs
    from backend.seed import user_for

    s = orgs.get_or_create_street("测试街道", "测试区")
    s2 = orgs.get_or_create_street("别的街道", "测试区")
    c1 = orgs.create_community("一社区", street_id=s.id)
    c2 = orgs.create_community("二社区", street_id=s.id)
    c3 = orgs.create_community("三社区", street_id=s2.id)
    g1 = orgs.create_grid(c1.id, "一网格")
    u1 = orgs.create_unit("一单位", "企业", street_id=s.id)
    u2 = orgs.create_unit("二单位", "机关", street_id=s2.id)
    people = {}
    for code in ("admin", "streetadm", "staff1", "staff2", "staff3", "unit1", "unit2", "member", "member2", "resident"):
        people[code] = user_for(code, name=code)
    grant_role(None, people["admin"].id, "admin")
    grant_role(None, people["streetadm"].id, "street_admin", street_id=s.id)
    grant_role(None, people["staff1"].id, "staff", community_id=c1.id)
    grant_role(None, people["staff2"].id, "staff", community_id=c2.id)
    grant_role(None, people["staff3"].id, "staff", community_id=c3.id)
    grant_role(None, people["unit1"].id, "unit_admin", unit_id=u1.id)
    grant_role(None, people["unit2"].id, "unit_admin", unit_id=u2.id)
    grant_role(None, people["member"].id, "member", community_id=c1.id)
    grant_role(None, people["member2"].id, "member", community_id=c1.id)
    db.session.commit()
    return SimpleNamespace(street=s, other_street=s2, c1=c1, c2=c2, c3=c3, g1=g1, u1=u1, u2=u2, **people)
