"""Background jobs (exports): status and progress."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user
from backend.feedback import exportjobs

blp = Blueprint("jobs_status", __name__, url_prefix="/api/v1", description="后台任务：导出进度")


class JobStatusSchema(ma.Schema):
    job_id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"description": "queued|started|finished|failed"})
    progress = ma.fields.Integer(metadata={"description": "0-100"})
    result_url = ma.fields.String(allow_none=True, metadata={"description": "GET it for the file once finished"})
    error = ma.fields.String(allow_none=True)
    size = ma.fields.Integer(allow_none=True)
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)


@blp.get("/jobs/<string:job_id>")
@blp.response(200, JobStatusSchema)
def job_status(job_id):
    """An export job's status, progress (0-100) and, once finished, result_url (whoever may read its scope; a 台账 file only its requester)."""
    return exportjobs.job_status(current_user(), job_id)
