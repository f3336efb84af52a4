"""Check-in burst: N members of one task scan in at once (32 connections), product vs one INSERT."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import requests
from sqlalchemy import text

from bench import ceiling, env, product
from bench.report import Row


def _task(community_id: int, n: int, staff_id: int) -> tuple[int, list[int]]:
    """A task running now with n claiming members (made in SQL)."""
    from backend.extensions import db
    from backend.tasks.models import Task

    members = product.users(n, f"bench-ci-{datetime.now().timestamp()}", community_id=community_id)
    task = Task(community_id=community_id, title="压测签到", starts_at=product.aware(-5), ends_at=product.aware(180),
                capacity=n, claimed_count=n, points_per_hour=10, created_by_id=staff_id, lat=30.5, lng=114.3,
                location_name="压测广场")
    db.session.add(task)
    db.session.flush()
    db.session.execute(text("INSERT INTO task_claims (task_id, user_id, status, created_at) "
                            "SELECT :t, u, 'active', :now FROM unnest(CAST(:ids AS int[])) u"),
                       {"t": task.id, "ids": members, "now": datetime.now(timezone.utc)})
    db.session.commit()
    return task.id, members


def _code(server, staff_token: str, task_id: int) -> str:
    r = requests.get(f"{server.url}/api/v1/tasks/{task_id}/checkin-code", params={"action": "in"},
                     headers={"Authorization": "Bearer " + staff_token}, timeout=10)
    r.raise_for_status()
    return r.json()["code"]


def _timed_wrk(server, request_file: str, n: int, connections: int, database: str) -> dict:
    """wrk over the request file, with the workers' CPU per request (ms): the figure that
    stays comparable when other processes share the cores."""
    before, pg_before = env.worker_cpu(server), env.postgres_cpu(database)
    res = env.wrk(server.url, request_file, connections=connections)
    res["cpu_ms"] = (env.worker_cpu(server) - before) * 1000 / n
    res["pg_ms"] = env.cpu_delta(pg_before, env.postgres_cpu(database)) * 1000 / n
    return res


def _product_burst(server, cid, staff_id, staff_token, n, connections):
    task_id, members = _task(cid, n, staff_id)
    code = _code(server, staff_token, task_id)
    lines = [("POST", "/api/v1/checkins", product.token(u), {"code": code, "lat": 30.5, "lng": 114.3}, None)
             for u in members]
    res = _timed_wrk(server, env.write_requests(lines), n, connections, env.DB)
    from backend.extensions import db

    res["rows"] = db.session.execute(text("SELECT count(*) FROM attendances WHERE task_id = :t"), {"t": task_id}).scalar()
    db.session.commit()
    return res


def _ceiling_burst(server, task_id, n, connections):
    lines = [("POST", "/checkin", None, {"task_id": task_id, "user_id": u}, None) for u in range(1, n + 1)]
    res = _timed_wrk(server, env.write_requests(lines), n, connections, env.CEILING_DB)
    import psycopg

    with psycopg.connect(f"{env.PG}/{env.CEILING_DB}") as c:
        res["rows"] = c.execute("SELECT count(*) FROM ceiling_checkins WHERE task_id = %s", (task_id,)).fetchone()[0]
    return res


def run(n: int = 1000, connections: int = 32, profile: str | None = None) -> Row:
    row = Row(f"check-in burst ({n} members, {connections} conns)", target="≥0.6x, p99<100ms, rows exact")
    if not product.has_route("post", "/api/v1/checkins"):
        row.notes.append("POST /api/v1/checkins has not landed")
        return row
    app = product.app()
    with app.app_context():
        _, cs, _ = product.city()
        staff_id = product.staff(cs[0].id, f"bench-ci-staff-{datetime.now().timestamp()}")
        staff_token = product.token(staff_id)
        curl = env.recreate_database(env.CEILING_DB)
        ceiling.setup(curl)
        ceils, prods = [], []
        with env.serving("bench.ceiling:app", {"CEILING_DATABASE_URL": curl}) as cs_server, \
                env.serving("wsgi:app") as server:
            _ceiling_burst(cs_server, 0, min(n, 200), connections)  # warm-up
            _product_burst(server, cs[0].id, staff_id, staff_token, min(n, 200), connections)
            for r in range(env.ROUNDS):  # alternating, so a drift of the machine's speed hits both
                ceils.append(_ceiling_burst(cs_server, r + 1, n, connections))
                if profile and r == env.ROUNDS - 1:
                    with env.profiled(server, 8, profile):
                        prods.append(_product_burst(server, cs[0].id, staff_id, staff_token, n, connections))
                else:
                    prods.append(_product_burst(server, cs[0].id, staff_id, staff_token, n, connections))
            row.rss = server.worker_rss_mb()
    prod, ceil = env.median_run(prods), env.median_run(ceils)
    row.product = f"{prod['rps']:.0f} req/s p99 {prod['p99']:.0f}ms rows {prod['rows']}"
    row.ceiling = f"{ceil['rps']:.0f} req/s p99 {ceil['p99']:.0f}ms rows {ceil['rows']}"
    row.ratio = env.median_ratio(prods, ceils)
    row.ok = (row.ratio >= 0.6 and prod["p99"] < 100 and all(p["rows"] == n for p in prods)
              and all(c["rows"] == n for c in ceils))
    row.notes.append(env.rounds_note(prods, ceils, "req/s"))
    row.notes.append(f"CPU per request (medians): gunicorn workers {prod['cpu_ms']:.2f} ms (ceiling "
                     f"{ceil['cpu_ms']:.2f}), PostgreSQL {prod['pg_ms']:.2f} ms (ceiling {ceil['pg_ms']:.2f})")
    row.notes.append(f"product statuses {sum((p['statuses'] for p in prods), Counter())} errors "
                     f"{[p['errors'] for p in prods if any(p['errors'].values())]}; "
                     f"ceiling statuses {sum((c['statuses'] for c in ceils), Counter())}")
    return row
