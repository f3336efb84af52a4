"""Donations between random wallets, 32 connections: POST /api/v1/transfers vs the transfer ceiling."""
from __future__ import annotations

import random
import uuid

from bench import ceiling, env, product, wallets
from bench.report import Row

WALLETS = 2000
SECONDS = 10


PER_ROUND = 15_000  # distinct requests (fresh idempotency keys) for one round of SECONDS


def _round(server, lines: list[tuple], database: str, connections: int, profile: str | None = None) -> dict:
    """One timed wrk run with the CPU per request of the server's workers and database backends."""
    before, pg_before = env.worker_cpu(server), env.postgres_cpu(database)
    if profile:
        with env.profiled(server, SECONDS - 2, profile):
            res = env.wrk(server.url, env.write_requests(lines), connections=connections, once=False, duration=SECONDS)
    else:
        res = env.wrk(server.url, env.write_requests(lines), connections=connections, once=False, duration=SECONDS)
    res["cpu_ms"] = (env.worker_cpu(server) - before) * 1000 / max(res["requests"], 1)
    res["pg_ms"] = env.cpu_delta(pg_before, env.postgres_cpu(database)) * 1000 / max(res["requests"], 1)
    return res


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
        tokens = {u: product.token(u) for u in ids}
        rounds = [[rnd.sample(range(WALLETS), 2) for _ in range(PER_ROUND)] for _ in range(env.ROUNDS + 1)]
        lines = [[("POST", "/api/v1/transfers", tokens[ids[a]], {"to_user_id": ids[b], "amount": 1, "memo": "压测"},
                   uuid.uuid4().hex[:12]) for a, b in pairs] for pairs in rounds]
        clines = [[("POST", "/transfer", None, {"from": a + 1, "to": b + 1, "amount": 1, "memo": "压测"}, None)
                   for a, b in pairs] for pairs in rounds]
        curl = env.recreate_database(env.CEILING_DB)
        ceiling.setup(curl, accounts=WALLETS, balance=100_000)
        ceils, prods = [], []
        with env.serving("bench.ceiling:app", {"CEILING_DATABASE_URL": curl}) as cserver, \
                env.serving("wsgi:app") as server:
            # warm-up (round 0's requests), then the rounds alternately, so a drift hits both
            env.wrk(cserver.url, env.write_requests(clines[0][:500]), connections=connections, once=False, duration=2)
            env.wrk(server.url, env.write_requests(lines[0][:500]), connections=connections, once=False, duration=2)
            for r in range(1, env.ROUNDS + 1):
                ceils.append(_round(cserver, clines[r], env.CEILING_DB, connections))
                prods.append(_round(server, lines[r], env.DB, connections,
                                    profile if r == env.ROUNDS else None))
            row.rss = server.worker_rss_mb()
        check = wallets.verify()
    prod, ceil = env.median_run(prods), env.median_run(ceils)
    row.product = f"{prod['rps']:.0f} tx/s p99 {prod['p99']:.0f}ms"
    row.ceiling = f"{ceil['rps']:.0f} tx/s p99 {ceil['p99']:.0f}ms"
    row.ratio = env.median_ratio(prods, ceils)
    all201 = all(p["statuses"].get(201, 0) == p["requests"] for p in prods)
    row.ok = row.ratio >= 0.6 and bool(check.get("ok")) and all201
    row.notes.append(env.rounds_note(prods, ceils, "tx/s"))
    row.notes.append(f"CPU per request (medians): gunicorn workers {prod['cpu_ms']:.2f} ms (ceiling "
                     f"{ceil['cpu_ms']:.2f}), PostgreSQL {prod['pg_ms']:.2f} ms (ceiling {ceil['pg_ms']:.2f})")
    row.notes.append(f"product statuses {[dict(p['statuses']) for p in prods]}; "
                     f"ceiling {[dict(c['statuses']) for c in ceils]}; verify {check}")
    return row
