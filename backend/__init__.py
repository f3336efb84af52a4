"""社区党建 backend. create_app imports Flask lazily so that backend.timebank stays Flask-free."""
from __future__ import annotations


def create_app(config_class=None):
    """Build the Flask app: config, extensions, blueprints, error handlers, CLI."""
    import os

    from flask import Flask

    from backend import models  # noqa: F401  (register every table on the metadata)
    from backend.api import register_api
    from backend.cli import register_cli
    from backend.config import Config
    from backend.extensions import db, migrate
    from backend.redis_conn import connect, redis_url

    config_class = config_class or Config
    missing = config_class.problems()
    if missing:
        raise RuntimeError(
            "APP_ENV=production refuses to start without: " + ", ".join(missing)
        )
    app = Flask(__name__, instance_path=str(__import__("backend.config").config.INSTANCE))
    app.config.from_object(config_class)
    app.json.ensure_ascii = False  # Chinese as it is
    app.json.mimetype = "application/json; charset=utf-8"
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["FILES_DIR"], exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True, directory=str(__import__("pathlib").Path(__file__).parent.parent / "migrations"))
    app.config["REDIS_URL_RESOLVED"] = redis_url(app.config)
    app.extensions["redis"] = connect(app.config["REDIS_URL_RESOLVED"])

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    register_api(app)
    from backend import jobs

    jobs.init_app(app)
    register_cli(app)
    return app
