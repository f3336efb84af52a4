"""Donations between random wallets, 32 connections: POST /api/v1/transfers vs the transfer ceiling."""
from __future__ import annotations

import random
import uuid

from bench import ceiling, env, product, wallets
from bench.report import Row

WALLETS = 2000
SECONDS = 10


def run(profile: str | None = None, connections: int = 32) -> Row:
    row = Row(f"donations, random wallets ({connections} conns, {SECONDS}s)", target="≥0.6x, verify ok")
    if not product.has_route("post", "/api/v1/transfers"):
        row.notes.append("POST /api/v1/transfers has not landed")
        return row
    rnd = random.Random(8)
    app = product.app()
    with app.app_context():
        _, cs, _ = product.city()
        ids = wallets.funded(WALLETS, 100_000, cs[0].id)
        pairs = [rnd.sample(range(WALLETS), 2) for _ in range(20_000)]
        lines = [("POST", "/api/v1/transfers", product.token(ids[a]), {"to_user_id": ids[b], "amount": 1, "memo": "压测"},
                  uuid.uuid4().hex[:12]) for a, b in pairs]
        curl = env.recreate_database(env.CEILING_DB)
        ceiling.setup(curl, accounts=WALLETS, balance=100_000)
        clines = [("POST", "/transfer", None, {"from": a + 1, "to": b + 1, "amount": 1, "memo": "压测"}, None)
                  for a, b in pairs]
        with env.serving("bench.ceiling:app", {"CEILING_DATABASE_URL": curl}) as server:
            env.wrk(server.url, env.write_requests(clines[:500]), connections=connections, once=False, duration=2)
            before, pg_before = env.worker_cpu(server), env.postgres_cpu(env.CEILING_DB)
            ceil = env.wrk(server.url, env.write_requests(clines), connections=connections, once=False, duration=SECONDS)
            ceil["cpu_ms"] = (env.worker_cpu(server) - before) * 1000 / max(ceil["requests"], 1)
            ceil["pg_ms"] = env.cpu_delta(pg_before, env.postgres_cpu(env.CEILING_DB)) * 1000 / max(ceil["requests"], 1)
        with env.serving("wsgi:app") as server:
            env.wrk(server.url, env.write_requests(lines[:500]), connections=connections, once=False, duration=2)
            before, pg_before = env.worker_cpu(server), env.postgres_cpu(env.DB)
            if profile:
                with env.profiled(server, SECONDS - 2, profile):
                    prod = env.wrk(server.url, env.write_requests(lines), connections=connections, once=False,
                                   duration=SECONDS)
            else:
                prod = env.wrk(server.url, env.write_requests(lines), connections=connections, once=False,
                               duration=SECONDS)
            prod["cpu_ms"] = (env.worker_cpu(server) - before) * 1000 / max(prod["requests"], 1)
            prod["pg_ms"] = env.cpu_delta(pg_before, env.postgres_cpu(env.DB)) * 1000 / max(prod["requests"], 1)
            row.rss = server.worker_rss_mb()
        check = wallets.verify()
    row.product = f"{prod['rps']:.0f} tx/s p99 {prod['p99']:.0f}ms"
    row.ceiling = f"{ceil['rps']:.0f} tx/s p99 {ceil['p99']:.0f}ms"
    row.ratio = prod["rps"] / ceil["rps"]
    ok201 = prod["statuses"].get(201, 0)
    row.ok = row.ratio >= 0.6 and bool(check.get("ok")) and ok201 == prod["requests"]
    row.notes.append(f"CPU per request: gunicorn workers {prod['cpu_ms']:.2f} ms (ceiling {ceil['cpu_ms']:.2f}), "
                     f"PostgreSQL {prod['pg_ms']:.2f} ms (ceiling {ceil['pg_ms']:.2f})")
    row.notes.append(f"product statuses {dict(prod['statuses'])}; ceiling {dict(ceil['statuses'])}; "
                     f"verify {check}")
    return row
