"""Login through wechatpy against the fake platform, tokens, and the error mapping."""
import time_machine
from datetime import datetime, timedelta, timezone


def test_login_creates_user_and_returns_token(client, wechat):
    resp = client.post("/api/v1/auth/login", json={"code": "alice"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token"] and body["expires_at"]
    assert body["user"]["roles"] == [{"role": "resident"}]
    assert "session_key" not in resp.get_data(as_text=True)
    calls = wechat.calls("/sns/jscode2session")
    assert calls and calls[-1]["args"]["js_code"] == "alice"
    again = client.post("/api/v1/auth/login", json={"code": "alice"}).get_json()
    assert again["user"]["id"] == body["user"]["id"]


def test_session_key_kept_server_side(client):
    from backend.auth.models import User
    from backend.extensions import db

    client.post("/api/v1/auth/login", json={"code": "bob"})
    user = db.session.query(User).filter_by(openid="mock-bob").one()
    assert user.session_key


def test_me_requires_token(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "AUTH_REQUIRED"


def test_me_shows_roles(client, city, login):
    me = client.get("/api/v1/me", headers=login("staff1")).get_json()
    assert {"role": "staff", "community_id": city.c1.id} in me["roles"]


def test_malformed_code_is_wechat_code_invalid(client):
    resp = client.post("/api/v1/auth/login", json={"code": "bad code!"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "WECHAT_CODE_INVALID"


def test_used_code_40163(client):
    resp = client.post("/api/v1/auth/login", json={"code": "used-xyz"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "WECHAT_CODE_INVALID"


def test_rate_limited_45011(client, wechat):
    wechat.fail("/sns/jscode2session", 45011)
    resp = client.post("/api/v1/auth/login", json={"code": "carol"})
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "WECHAT_RATE_LIMITED"


def test_code_used_over_100_times_a_minute(client):
    for _ in range(100):
        assert client.post("/api/v1/auth/login", json={"code": "hot"}).status_code == 200
    resp = client.post("/api/v1/auth/login", json={"code": "hot"})
    assert resp.get_json()["error"]["code"] == "WECHAT_RATE_LIMITED"


def test_system_busy_is_unavailable(client, wechat):
    wechat.fail("/sns/jscode2session", -1)
    resp = client.post("/api/v1/auth/login", json={"code": "dave"})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"


def test_network_error_is_unavailable(app, client):
    from backend.wechat import client_for

    wx = client_for(app)
    old = wx.base
    try:
        wx.base = "http://127.0.0.1:9/"
        wx.API_BASE_URL = wx.base + "cgi-bin/"
        wx.wxa.API_BASE_URL = wx.base
        app.extensions["redis"].flushdb()
        resp = client.post("/api/v1/auth/login", json={"code": "erin"})
        assert resp.status_code == 503
        assert resp.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"
    finally:
        wx.base = old
        wx.API_BASE_URL = old + "cgi-bin/"
        wx.wxa.API_BASE_URL = old


def test_login_needs_no_access_token(app, client, wechat):
    """code2Session is authenticated by appid + secret: logins neither fetch nor send an access_token,
    so they keep working while the token endpoint fails."""
    wechat.fail("/cgi-bin/token", -1, -1, -1)
    for code in ("p1", "p2", "p3"):
        assert client.post("/api/v1/auth/login", json={"code": code}).status_code == 200
    calls = wechat.calls("/sns/jscode2session")
    assert len(calls) == 3 and not wechat.calls("/cgi-bin/token")
    assert all("access_token" not in str(c) for c in calls), calls


def test_access_token_shared_through_redis(app, wechat):
    """Three clients, as three processes would build them: the token is fetched once, then read from Redis."""
    from backend.wechat.client import make_client

    tokens = {make_client(app.config, app.extensions["redis"]).access_token for _ in range(3)}
    assert len(tokens) == 1 and len(wechat.calls("/cgi-bin/token")) == 1
    assert any(k.startswith(b"wechatpy:") for k in app.extensions["redis"].keys())


def test_expired_token_is_rejected(client, login):
    headers = login("frank")
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=8)):
        resp = client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["details"]["reason"] == "expired"


def test_tampered_token_is_rejected(client, login):
    headers = login("gina")
    token = headers["Authorization"][7:]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer " + flipped})
    assert resp.status_code == 401


def test_token_from_another_secret_is_rejected(client):
    from backend.auth import tokens

    forged, _ = tokens.issue("not-our-secret", 3600, 1, 0)
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer " + forged}).status_code == 401


def test_access_token_lives_in_redis_for_every_process(app, wechat):
    """Another process with its own client and connection reads the token this one fetched."""
    import subprocess
    import sys

    from backend.wechat import client_for

    token = client_for(app).access_token
    assert len(wechat.calls("/cgi-bin/token")) == 1
    r = app.extensions["redis"]
    key = f"wechatpy:{app.config['WECHAT_APPID']}_access_token".encode()
    assert 0 < r.ttl(key) <= 7200
    code = (
        "import sys, redis; from backend.wechat.client import make_client; "
        "c = make_client({'WECHAT_APPID': sys.argv[1], 'WECHAT_SECRET': 'x', 'WECHAT_API_BASE': sys.argv[2]}, "
        "redis.Redis.from_url(sys.argv[3])); print(c.access_token)"
    )
    out = subprocess.run([sys.executable, "-c", code, app.config["WECHAT_APPID"], wechat.url,
                          app.config["REDIS_URL_RESOLVED"]], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("tests.conftest").conftest.ROOT))
    assert out.stdout.strip() == token, out.stderr
    assert len(wechat.calls("/cgi-bin/token")) == 1  # the other process fetched nothing
    r.delete(key)  # not kept in this process's memory either: gone from Redis means fetched again
    assert client_for(app).access_token and len(wechat.calls("/cgi-bin/token")) == 2


def test_token_naming_another_user_is_rejected(client, login):
    """Swapping the payload for another user's id, the signature kept, is caught."""
    import base64
    import json

    headers = login("henry")
    payload, stamp, sig = headers["Authorization"][7:].split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["uid"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}.{stamp}.{sig}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["details"]["reason"] == "invalid"
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_token_just_before_expiry_is_accepted(client, login):
    headers = login("ivan")
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=7) - timedelta(minutes=1)):
        assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_concurrent_first_logins_make_one_user(client):
    """Another request creates the same person between our look-up and our insert: no 500, one user."""
    from sqlalchemy import event, func, insert, select

    from backend.auth.models import User
    from backend.extensions import db

    fired = []

    def rival(mapper, connection, target):
        if fired:
            return
        fired.append(target.openid)
        with db.engine.connect() as other:  # the other request's transaction, committed first
            other.execute(insert(User).values(openid=target.openid, nickname="先到的请求"))
            other.commit()

    event.listen(User, "before_insert", rival)
    try:
        resp = client.post("/api/v1/auth/login", json={"code": "twin"})
    finally:
        event.remove(User, "before_insert", rival)
    assert fired == ["mock-twin"]
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["user"]["nickname"] == "先到的请求"
    assert db.session.scalar(select(func.count()).select_from(User).where(User.openid == "mock-twin")) == 1
    again = client.post("/api/v1/auth/login", json={"code": "twin"}).get_json()
    assert again["user"]["id"] == resp.get_json()["user"]["id"]
