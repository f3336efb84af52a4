"""Real processes for the many-machines suite: the fake WeChat platform, gunicorn apps, RQ workers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args} did not listen on {port}")


@contextmanager
def started(cmd: list[str], env: dict, port: int | None = None, log: Path | None = None):
    """Run cmd until the block ends; terminate it (and only it) afterwards."""
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        if port:
            wait_port(port, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log:
            out.close()


def platform(port: int):
    return started([sys.executable, "miniprogram-mock/wechat_platform.py", "--port", str(port)], {}, port)


@contextmanager
def gunicorn(port: int, env: dict, log: Path, timeout: float = 90):
    """A gunicorn app; ready once /healthz answers (workers import the app after the fork)."""
    import requests

    with started([str(BIN / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
                  "wsgi:app"], env, port, log) as proc:
        deadline = time.time() + timeout
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError(f"gunicorn on {port} not ready: {log.read_text()[-1500:]}")
            time.sleep(0.3)
        yield proc


def worker(env: dict, log: Path):
    return started([str(BIN / "flask"), "--app", "wsgi", "worker"], env, None, log)
