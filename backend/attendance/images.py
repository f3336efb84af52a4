"""Pictures of a check-in code: a QR code (PNG or SVG, with `qrcode`) or a 小程序码 from WeChat."""
from __future__ import annotations

import io
import logging

import qrcode
import qrcode.image.svg
import requests
from wechatpy.exceptions import WeChatClientException

from backend.errors import WechatUnavailable

log = logging.getLogger(__name__)
SCAN_PAGE = "pages/checkin/index"  # the mini-program page that reads `scene` and posts the check-in


def qr_png(code: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(code, box_size=10, border=4).save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(code: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4).save(buf)
    return buf.getvalue()


def wxacode_png(client, code: str, page: str = SCAN_PAGE) -> bytes:
    """wxacode.getUnlimited through wechatpy with the code as scene; WechatUnavailable on failure."""
    try:
        resp = client.wxa.get_wxa_code_unlimited(scene=code, page=page)
    except WeChatClientException as exc:
        raise WechatUnavailable("小程序码生成失败", details={"errcode": exc.errcode})
    except (requests.RequestException, OSError):
        raise WechatUnavailable("小程序码生成失败", details={"errcode": -1})
    data = getattr(resp, "content", resp)
    if not isinstance(data, bytes) or not data.startswith(b"\x89PNG"):
        raise WechatUnavailable("小程序码生成失败", details={"errcode": -1})
    return data


def render(code: str, *, fmt: str = "png", kind: str | None = None, client=None, real_appid: bool = False) -> tuple[bytes, str]:
    """(bytes, mimetype) of the picture of a code.

    kind="wxacode", or a real AppID with no kind asked, fetches a 小程序码 from WeChat; when
    that was not asked for explicitly and WeChat fails, the plain QR code stands in."""
    if fmt == "svg":
        return qr_svg(code), "image/svg+xml"
    if kind == "wxacode" or (kind is None and real_appid):
        try:
            return wxacode_png(client, code), "image/png"
        except WechatUnavailable:
            if kind == "wxacode":
                raise
            log.warning("wxacode failed, serving a plain QR code", exc_info=True)
    return qr_png(code), "image/png"
