"""Files built in the background: a registry of builders, one job row per export, progress, files.

Any export (unit feedback here; 台账 later) plugs in with `register(kind, authorize=, build=)`:

    authorize(user, scope_type, scope_id) -> None    raises Forbidden/NotFound; decides who may
                                                       start the export and read its job and file
    build(job, path, progress) -> download_name      writes the file at `path` (a temporary
                                                       name), calls progress(0..100) as it goes
    personal=True                                    the file shows what its requester may see:
                                                       only they download it

`start_export(kind, (scope_type, scope_id), params, requester)` writes an ExportJob row, an
audit row "export" and an outbox job in the caller's transaction; the worker runs
`run_export(job_id)`, which writes `<FILES_DIR>/exports/<kind>-<job id>.<suffix>.part` and renames
it atomically to its final, deterministic name, so a retried job leaves one file, not two.
Progress lives in the RQ job's meta (Redis) while running; GET /api/v1/jobs/{id} reads it.
"""
from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Callable

from flask import current_app
from rq import get_current_job
from rq.job import Job

from backend.audit.services import record
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.feedback.models import ExportJob
from backend.jobs import RQ_RETRY, defer, rq_job_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
MAX_RUNS = 1 + RQ_RETRY.max  # after this many failed runs the job shows as failed
# what readers of a failed run see (the exception itself goes to the log and the outbox row)
RUN_FAILED = "导出失败，正在重试"
GAVE_UP = "导出失败，请稍后重新导出"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exporter:
    kind: str
    authorize: Callable[[User, str, int | None], None]
    build: Callable[[ExportJob, str, Callable[[int], None]], str]
    suffix: str = "xlsx"
    content_type: str = XLSX
    # built with what its requester may see (台账: phones in full for a community's own staff):
    # only the requester downloads the file; others of the scope still see the job's status
    personal: bool = False


REGISTRY: dict[str, Exporter] = {}


def register(kind: str, *, authorize, build, suffix: str = "xlsx", content_type: str = XLSX,
             personal: bool = False) -> Exporter:
    """Make an export kind available to start_export (call at import time of its module)."""
    REGISTRY[kind] = Exporter(kind, authorize, build, suffix, content_type, personal)
    return REGISTRY[kind]


def exporter(kind: str) -> Exporter:
    if kind not in REGISTRY:
        _load_builders()
    if kind not in REGISTRY:
        raise ValidationFailed(details={"kind": ["不支持的导出类型"]})
    return REGISTRY[kind]


def _load_builders() -> None:
    """Import every backend/<domain>/*export*.py, where builders register (a worker that did not
    load the API may not have imported them yet)."""
    import importlib
    import pkgutil

    import backend

    for mod in pkgutil.iter_modules(backend.__path__):
        if not mod.ispkg:
            continue
        package = importlib.import_module(f"backend.{mod.name}")
        for sub in pkgutil.iter_modules(package.__path__):
            if "export" in sub.name:
                importlib.import_module(f"backend.{mod.name}.{sub.name}")


def _audit_scope(scope_type: str, scope_id: int | None) -> dict:
    if scope_type == "community":
        return {"community_id": scope_id}
    if scope_type == "street":
        return {"street_id": scope_id}
    if scope_type == "unit":
        from backend.orgs.models import Unit

        unit = db.session.get(Unit, scope_id)
        return {"street_id": unit.street_id if unit else None}
    return {}


def start_export(kind: str, scope: tuple[str, int | None], params: dict, requester: User) -> ExportJob:
    """Authorise, then queue an export: the job row, an audit row and the outbox job, in the
    caller's transaction (nothing runs unless it commits)."""
    ex = exporter(kind)
    scope_type, scope_id = scope
    ex.authorize(requester, scope_type, scope_id)
    job = ExportJob(id=uuid.uuid4().hex, kind=kind, scope_type=scope_type, scope_id=scope_id,
                    params=dict(params or {}), requester_id=requester.id, status="queued", progress=0)
    db.session.add(job)
    db.session.flush()
    job.outbox_id = defer("backend.feedback.exportjobs.run_export", job.id).id
    record(requester.id, "export", scope_type, scope_id,
           after={"job_id": job.id, "kind": kind, "params": job.params}, **_audit_scope(scope_type, scope_id))
    db.session.flush()
    return job


def readable_job(user: User, job_id: str) -> ExportJob:
    """The job, for whoever may read its scope (404 unknown, 403 not theirs)."""
    job = db.session.get(ExportJob, job_id)
    if job is None:
        raise NotFound("任务不存在")
    exporter(job.kind).authorize(user, job.scope_type, job.scope_id)
    return job


def _rq_job(job: ExportJob) -> Job | None:
    if job.outbox_id is None:
        return None
    try:
        return Job.fetch(rq_job_id(job.outbox_id), connection=current_app.extensions["redis"])
    except Exception:  # gone, or Redis down: the row still answers
        return None


def _downloads(user: User, job: ExportJob) -> bool:
    return not exporter(job.kind).personal or job.requester_id == user.id


def result_url(job: ExportJob, user: User) -> str | None:
    """Where the finished file is, for a reader who may download it."""
    return f"/api/v1/files/{job.id}" if job.status == "finished" and _downloads(user, job) else None


def job_status(user: User, job_id: str) -> dict:
    """{"job_id", "kind", "status", "progress", "result_url", ...} of an export job."""
    job = readable_job(user, job_id)
    progress = job.progress
    if job.status == "finished":
        progress = 100
    elif job.status == "started":
        rq = _rq_job(job)
        if rq is not None:
            progress = max(progress, int(rq.get_meta(refresh=True).get("progress", 0)))
    return {"job_id": job.id, "kind": job.kind, "status": job.status, "progress": progress,
            "result_url": result_url(job, user), "error": job.error if job.status != "finished" else None,
            "created_at": job.created_at, "finished_at": job.finished_at, "size": job.size}


def file_path(job: ExportJob) -> str:
    return os.path.join(current_app.config["FILES_DIR"], job.file_name)


def readable_file(user: User, job_id: str) -> tuple[str, str, str]:
    """(absolute path, download name, content type) of a finished export, for its readers."""
    job = readable_job(user, job_id)
    if not _downloads(user, job):
        raise Forbidden("该文件按导出人的权限生成，仅导出人可下载")
    if job.status != "finished" or not job.file_name or not os.path.exists(file_path(job)):
        raise InvalidState("文件尚未生成")
    return file_path(job), job.download_name or os.path.basename(job.file_name), job.content_type or XLSX


def _publish(tmp: str, final: str) -> None:
    """Atomic rename: the final name appears complete or not at all."""
    os.replace(tmp, final)


def _set(job_id: str, **values) -> ExportJob:
    db.session.rollback()
    job = db.session.get(ExportJob, job_id)
    for k, v in values.items():
        setattr(job, k, v)
    db.session.commit()
    return job


def run_export(job_id: str) -> str | None:
    """Worker: build the file of an export job; returns its name under FILES_DIR."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status in ("finished", "failed"):
        # finished: built already; failed: given up on (drain may push its outbox row again
        # after RQ's last retry) and shown as failed, so it stays so: the user starts a new one
        return job.file_name if job else None
    if job.attempts >= MAX_RUNS:  # every run so far died without a word (its worker killed)
        log.error("export %s (%s) given up after %s runs that never ended", job_id, job.kind, job.attempts)
        _set(job_id, status="failed", error=GAVE_UP)
        return None
    ex = exporter(job.kind)
    job = _set(job_id, status="started", started_at=utcnow(), attempts=job.attempts + 1, progress=0, error=None)
    rq = get_current_job()

    def progress(pct: int) -> None:
        if rq is not None:
            rq.meta["progress"] = max(0, min(100, int(pct)))
            rq.save_meta()

    progress(0)
    name = os.path.join("exports", f"{job.kind}-{job.id}.{ex.suffix}")
    final = os.path.join(current_app.config["FILES_DIR"], name)
    tmp = final + ".part"  # deterministic too: a retry overwrites what a dead run left
    os.makedirs(os.path.dirname(final), exist_ok=True)
    runs = job.attempts
    try:
        download_name = ex.build(job, tmp, progress)
        _publish(tmp, final)
    except Exception:
        log.exception("export %s (%s) failed, run %s of %s", job_id, job.kind, runs, MAX_RUNS)
        if os.path.exists(tmp):
            os.remove(tmp)
        gave_up = runs >= MAX_RUNS
        _set(job_id, status="failed" if gave_up else "queued", error=GAVE_UP if gave_up else RUN_FAILED)
        raise
    _set(job_id, status="finished", progress=100, file_name=name, download_name=download_name,
         content_type=ex.content_type, size=os.path.getsize(final), finished_at=utcnow())
    progress(100)
    return name
