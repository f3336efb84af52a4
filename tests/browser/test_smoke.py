"""The mock's pages load, speak Chinese, and each demo identity lands on its own home page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from backend.extensions import db
from backend.seed import seed_demo


def test_mock_is_served_with_its_files(live):
    index = requests.get(live + "/mock/")
    assert index.status_code == 200 and "社区党建" in index.text
    assert requests.get(live + "/mock", allow_redirects=False).status_code == 308
    js = requests.get(live + "/mock/js/main.js")
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(live + "/mock/vendor/jsQR.js").status_code == 200
    assert requests.get(live + "/mock/../backend/config.py").status_code == 404


def test_login_page_renders_chinese(phone):
    p = phone("visitor")
    page = p.open("#/login")
    page.wait_for_selector("[data-test=demo-member]")
    assert "演示身份" in page.inner_text("body")
    assert page.inner_text("[data-test=demo-staff]").startswith("社区干事王芳")
    # the font is there: a CJK glyph is as wide as two Latin letters, not an empty box
    widths = page.evaluate("""() => {
        const c = document.createElement('canvas').getContext('2d');
        c.font = '16px "WenQuanYi Micro Hei"';
        return [c.measureText('党').width, c.measureText('ab').width];
    }""")
    assert widths[0] > 12
    p.shot("login")


HOMES = [  # login code, its home page, what must show there
    ("demo-member", "#/me", "[data-test=report-status]", "我的报到"),
    ("demo-resident", "#/me", "[data-test=report-status]", "双报到"),
    ("demo-staff", "#/staff", "[data-test=community-name]", "幸福里社区"),
    ("demo-unit", "#/unit", "h2", "在职党员报到情况"),
    ("demo-street", "#/street", "[data-test=period]", None),
    ("demo-admin", "#/street", "[data-test=street]", "东湖街道"),
]


def test_each_demo_login_lands_on_its_home(phone):
    """The demo city of `make run`: every identity button logs in and lands on its role's home."""
    assert seed_demo()  # slow-ish, so once for all six identities
    db.session.commit()
    for code, hash_, marker, text in HOMES:
        p = phone(code)
        page = p.open("#/login")
        page.click(f"[data-test=demo-{code[5:]}]")
        page.wait_for_function("h => location.hash === h", arg=hash_)
        p.settle()
        el = page.wait_for_selector(marker)
        if text:
            assert text in el.inner_text(), code
        assert page.evaluate("() => localStorage.getItem('mock.token')")
        p.shot("home")
    # a member may switch identity and log out
    page.click("[data-test=who]")
    page.wait_for_selector("[data-test=logout]").click()
    page.wait_for_function("() => location.hash === '#/login' && !localStorage.getItem('mock.token')")


def test_bad_code_shows_the_api_message(phone, wechat):
    wechat.fail("/sns/jscode2session", 40029)
    p = phone("visitor")
    page = p.open("#/login")
    page.fill("[data-test=login-code]", "whoever")
    page.click("[data-test=login-submit]")
    error = page.wait_for_selector("[data-test=login-error] [data-test=error]")
    assert "code" in error.inner_text().lower() or "登录" in error.inner_text() or "无效" in error.inner_text()
    assert page.evaluate("() => location.hash") == "#/login"
    # the error's details (WeChat's errcode) are data, not a message to put under an input
    assert page.locator(".field-error").count() == 0
    p.shot("login-error")


def test_pages_need_a_login(phone):
    page = phone("visitor").open("#/points")
    page.wait_for_function("() => location.hash === '#/login'")


def test_a_page_left_while_loading_does_not_spill_into_the_next(phone):
    """Tapping on before a page has loaded: the late answer fills the old page, not the new one."""
    p = phone("member")
    page = p.login("member")
    p.go("#/scan")
    held = []
    page.route("**/api/v1/me", lambda route: held.append(route))  # hold the home page's GET /me unanswered
    with page.expect_request("**/api/v1/me"):
        page.evaluate("() => { location.hash = '#/me'; }")
    p.go("#/points")
    assert page.locator("[data-test=balance]").count() == 1
    with page.expect_request("**/api/v1/me/consents"):  # the home page goes on rendering...
        held[0].continue_()
    p.settle()
    assert page.locator("[data-test=greeting]").count() == 0  # ...but not into this one
    assert page.evaluate("() => document.querySelectorAll('#view > .page').length") == 1
    page.unroute("**/api/v1/me")


def test_new_task_with_the_default_times_can_be_claimed_at_once(phone, city, client, login):
    """The README's demo: staff types only a title and a place; the task starts soon, but not so
    soon that a member cannot claim it first."""
    p = phone("staff")
    page = p.login("staff1")
    p.go("#/staff/new-task")
    page.fill("[data-test=task-title]", "默认时间的任务")
    page.fill("[data-test=task-place]", "社区广场")
    page.click("[data-test=task-submit]")
    page.wait_for_function("() => /^#\\/staff\\/tasks\\/\\d+$/.test(location.hash)")
    task_id = int(page.evaluate("() => location.hash").rsplit("/", 1)[1])
    task = client.get(f"/api/v1/tasks/{task_id}", headers=login("member")).get_json()
    starts, ends = (datetime.fromisoformat(task[k]) for k in ("starts_at", "ends_at"))
    assert timedelta(minutes=9) < starts - datetime.now(timezone.utc) <= timedelta(minutes=15)
    assert ends - starts == timedelta(hours=1)
    assert client.post(f"/api/v1/tasks/{task_id}/claims", headers=login("member")).status_code == 201



def test_pages_call_only_the_public_api(client):
    """Every API path written in the pages' JavaScript is one the OpenAPI document publishes:
    no private shortcuts. Page routes (route("/x") and "#/x" links) are not API paths."""
    import re

    from tests.conftest import ROOT

    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    public = [re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p))) for p in spec]
    sources = {js.name: js.read_text() for js in (ROOT / "miniprogram-mock" / "web" / "js").glob("*.js")}
    everything = "\n".join(sources.values())
    pages = set(re.findall(r'route\("([^"]+)"', everything)) | set(re.findall(r'"#(/[^"?]*)', everything))
    unknown, checked = [], 0
    for name, source in sorted(sources.items()):
        for literal in re.findall(r"""[`"](/[a-z][^`"\s]*)[`"]""", source):
            if literal in pages or literal == "/api/v1":  # the base itself
                continue
            checked += 1
            path = "/api/v1" + re.sub(r"\$\{[^}]+\}", "X", literal)
            end = "" if literal.endswith("/") else "$"  # "/tasks/" + id: a prefix
            if not any(re.match(p.pattern + end, path) for p in public):
                unknown.append(f"{name}: {literal}")
    assert checked > 40 and not unknown, unknown
