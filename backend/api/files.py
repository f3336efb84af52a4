"""Files built by background jobs (exports), served to those who may read their data."""
from __future__ import annotations

from flask import send_file
from flask_smorest import Blueprint

from backend.api.common import current_user
from backend.feedback import exportjobs

blp = Blueprint("files", __name__, url_prefix="/api/v1", description="文件下载：导出结果")


@blp.get("/files/<string:file_id>")
@blp.doc(responses={"200": {"description": "the file (.xlsx or .csv) as an attachment"}})
def download(file_id):
    """Download the file of a finished export job (id = job id; the same people who may read the job)."""
    path, name, content_type = exportjobs.readable_file(current_user(), file_id)
    return send_file(path, mimetype=content_type, as_attachment=True, download_name=name, max_age=0)
