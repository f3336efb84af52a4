"""Quarterly feedback for 100k members / 5k units / 2M transfers, with 2 workers (≤ 120 s).

python -m bench.feedback [--members N] [--units N] [--transfers N]   (own database by default:
BENCH_DB=bench_feedback, Redis db 13; `python -m bench --only feedback` uses the shared one)

The city is loaded with generate_series (no API): one street, 50 communities, `units` units
each with a unit_admin, `members` approved reports (half of them also on their unit's roster,
70 % consenting to unit feedback), tasks in the quarter, one confirmed attendance and one
`earn` transfer per half of the transfers, and as many donations between wallets (statement
data: not a valid hash chain). Then the scheduled job (`backend.feedback.jobs` CRON entry) is
enqueued the way RQ's cron scheduler does and two `flask --app wsgi worker` processes run it;
the figure is the time from enqueue until every unit's feedback is issued and the jobs the
issue caused (its outbox fan-out, if any) are done."""
from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__":  # standalone: not the shared bench database
    os.environ.setdefault("BENCH_DB", "bench_feedback")
    os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/13")

from bench import env, product  # noqa: E402  (production environment before backend is imported)
from bench.report import Row  # noqa: E402

COMMUNITIES = 50
# 2026-10-01 01:00 in Shanghai: the cron's moment for 2026-Q3.
NOW_ISO = "2026-09-30T17:00:00+00:00"
Q_START, Q_END = "2026-07-01T00:00:00+08:00", "2026-09-30T23:00:00+08:00"
TARGET_S = 120
CHUNK = 250_000


def _exec(sql: str, **params) -> None:
    from sqlalchemy import text

    from backend.extensions import db

    db.session.execute(text(sql), params)
    db.session.commit()


def _chunks(n: int):
    for lo in range(1, n + 1, CHUNK):
        yield lo, min(n, lo + CHUNK - 1)


def load(members: int, units: int, transfers: int) -> float:
    """The city above, in SQL; returns seconds."""
    t0 = time.perf_counter()
    earn = transfers // 2
    tasks = max(1, earn // 100)  # 100 attendances per task
    p = {"m": members, "u": units, "c": COMMUNITIES, "qs": Q_START, "qe": Q_END}
    _exec("INSERT INTO streets (name, district, created_at) VALUES ('反馈压测街道', '压测区', now())")
    _exec("INSERT INTO communities (name, street_id, district, created_at) "
          "SELECT '压测社区' || g, 1, '压测区', now() FROM generate_series(1, :c) g", **p)
    _exec("INSERT INTO units (name, kind, street_id, created_at) "
          "SELECT '压测单位' || g, '企业', 1, now() FROM generate_series(1, :u) g", **p)
    # users 1..m are members; m+1..m+u the unit admins
    _exec("INSERT INTO users (openid, nickname, name, phone, token_version, created_at) "
          "SELECT 'fb-' || g, '党员' || g, '党员' || g, '139' || lpad(g::text, 8, '0'), 0, now() "
          "FROM generate_series(1, :m + :u) g", **p)
    _exec("INSERT INTO role_grants (user_id, role, unit_id, created_at) "
          "SELECT :m + g, 'unit_admin', g, now() FROM generate_series(1, :u) g", **p)
    _exec("INSERT INTO role_grants (user_id, role, community_id, created_at) "
          "SELECT g, 'member', 1 + g % :c, now() FROM generate_series(1, :m) g", **p)
    _exec("INSERT INTO member_reports (user_id, community_id, unit_id, name, phone, skills, skills_other, status, "
          "decided_at, created_at) SELECT g, 1 + g % :c, 1 + g % :u, '党员' || g, '139' || lpad(g::text, 8, '0'), "
          "'[]', '', 'approved', now(), now() FROM generate_series(1, :m) g", **p)
    _exec("INSERT INTO unit_members (unit_id, name, phone, user_id, created_at) "
          "SELECT 1 + g % :u, '党员' || g, '139' || lpad(g::text, 8, '0'), g, now() "
          "FROM generate_series(1, :m) g WHERE g % 2 = 0", **p)
    _exec("INSERT INTO consents (user_id, purpose, granted, policy_version, at) "
          "SELECT g, 'unit_feedback', true, '2026-11', now() FROM generate_series(1, :m) g WHERE g % 10 < 7", **p)
    # accounts: per community issuance (ids 3c-2), rewards, expiry; then wallets (id 3C + user id)
    _exec("INSERT INTO ledger_accounts (kind, community_id, no_negative, debits_posted, credits_posted, created_at) "
          "SELECT k, c, false, 0, 0, now() FROM generate_series(1, :c) c, "
          "unnest(ARRAY['issuance', 'rewards', 'expiry']) WITH ORDINALITY AS t(k, o) ORDER BY c, o", **p)
    _exec("INSERT INTO ledger_accounts (kind, user_id, no_negative, debits_posted, credits_posted, created_at) "
          "SELECT 'wallet', g, true, 0, 0, now() FROM generate_series(1, :m) g ORDER BY g", **p)
    _exec("INSERT INTO tasks (community_id, title, description, category, starts_at, ends_at, location_name, capacity, "
          "claimed_count, points_per_hour, skills, status, created_at, updated_at) "
          "SELECT 1 + g % :c, '压测任务' || g, '', '其他', t, t + interval '1 hour', '', 100, 100, 60, '[]', "
          "'finished', now(), now() FROM generate_series(1, :t) g, "
          "LATERAL (SELECT CAST(:qs AS timestamptz) + (g * interval '1 second') * (7800000 / :t) AS t) x",
          t=tasks, **p)
    for lo, hi in _chunks(earn):  # attendance g: task (g-1)/100+1, a member spread by a coprime stride
        _exec("INSERT INTO attendances (task_id, user_id, community_id, status, source, checkin_at, checkin_offline, "
              "checkout_at, checkout_offline, minutes, awarded_at, points, created_at, updated_at) "
              "SELECT t.id, 1 + ((g - 1) * 7919) % :m, t.community_id, 'checked_out', "
              "CASE WHEN g % 20 = 0 THEN 'manual' ELSE 'scan' END, t.starts_at, false, t.ends_at, false, 60, "
              "t.ends_at, 60, t.ends_at, t.ends_at FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g "
              "JOIN tasks t ON t.id = (g - 1) / 100 + 1", lo=lo, hi=hi, **p)
    for lo, hi in _chunks(transfers):  # odd g: earn for attendance (g+1)/2; even g: a donation
        _exec("INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, ref_type, ref_id, memo, "
              "idempotency_key, fingerprint, debit_balance_after, credit_balance_after, created_at, hash) "
              "SELECT CASE WHEN g % 2 = 1 THEN 3 * a.community_id - 2 ELSE 3 * :c + 1 + (g * 13) % :m END, "
              "CASE WHEN g % 2 = 1 THEN 3 * :c + a.user_id ELSE 3 * :c + 1 + (g * 17 + 5) % :m END, "
              "CASE WHEN g % 2 = 1 THEN 60 ELSE 1 + g % 5 END, CASE WHEN g % 2 = 1 THEN 'earn' ELSE 'donate' END, "
              "CASE WHEN g % 2 = 1 THEN 'attendance' END, CASE WHEN g % 2 = 1 THEN a.id END, '压测', "
              "'fb-' || g, '', 0, 0, CAST(:qs AS timestamptz) + (g * interval '1 second') * (7800000 / :n), md5(g::text) "
              "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g "
              "LEFT JOIN attendances a ON a.id = (g + 1) / 2 AND g % 2 = 1", lo=lo, hi=hi, n=transfers, **p)
    _exec("ANALYZE")
    return time.perf_counter() - t0


def _worker_env() -> dict:
    return {**env.PRODUCT_ENV, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}


def measure(app, units: int, timeout: float = 1800) -> tuple[float, int, list[str]]:
    """Enqueue the CRON job, run it with 2 workers; (seconds, units issued, notes)."""
    import subprocess

    from rq.job import Job, JobStatus
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.feedback.jobs import CRON
    from backend.feedback.models import FeedbackIssue
    from backend.jobs import get_queue
    from backend.jobs.models import OutboxJob

    entry = next(e for e in CRON if e["func"].endswith("issue_previous_quarter"))
    bin_ = env.ROOT / ".venv" / "bin"
    logs = [open(f"/tmp/bench-feedback-worker{i}.log", "w") for i in range(2)]
    workers = [subprocess.Popen([str(bin_ / "flask"), "--app", "wsgi", "worker"], cwd=env.ROOT,
                                env={**os.environ, **_worker_env()}, stdout=log, stderr=subprocess.STDOUT)
               for log in logs]
    notes = []
    try:
        time.sleep(3)  # both workers up and waiting on the queue
        with app.app_context():
            baseline = db.session.scalar(select(func.max(OutboxJob.id))) or 0
            db.session.rollback()
            t0 = time.perf_counter()
            job = get_queue(app).enqueue(entry["func"], NOW_ISO, job_timeout=3600)
            while time.perf_counter() - t0 < timeout:
                status = job.get_status(refresh=True)
                if status in (JobStatus.FINISHED, JobStatus.FAILED):
                    break
                time.sleep(0.2)
            job_s = time.perf_counter() - t0
            # what the job deferred (fan-out jobs, notifications) must be done too, except
            # WeChat sends, which fail here (no platform): only non-notification jobs count
            while time.perf_counter() - t0 < timeout:
                left = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
                    OutboxJob.id > baseline, OutboxJob.done_at.is_(None),
                    ~OutboxJob.func.like("backend.notifications.%")))
                db.session.rollback()
                if not left:
                    break
                time.sleep(0.2)
            total_s = time.perf_counter() - t0
            issued = db.session.scalar(select(func.count()).select_from(FeedbackIssue))
            deferred = db.session.execute(select(OutboxJob.func, func.count()).where(OutboxJob.id > baseline)
                                          .group_by(OutboxJob.func)).all()
            db.session.rollback()
        notes.append(f"job {status} after {job_s:.1f}s; deferred: "
                     + ", ".join(f"{n}× {f.rsplit('.', 1)[-1]}" for f, n in deferred))
        if status == JobStatus.FAILED:
            notes.append((Job.fetch(job.id, connection=app.extensions["redis"]).exc_info or "")[-300:])
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()
        for log in logs:
            log.close()
    return total_s, issued, notes


def run(members: int = 100_000, units: int = 5_000, transfers: int = 2_000_000) -> Row:
    row = Row(f"quarterly feedback ({members:,} members, {units:,} units, {transfers:,} transfers, 2 workers)",
              target=f"≤{TARGET_S} s")
    if not product.has("backend.feedback.jobs", "CRON", "issue_previous_quarter"):
        row.notes.append("the feedback domain (backend/feedback/jobs.py with a quarterly CRON job) has not landed")
        return row
    app = product.fresh_app()
    with app.app_context():
        secs = load(members, units, transfers)
    total, issued, notes = measure(app, units)
    row.product = f"{total:.1f} s, {issued:,}/{units:,} units issued"
    row.ok = issued == units and total <= TARGET_S
    row.notes += [f"bulk load took {secs:.0f}s"] + notes
    return row


def main(argv=None) -> int:
    import argparse

    from bench.report import table

    p = argparse.ArgumentParser(prog="python -m bench.feedback")
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--units", type=int, default=5_000)
    p.add_argument("--transfers", type=int, default=2_000_000)
    a = p.parse_args(argv)
    print(table([run(a.members, a.units, a.transfers)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
