"""The WeChat client: wechatpy pointed at WECHAT_API_BASE, access_token shared through Redis."""
from __future__ import annotations

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from backend.config import REAL_WECHAT_BASE as REAL_BASE
from backend.errors import WechatCodeInvalid, WechatRateLimited, WechatUnavailable


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
        if exc.errcode in (40029, 40163):
            raise WechatCodeInvalid(details={"errcode": exc.errcode})
        if exc.errcode == 45011:
            raise WechatRateLimited(details={"errcode": exc.errcode})
        raise WechatUnavailable(details={"errcode": exc.errcode})
    except (requests.RequestException, OSError):
        raise WechatUnavailable(details={"errcode": -1})
