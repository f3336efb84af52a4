"""The picture of a code: PNG decoded back to the same code, SVG, and the 小程序码 from WeChat."""
import io
from datetime import timedelta

import zxingcpp
from PIL import Image

from tests.attendance.conftest import T0
from tests.helpers import error_code


def _decode(png: bytes) -> str:
    return _decode_image(Image.open(io.BytesIO(png)))


def _issue(client, login, task, action="in"):
    return client.get(f"/api/v1/tasks/{task.id}/checkin-code?action={action}", headers=login("staff1")).get_json()


def test_png_decodes_back_to_the_same_code(client, login, clock, make_task):
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task)
    resp = client.get(issued["image_url"])
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert "no-store" in resp.headers["Cache-Control"]
    assert _decode(resp.data) == issued["code"]


def _decode_svg(svg: bytes) -> str:
    """Rasterise qrcode's SVG path (one unit square per dark module) and decode it."""
    import re

    text = svg.decode()
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', text).group(1))
    modules = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", text)
    assert modules
    scale = 8
    img = Image.new("L", (size * scale, size * scale), 255)
    for x, y, x2, y2 in modules:
        img.paste(0, (int(x) * scale, int(y) * scale, int(x2) * scale, int(y2) * scale))
    return _decode_image(img)


def _decode_image(img) -> str:
    [result] = zxingcpp.read_barcodes(img)
    return result.text


def test_svg_on_request_decodes_to_the_same_code(client, login, clock, make_task):
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task, "out")
    resp = client.get(issued["image_url"] + "?format=svg")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert b"<svg" in resp.data and "no-store" in resp.headers["Cache-Control"]
    assert _decode_svg(resp.data) == issued["code"]


def test_wxacode_comes_from_the_platform_with_the_code_as_scene(client, login, clock, make_task, wechat):
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task)
    resp = client.get(issued["image_url"] + "?kind=wxacode")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    [call] = wechat.calls("/wxa/getwxacodeunlimit")
    assert call["body"]["scene"] == issued["code"]
    assert _decode(resp.data) == issued["code"]


def _platform_down(app, monkeypatch):
    """WeChat unreachable: a client whose base URL nothing listens on."""
    import backend.wechat
    from backend.wechat.client import make_client

    down = make_client({**app.config, "WECHAT_API_BASE": "http://127.0.0.1:9/", "WECHAT_TIMEOUT": 1},
                       app.extensions["redis"])
    monkeypatch.setattr(backend.wechat, "client_for", lambda _app: down)


def test_wxacode_failure_is_503_when_asked_for(app, client, login, clock, make_task, monkeypatch):
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task)
    _platform_down(app, monkeypatch)
    resp = client.get(issued["image_url"] + "?kind=wxacode")
    assert resp.status_code == 503 and error_code(resp) == "WECHAT_UNAVAILABLE"


def test_a_real_appid_uses_wxacode_and_falls_back_to_a_plain_qr(app, client, login, clock, make_task, wechat, monkeypatch):
    from backend.wechat import client as wechat_client

    monkeypatch.setattr(wechat_client, "is_mock", lambda config: False)
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task)
    assert client.get(issued["image_url"]).status_code == 200
    assert len(wechat.calls("/wxa/getwxacodeunlimit")) == 1
    _platform_down(app, monkeypatch)
    resp = client.get(issued["image_url"])
    assert resp.status_code == 200 and _decode(resp.data) == issued["code"]


def test_forged_or_expired_codes_get_no_picture(client, login, clock, make_task):
    task = make_task()
    clock(T0)
    issued = _issue(client, login, task)
    forged = issued["code"][:-1] + ("x" if issued["code"][-1] != "x" else "y")
    resp = client.get(f"/api/v1/checkin-codes/{forged}.png")
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    clock(T0 + timedelta(minutes=5))
    resp = client.get(issued["image_url"])
    assert resp.status_code == 410 and error_code(resp) == "CODE_EXPIRED"
    assert client.get(issued["image_url"] + "?format=gif").status_code == 422
