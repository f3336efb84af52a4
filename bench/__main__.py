"""python -m bench [--only NAME ...] [--members N] [--big N] [--profile DIR]: run and print the table."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from datetime import datetime

from bench import env  # noqa: F401  (sets the production environment before backend is imported)
from bench.report import Row, table

WORKLOADS = ["checkin", "donations", "ledger", "confirm", "statement", "feedback", "dashboard", "export"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--only", nargs="*", choices=WORKLOADS, default=None)
    p.add_argument("--members", type=int, default=1000, help="check-in burst size")
    p.add_argument("--big", type=int, default=10_000_000, help="transfers loaded for the statement workload")
    p.add_argument("--profile", default=None, help="directory for py-spy summaries of each HTTP workload")
    args = p.parse_args(argv)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    prof = (lambda name: os.path.join(args.profile, name + ".txt")) if args.profile else (lambda name: None)

    from bench import checkin, dashboard, donations, export_transfers, feedback, ledger, statement

    runs = {
        "checkin": lambda: checkin.run(args.members, profile=prof("checkin")),
        "donations": lambda: donations.run(profile=prof("donations")),
        "ledger": ledger.run_threads,
        "confirm": ledger.run_confirm,
        "statement": lambda: statement.run(args.big),
        "feedback": feedback.run,
        "dashboard": dashboard.run,
        "export": export_transfers.run,
    }
    rows: list[Row] = []
    rss = []
    t0 = time.time()
    for name in args.only or WORKLOADS:
        print(f"... {name}", file=sys.stderr, flush=True)
        try:
            got = runs[name]()
        except Exception as exc:  # one broken workload must not hide the others' figures
            traceback.print_exc()
            got = Row(name, ok=False, notes=[f"failed: {type(exc).__name__}: {exc}"[:300]])
        for row in got if isinstance(got, list) else [got]:  # the export gives one row per format
            rows.append(row)
            if getattr(row, "rss", None):
                rss.append(row.rss)
    if rss:
        rows.append(Row("footprint: gunicorn worker RSS after load", product=f"{max(rss):.0f} MB",
                        target="<120 MB", ok=max(rss) < 120))
    print(f"bench {datetime.now():%Y-%m-%d %H:%M} on {platform.node()} ({os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}), {time.time() - t0:.0f}s")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
