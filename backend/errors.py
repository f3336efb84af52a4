"""Domain errors: raised by services, mapped to the contract's JSON once in api/errors.py."""
from __future__ import annotations


class DomainError(Exception):
    """A rule was broken. Subclasses set status, code and a Chinese message."""

    status = 400
    code = "BAD_REQUEST"
    message = "请求有误"

    def __init__(self, message: str | None = None, details: dict | None = None, **kw):
        self.message = message or self.message
        self.details = details or {}
        for k, v in kw.items():
            setattr(self, k, v)
        super().__init__(self.message)


def error(status: int, code: str, message: str) -> type[DomainError]:
    """Declare a DomainError subclass in one line."""
    name = "".join(p.capitalize() for p in code.split("_"))
    return type(name, (DomainError,), {"status": status, "code": code, "message": message})


AuthRequired = error(401, "AUTH_REQUIRED", "请先登录")
Forbidden = error(403, "FORBIDDEN", "无权进行此操作")
NotFound = error(404, "NOT_FOUND", "对象不存在")
ValidationFailed = error(422, "VALIDATION_ERROR", "输入有误")
Conflict = error(409, "CONFLICT", "操作冲突")
InvalidState = error(409, "INVALID_STATE", "当前状态不允许此操作")
WechatCodeInvalid = error(401, "WECHAT_CODE_INVALID", "微信登录凭证无效，请重新登录")
PhoneCodeInvalid = error(422, "PHONE_CODE_INVALID", "手机号授权凭证无效或已使用，请重新授权")
WechatRateLimited = error(429, "WECHAT_RATE_LIMITED", "登录过于频繁，请稍后再试")
WechatUnavailable = error(503, "WECHAT_UNAVAILABLE", "微信服务暂不可用，请稍后再试")
ServiceUnavailable = error(503, "SERVICE_UNAVAILABLE", "服务暂不可用，请稍后再试")
