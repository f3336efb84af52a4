"""HTTP layer: the smorest Api, every blueprint in this package, one commit per request."""
from __future__ import annotations

import functools
import importlib
import pkgutil
import uuid

from flask import Blueprint as FlaskBlueprint
from werkzeug.routing import IntegerConverter
from flask import g, request, send_from_directory
from flask.sessions import SessionInterface
from flask_smorest import Api as SmorestApi

import backend.api.messages  # noqa: F401  (Chinese validation messages, before any schema)
from backend.api.common import ErrorSchema, account_checked, authenticate
from backend.api.errors import handle_http, register_error_handlers
from backend.extensions import db


class Api(SmorestApi):
    """smorest's Api with the contract's error shape in handlers and in the spec."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http(error)


def _transactional(view):
    """Commit when the handler succeeded, roll back otherwise (services only flush); a request
    whose session began no transaction has nothing to end (an empty commit cost ~55 µs)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            rv = view(*args, **kwargs)
            status = getattr(rv, "status_code", None)
            if status is None and isinstance(rv, tuple) and len(rv) > 1 and isinstance(rv[1], int):
                status = rv[1]
            session = db.session()
            if not session.in_transaction():
                pass  # nothing began (a scan in autocommit, a cached read): nothing to end
            elif status is None or status < 400:
                session.commit()
            else:
                session.rollback()
            return rv
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


class _NoCookieSession(SessionInterface):
    """Callers prove who they are with a bearer token: nothing reads or writes Flask's cookie
    session, so none is opened (the default signs and parses a cookie on every request)."""

    def open_session(self, app, request):
        return None  # Flask then uses its read-only null session

    def save_session(self, app, session, response):
        return None


class BoundedIntConverter(IntegerConverter):
    """<int:...> ids within a database integer: a larger id is simply not found (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_api(app) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.setdefault("API_SPEC_OPTIONS", {
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "servers": [{"url": "/"}],
    })
    app.session_interface = _NoCookieSession()
    api = Api(app)
    app.extensions["smorest_api"] = api
    register_error_handlers(app)

    import backend.api as pkg

    names = []
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"backend.api.{mod.name}")
        if hasattr(module, "blp"):
            api.register_blueprint(module.blp)
            names.append(module.blp.name)
        if hasattr(module, "bp") and isinstance(module.bp, FlaskBlueprint):
            app.register_blueprint(module.bp)
            names.append(module.bp.name)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.split(".")[0] in names:
            if getattr(view, "login_in_handler", False):
                view = account_checked(view)
            app.view_functions[endpoint] = _transactional(view)

    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/v1/docs-static/<path:filename>")
    def swagger_static(filename):
        return send_from_directory(str(swagger_ui_path), filename)

    @app.before_request
    def _request_id():
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        from backend.audit.services import request_meta

        request_meta.set({"request_id": g.request_id, "ip": request.remote_addr})

    @app.before_request
    def _require_login():
        """Every /api/ call needs a valid token, checked before its body is parsed."""
        if not request.path.startswith("/api/") or request.method == "OPTIONS":
            return
        endpoint = request.endpoint or ""
        if endpoint.startswith("api-docs.") or endpoint == "swagger_static":
            return
        view = app.view_functions.get(endpoint)
        if view is None or getattr(view, "is_public", False):
            return  # unknown paths answer 404/405 as they are
        authenticate(view)

    @app.after_request
    def _echo_request_id(resp):
        resp.headers["X-Request-Id"] = g.get("request_id", "")
        return resp

    @app.teardown_request
    def _forget_request_meta(exc):
        """A thread serves many requests: what is audited outside one must not name the last."""
        from backend.audit.services import request_meta

        request_meta.set({})

    @app.teardown_appcontext
    def _cleanup(exc):
        if exc is not None:
            db.session.rollback()
