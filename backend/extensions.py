"""Unbound extension objects, bound in create_app."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from backend.db import Base, ping_after_idle


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose engines check an idle pooled connection before lending it
    (instead of pool_pre_ping's round trip on every checkout; see backend.db.ping_after_idle)."""

    def _make_engine(self, bind_key, options, app):
        engine = super()._make_engine(bind_key, options, app)
        ping_after_idle(engine, float(app.config.get("DB_PING_AFTER_IDLE", 10)))
        return engine


db = _SQLAlchemy(metadata=Base.metadata)  # models subclass backend.db.Base (Flask-free)
migrate = Migrate()
