"""GET /healthz: checks the database and Redis for real."""
import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from backend.api.common import public
from backend.extensions import db

blp = Blueprint("health", __name__, description="健康检查")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok | error"})
    db = ma.fields.String(metadata={"description": "ok, or error: <kind>"})
    redis = ma.fields.String(metadata={"description": "ok, or error: <kind>"})


@public
@blp.get("/healthz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="the database or Redis does not answer")
@blp.doc(security=[])
def healthz():
    """Liveness and readiness: 200 when both the database and Redis answer, else 503."""
    out = {"status": "ok", "db": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure of the DB is a failing check, not a 500
        db.session.rollback()
        out["db"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["redis"].ping()
    except Exception as exc:
        out["redis"] = f"error: {type(exc).__name__}"
    if out["db"] != "ok" or out["redis"] != "ok":
        out["status"] = "error"
        return out, 503
    return out
