"""The fake WeChat platform: a real HTTP server answering like api.weixin.qq.com.

Run on its own with `python miniprogram-mock/wechat_platform.py --port 5001`. It records every
request it receives (GET /__mock__/calls) so tests can assert on what the backend sent, and
failures can be programmed (POST /__mock__/fail) to exercise the backend's error paths.
"""
from __future__ import annotations

import argparse
import io
import re
import secrets
import threading
import time
from collections import defaultdict, deque

from flask import Flask, jsonify, request

CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
CODE_LIMIT_PER_MIN = 100
# getPhoneNumber codes: "phone-13800138000" (a mainland number) or "phone-852-91234567" (country code, number)
PHONE_CODE_RE = re.compile(r"^phone-(?:(1[3-9][0-9]{9})|([0-9]{1,3})-([0-9]{4,15}))$")


def create_platform() -> Flask:
    app = Flask("wechat_platform")
    state = {
        "calls": [],
        "tokens": {},  # access_token -> expiry
        "code_uses": defaultdict(deque),
        "fail": defaultdict(list),  # path -> queued errcodes to answer with
        "lock": threading.Lock(),
    }
    app.config["STATE"] = state

    def record(path: str, body=None) -> None:
        with state["lock"]:
            state["calls"].append(
                {"path": path, "args": request.args.to_dict(), "body": body, "at": time.time()}
            )

    def programmed_failure(path: str):
        with state["lock"]:
            queue = state["fail"].get(path)
            if queue:
                return queue.pop(0)
        return None

    def token_ok() -> bool:
        tok = request.args.get("access_token", "")
        exp = state["tokens"].get(tok)
        return exp is not None and exp > time.time()

    def err(code: int, msg: str):
        return jsonify({"errcode": code, "errmsg": msg})

    @app.get("/sns/jscode2session")
    def jscode2session():
        record("/sns/jscode2session")
        code = request.args.get("js_code", "")
        failure = programmed_failure("/sns/jscode2session")
        if failure is not None:
            return err(failure, "programmed failure")
        if not code or not CODE_RE.match(code):
            return err(40029, "invalid code")
        if code.startswith("used-"):
            return err(40163, "code been used")
        now = time.time()
        with state["lock"]:
            uses = state["code_uses"][code]
            while uses and uses[0] < now - 60:
                uses.popleft()
            uses.append(now)
            if len(uses) > CODE_LIMIT_PER_MIN:
                return err(45011, "api minute-quota reach limit")
        return jsonify({"openid": f"mock-{code}", "session_key": secrets.token_urlsafe(16)})

    def issue_token():
        failure = programmed_failure(request.path)
        if failure is not None:
            return err(failure, "programmed failure")
        tok = secrets.token_urlsafe(24)
        with state["lock"]:
            state["tokens"][tok] = time.time() + 7200
        return jsonify({"access_token": tok, "expires_in": 7200})

    @app.get("/cgi-bin/token")
    def token():
        record("/cgi-bin/token")
        return issue_token()

    @app.post("/cgi-bin/stable_token")
    def stable_token():
        record("/cgi-bin/stable_token", request.get_json(silent=True))
        return issue_token()

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send():
        body = request.get_json(silent=True, force=True)
        record("/cgi-bin/message/subscribe/send", body)
        if not token_ok():
            return err(40001, "invalid credential, access_token is invalid or not latest")
        failure = programmed_failure("/cgi-bin/message/subscribe/send")
        if failure is not None:
            return err(failure, "programmed failure")
        for key, item in (body or {}).get("data", {}).items():
            value = str(item.get("value", ""))
            if key.startswith("thing") and len(value) > 20:
                return err(47003, f"argument invalid! data.{key}.value")
        return err(0, "ok")

    @app.post("/wxa/business/getuserphonenumber")
    def phone_number():
        """getPhoneNumber: the code "phone-<11 digits>" stands for that number; "used-..." was
        used already; anything else is invalid."""
        body = request.get_json(silent=True, force=True) or {}
        record("/wxa/business/getuserphonenumber", body)
        if not token_ok():
            return err(40001, "invalid credential, access_token is invalid or not latest")
        failure = programmed_failure("/wxa/business/getuserphonenumber")
        if failure is not None:
            return err(failure, "programmed failure")
        code = str(body.get("code", ""))
        if code.startswith("used-"):
            return err(40163, "code been used")
        m = PHONE_CODE_RE.match(code)
        if not m:
            return err(40029, "invalid code")
        country, number = ("86", m.group(1)) if m.group(1) else (m.group(2), m.group(3))
        return jsonify({"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": number if country == "86" else f"+{country}{number}", "purePhoneNumber": number,
            "countryCode": country, "watermark": {"timestamp": int(time.time()), "appid": request.args.get("appid", "")}}})

    @app.post("/wxa/getwxacodeunlimit")
    def wxacode():
        body = request.get_json(silent=True, force=True) or {}
        record("/wxa/getwxacodeunlimit", body)
        if not token_ok():
            return err(40001, "invalid credential")
        scene = str(body.get("scene", ""))
        if not scene or len(scene) > 32:
            return err(40169, "invalid length for scene")
        import qrcode

        buf = io.BytesIO()
        qrcode.make(scene).save(buf, format="PNG")
        return app.response_class(buf.getvalue(), mimetype="image/png")

    @app.get("/__mock__/calls")
    def calls():
        path = request.args.get("path")
        with state["lock"]:
            items = [c for c in state["calls"] if not path or c["path"] == path]
        return jsonify(items)

    @app.post("/__mock__/reset")
    def reset():
        with state["lock"]:
            state["calls"].clear()
            state["fail"].clear()
            state["code_uses"].clear()
        return jsonify({"ok": True})

    @app.post("/__mock__/fail")
    def fail():
        """Queue errcodes for a path: {"path": "/cgi-bin/message/subscribe/send", "errcodes": [-1, -1]}."""
        body = request.get_json(force=True)
        with state["lock"]:
            state["fail"][body["path"]].extend(int(c) for c in body["errcodes"])
        return jsonify({"ok": True})

    @app.post("/__mock__/expire-tokens")
    def expire_tokens():
        with state["lock"]:
            state["tokens"].clear()
        return jsonify({"ok": True})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fake WeChat platform")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args()
    create_platform().run(host=args.host, port=args.port, threaded=True)
