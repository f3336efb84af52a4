"""GET /healthz: checks the database and Redis for real."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from backend.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
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
        return jsonify(out), 503
    return jsonify(out)
