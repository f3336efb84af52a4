"""The WeChat client: wechatpy pointed at WECHAT_API_BASE, access_token shared through Redis."""
from __future__ import annotations

import re

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from backend.config import REAL_WECHAT_BASE as REAL_BASE
from backend.errors import PhoneCodeInvalid, WechatCodeInvalid, WechatRateLimited, WechatUnavailable

MAINLAND = re.compile(r"1[3-9][0-9]{9}", re.ASCII)  # as the API's phone fields


class PlatformClient(WeChatClient):
    """WeChatClient whose every URL, token fetch included, starts at a configurable base."""

    def __init__(self, appid, secret, base: str, session=None, timeout=None):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base = base if base.endswith("/") else base + "/"
        self.API_BASE_URL = self.base + "cgi-bin/"
        self.wxa.API_BASE_URL = self.base

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def make_client(config: dict, redis) -> PlatformClient:
    """A client for the configured AppID; the token cache lives in Redis for all processes."""
    return PlatformClient(
        config["WECHAT_APPID"],
        config["WECHAT_SECRET"],
        config["WECHAT_API_BASE"],
        session=RedisStorage(redis, prefix="wechatpy"),
        timeout=config.get("WECHAT_TIMEOUT", 5),
    )


def is_mock(config: dict) -> bool:
    """True when no real AppID is configured (the fake platform answers)."""
    return config["WECHAT_API_BASE"].rstrip("/") + "/" != REAL_BASE


def _platform_error(exc: WeChatClientException, invalid: type, limited: str | None = None):
    """WeChat's error codes as the contract's errors: a bad or used code is `invalid`."""
    if exc.errcode in (40029, 40163):
        return invalid(details={"errcode": exc.errcode})
    if exc.errcode == 45011:
        return WechatRateLimited(limited, details={"errcode": exc.errcode})
    return WechatUnavailable(details={"errcode": exc.errcode})


def code_to_session(client: PlatformClient, code: str) -> dict:
    """code2Session; WeChat's error codes become the contract's errors."""
    params = {"appid": client.appid, "secret": client.secret, "js_code": code, "grant_type": "authorization_code",
              # code2Session authenticates with appid + secret; wechatpy's wxa.code_to_session would attach
              # (and first fetch) an access_token it does not need, making every login depend on the token
              # endpoint. A None value keeps wechatpy from adding one and requests from sending it.
              "access_token": None}
    try:
        return client.get(client.base + "sns/jscode2session", params=params)
    except WeChatClientException as exc:
        raise _platform_error(exc, WechatCodeInvalid)
    except (requests.RequestException, OSError):
        raise WechatUnavailable(details={"errcode": -1})


def phone_number(client: PlatformClient, code: str) -> str:
    """getPhoneNumber: the mainland number a getPhoneNumber button's one-time code stands for.
    wechatpy has no wrapper for it; its client still adds (and renews) the access_token."""
    try:
        data = client.post(client.base + "wxa/business/getuserphonenumber", data={"code": code})
    except WeChatClientException as exc:
        raise _platform_error(exc, PhoneCodeInvalid, "请求过于频繁，请稍后再试")
    except (requests.RequestException, OSError, redis.RedisError):  # the shared token lives in Redis
        raise WechatUnavailable(details={"errcode": -1})
    info = data.get("phone_info") or {}
    phone = str(info.get("purePhoneNumber") or "")
    if str(info.get("countryCode", "86")) != "86" or not MAINLAND.fullmatch(phone):
        raise PhoneCodeInvalid("仅支持中国大陆手机号", details={"country_code": info.get("countryCode")})
    return phone
