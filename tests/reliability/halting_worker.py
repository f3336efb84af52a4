"""An RQ worker process whose feedback export stops halfway, so that a test can SIGKILL it
mid-job deterministically (no race against a fast build).

    python -m tests.reliability.halting_worker GATE_FILE

The worker is the product's (create_app from the environment, the app's queue and Redis); only
the unit_feedback builder is wrapped: it reports progress, writes half a workbook under the
job's temporary name, writes its own pid (the work horse's) to GATE_FILE, then waits forever.
It runs without RQ's scheduler: a scheduler killed with it would hold the queue's scheduler
lock for another 61 s and delay the survivor's retry (RQ's design, not the product's).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time


def main(gate: str) -> None:
    from rq import Worker

    from backend import create_app
    from backend.feedback import export, exportjobs
    from backend.jobs import get_queue

    real = exportjobs.REGISTRY[export.KIND]

    def halted(job, path, progress):
        progress(40)
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a workbook from a worker about to be killed")
        with open(gate + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(gate + ".tmp", gate)
        while True:
            time.sleep(1)

    exportjobs.REGISTRY[export.KIND] = dataclasses.replace(real, build=halted)
    app = create_app()
    with app.app_context():
        Worker([get_queue(app)], connection=app.extensions["redis"]).work(with_scheduler=False)


if __name__ == "__main__":
    main(sys.argv[1])
