"""台账 exports of a community or a street, run as background jobs (progress at GET /api/v1/jobs/{id})."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import current_user
from backend.oversight import ledger_exports as svc

blp = Blueprint("exports", __name__, url_prefix="/api/v1", description="台账导出")
PERIOD = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


class ExportArgs(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(svc.KINDS))
    format = ma.fields.String(required=True, validate=ma.validate.OneOf(svc.FORMATS))
    period = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Regexp(
        PERIOD, error="格式应为 2026-11、2026-Q4 或 2026"),
        metadata={"description": "YYYY-MM, YYYY-Qn or YYYY; omitted: everything (members and households ignore it)"})


class LedgerExportJob(ma.Schema):
    job_id = ma.fields.String()


@blp.post("/communities/<int:community_id>/exports")
@blp.arguments(ExportArgs)
@blp.response(202, LedgerExportJob)
def community_export(args, community_id):
    """Queue a 台账 export of a community (its staff, its street_admin, admin) → 202 {job_id}."""
    job = svc.start(current_user(), "community", community_id, kind=args["kind"], fmt=args["format"],
                    period=args["period"])
    return {"job_id": job.id}


@blp.post("/streets/<int:street_id>/exports")
@blp.arguments(ExportArgs)
@blp.response(202, LedgerExportJob)
def street_export(args, street_id):
    """Queue a 台账 export of every community of a street (its street_admin, admin) → 202 {job_id}."""
    job = svc.start(current_user(), "street", street_id, kind=args["kind"], fmt=args["format"],
                    period=args["period"])
    return {"job_id": job.id}
