"""Every failure under /api/ becomes {"error": {"code", "message", "details"}}: mapped here once."""
from __future__ import annotations

import logging

from flask import jsonify
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from backend.errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: ("VALIDATION_ERROR", "请求格式有误"),
    401: ("AUTH_REQUIRED", "请先登录"),
    403: ("FORBIDDEN", "无权进行此操作"),
    404: ("NOT_FOUND", "对象不存在"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
    409: ("CONFLICT", "操作冲突"),
    413: ("PAYLOAD_TOO_LARGE", "请求内容过大"),
    415: ("VALIDATION_ERROR", "请以 JSON 格式提交"),
    422: ("VALIDATION_ERROR", "输入有误"),
    429: ("RATE_LIMITED", "请求过于频繁"),
    500: ("INTERNAL_ERROR", "服务器内部错误，请稍后再试"),
    503: ("SERVICE_UNAVAILABLE", "服务暂不可用，请稍后再试"),
}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    return resp


def _validation_details(exc: HTTPException) -> dict:
    """webargs puts {"json": {"field": ["msg"]}} in exc.data["messages"]; flatten the location."""
    messages = (getattr(exc, "data", None) or {}).get("messages") or {}
    if isinstance(messages, dict) and len(messages) == 1:
        (only,) = messages.values()
        if isinstance(only, dict):
            return only
    return messages if isinstance(messages, dict) else {"_schema": messages}


def handle_http(exc: HTTPException):
    status = exc.code or 500
    if status == 400 and (getattr(exc, "data", None) or {}).get("messages"):
        status = 422  # malformed JSON body: the contract answers every bad input with 422
    code, message = HTTP_CODES.get(status, ("HTTP_%d" % status, exc.name))
    details = _validation_details(exc) if status == 422 else {}
    if status == 405:
        details = {"allowed": sorted(getattr(exc, "valid_methods", None) or [])}
    resp = error_response(status, code, message, details)
    if status == 405 and getattr(exc, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


def handle_domain(exc: DomainError):
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _is_db_down(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and bool(getattr(exc, "connection_invalidated", False))
    )


def handle_unexpected(exc: Exception):
    original = getattr(exc, "original_exception", None) if isinstance(exc, InternalServerError) else exc
    if isinstance(original, DomainError):
        return handle_domain(original)
    if isinstance(original, HTTPException) and not isinstance(original, InternalServerError):
        return handle_http(original)
    from backend.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the session is discarded at teardown
        log.debug("rollback after error failed", exc_info=True)
    if isinstance(original, (DataError, OverflowError)):
        # a value the database cannot hold (an id past its integer range, say): bad input
        return error_response(422, "VALIDATION_ERROR", "输入值超出范围", {"_value": ["超出范围"]})
    if _is_db_down(original):
        log.warning("database unavailable: %s", original)
        return error_response(503, "SERVICE_UNAVAILABLE", "数据库暂不可用，请稍后再试")
    log.exception("unhandled error", exc_info=original)
    return error_response(500, "INTERNAL_ERROR", "服务器内部错误，请稍后再试")


def register_error_handlers(app) -> None:
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
