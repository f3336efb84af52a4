"""The 台账 export of 1M transfers (csv and xlsx): time and peak RSS of the worker doing it.

python -m bench.export_transfers [--rows N]   (own database: BENCH_DB, default bench_oversight_export)

The rows are bulk-loaded with generate_series (statement data, not a valid hash chain). Each
export runs in a fresh child process (as an RQ worker would), which reports its own peak RSS
(ru_maxrss) beside the RSS it had before the export began: bounded memory means the two stay
close whatever the row count."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("BENCH_DB", "bench_oversight_export")  # not the shared bench database
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/12")

from bench import env  # noqa: E402  (production environment before backend is imported)
from bench.report import Row, table  # noqa: E402

WALLETS = 10_000
CHUNK = 250_000


def _load(rows: int) -> tuple[int, float]:
    """One street, one community, WALLETS members, `rows` earnings; returns (community id, seconds)."""
    from sqlalchemy import text

    from backend.extensions import db

    t0 = time.perf_counter()
    for stmt in (
        "INSERT INTO streets (name, district, created_at) VALUES ('导出街道', '', now())",
        "INSERT INTO communities (name, street_id, district, created_at) VALUES ('导出社区', 1, '', now())",
        "INSERT INTO users (openid, nickname, name, token_version, created_at) "
        "SELECT 'e-' || g, '党员' || g, '党员' || g, 0, now() FROM generate_series(1, :w) g",
        "INSERT INTO ledger_accounts (kind, community_id, no_negative, debits_posted, credits_posted, created_at) "
        "SELECT k, 1, false, 0, 0, now() FROM unnest(ARRAY['issuance', 'rewards', 'expiry']) k",
        "INSERT INTO ledger_accounts (kind, user_id, no_negative, debits_posted, credits_posted, created_at) "
        "SELECT 'wallet', g, true, 0, 0, now() FROM generate_series(1, :w) g",
    ):
        db.session.execute(text(stmt), {"w": WALLETS})
    for lo in range(1, rows + 1, CHUNK):
        db.session.execute(text(
            "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, ref_type, ref_id, memo, "
            "idempotency_key, fingerprint, debit_balance_after, credit_balance_after, created_at, hash) "
            "SELECT 1, 4 + g % :w, 1 + g % 50, 'earn', 'attendance', g, '志愿服务：清扫楼道（60分钟）', "
            "'earn:bench:' || g, '', -g, g, timestamptz '2026-10-01' + g * interval '5 seconds', md5(g::text) "
            "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g"),
            {"w": WALLETS, "lo": lo, "hi": min(rows, lo + CHUNK - 1)})
        db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return 1, time.perf_counter() - t0


def _job(fmt: str, requester_id: int) -> str:
    import uuid

    from backend.extensions import db
    from backend.feedback.models import ExportJob

    job = ExportJob(id=uuid.uuid4().hex, kind=f"ledger_transfers_{fmt}", scope_type="community", scope_id=1,
                    params={"kind": "transfers", "format": fmt, "period": None}, requester_id=requester_id)
    db.session.add(job)
    db.session.commit()
    return job.id


def child(job_id: str) -> None:
    """In a fresh process: build the app, note RSS, run the export, print figures as JSON."""
    import psutil

    from backend import create_app
    from backend.extensions import db
    from backend.feedback.exportjobs import run_export
    from backend.feedback.models import ExportJob

    app = create_app()
    with app.app_context():
        import backend.oversight.ledger_exports  # noqa: F401  (registers the kinds, as the worker would)

        db.session.execute(db.text("SELECT 1"))
        before = psutil.Process().memory_info().rss
        t0 = time.perf_counter()
        run_export(job_id)
        seconds = time.perf_counter() - t0
        job = db.session.get(ExportJob, job_id)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"seconds": seconds, "rss_before_mb": before / 2**20, "peak_mb": peak / 2**20,
                          "size_mb": (job.size or 0) / 2**20, "status": job.status}))


def run(rows: int = 1_000_000) -> list[Row]:
    from bench import product
    from backend.auth.models import RoleGrant, User
    from backend.extensions import db

    app = product.fresh_app()
    with app.app_context():
        _, loaded = _load(rows)
        staff = User(openid="export-staff", nickname="staff")
        db.session.add(staff)
        db.session.flush()
        db.session.add(RoleGrant(user_id=staff.id, role="staff", community_id=1))
        db.session.commit()
        jobs = {fmt: _job(fmt, staff.id) for fmt in ("csv", "xlsx")}
    out = []
    for fmt, job_id in jobs.items():
        proc = subprocess.run([sys.executable, "-m", "bench.export_transfers", "--child", job_id],
                              capture_output=True, text=True, cwd=env.ROOT, env=os.environ.copy())
        row = Row(f"台账 export, {rows:,} transfers, {fmt}", target="bounded memory (peak - before < 100 MB)")
        try:
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            row.ok, row.notes = False, [f"child failed: {proc.stderr[-500:]}"]
            out.append(row)
            continue
        grew = r["peak_mb"] - r["rss_before_mb"]
        row.product = f"{r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB (+{grew:.0f} MB)"
        row.ok = r["status"] == "finished" and grew < 100
        row.notes.append(f"{r['size_mb']:.0f} MB file, {rows / r['seconds']:,.0f} rows/s; bulk load {loaded:.0f} s")
        out.append(row)
    return out


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(sys.argv[sys.argv.index("--child") + 1])
    else:
        n = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
        print(table(run(n)))
