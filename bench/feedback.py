"""Quarterly feedback for 100k members / 5k units / 2M transfers with 2 workers (≤ 120 s).

Runs once the feedback domain has a quarterly job: `backend.feedback.jobs` with CRON and a
function building every unit's feedback for a period."""
from __future__ import annotations

from bench import product
from bench.report import Row


def run() -> Row:
    row = Row("quarterly feedback (100k members, 5k units, 2M transfers, 2 workers)", target="≤120 s")
    if not product.has("backend.feedback.jobs", "CRON"):
        row.notes.append("the feedback domain (backend/feedback/jobs.py with a quarterly CRON job) has not landed")
        return row
    row.notes.append("feedback landed after this harness: add the data load (COPY/generate_series) and the "
                     "2-worker run here")
    return row
