"""Browser fixtures: the real app served on a port, an RQ worker beside it, Chromium at a phone's size.

Every test here is marked `browser`; those that drive Chromium are skipped when it is missing
(/usr/bin/chromium, or the path in $CHROMIUM_PATH), and the run ends with a banner saying so.
Screenshots of each page go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import ROOT, ServerThread

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
# the demo city's first community lies here (Wuhan); tasks in the tests are placed at it too
HERE = {"latitude": 30.5801, "longitude": 114.2734}


SKIP_REASON = (f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium fonts-wqy-microhei, "
               "or set CHROMIUM_PATH)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists() and "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    """Say it loudly: a green run without Chromium has not clicked through a single page."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if SKIP_REASON in str(r.longrepr)]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED: Chromium not found", yellow=True, bold=True)
        terminalreporter.write_line(SKIP_REASON)


@pytest.fixture(scope="session")
def live(app):
    """The app (API and /mock/ pages) on a real port, in a thread."""
    server = ServerThread(app)
    server.start()
    yield server.url.rstrip("/")
    server.stop()


@pytest.fixture
def worker(app):
    """An RQ worker in a background thread, picking up jobs as the pages enqueue them; only for
    the test that asks for it (other tests run their jobs themselves and must find them queued)."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    from backend.jobs import get_queue

    class ThreadWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty  # SIGALRM works only in the main thread

        def _install_signal_handlers(self):
            pass  # signal handlers can only be installed from the main thread

    stop = threading.Event()
    errors: list[BaseException] = []

    def loop():
        while not stop.is_set():
            try:
                with app.app_context():
                    queue = get_queue(app)
                    if queue.count:
                        ThreadWorker([queue], connection=app.extensions["redis"]).work(
                            burst=True, with_scheduler=False, logging_level="WARNING")
            except Exception as exc:  # keep serving later jobs; the test sees the job fail
                errors.append(exc)
            stop.wait(0.2)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield errors
    stop.set()
    thread.join(30)
    assert not thread.is_alive(), "the worker thread did not stop"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # the UI locale (date and time pickers) follows LANGUAGE, drawn from Debian's chromium-l10n
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--lang=zh-CN"],
            env={**os.environ, "LANGUAGE": "zh_CN"})
        yield b
        b.close()


class Phone:
    """One person's phone: a browser context at 375×812 with the mock open, and screenshots."""

    def __init__(self, browser, base: str, who: str, test_name: str):
        self.context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
            timezone_id="Asia/Shanghai", geolocation=HERE, permissions=["geolocation"], accept_downloads=True)
        self.context.set_default_timeout(15000)
        self.page = self.context.new_page()
        self.base = base
        self.who = who
        self.test_name = test_name
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    def open(self, hash_: str = "#/login"):
        self.page.goto(f"{self.base}/mock/{hash_}")
        return self.page

    def go(self, hash_: str):
        """Navigate inside the single-page app and wait until the page's data has loaded."""
        if self.page.evaluate("() => location.hash") == hash_:
            self.page.reload()  # the same hash again: no hashchange, so load the page afresh
        else:
            self.page.evaluate("h => { location.hash = h; }", hash_)
        self.page.wait_for_function("h => location.hash === h && document.body.dataset.page", arg=hash_)
        self.settle()
        return self.page

    def settle(self):
        """Wait until the current page has rendered and none of its sections is still loading."""
        self.page.wait_for_function("() => document.querySelector('#view > .page[data-rendered]')"
                                    " && !document.querySelector('[data-test=loading]')")

    def login(self, code: str):
        """Log in as a typed wx.login code (stands in for wx.login) and land on the home page."""
        self.open("#/login")
        self.page.fill("[data-test=login-code]", code)
        self.page.click("[data-test=login-submit]")
        self.page.wait_for_function("() => !location.hash.startsWith('#/login') && !location.hash.startsWith('#/home')")
        self.settle()
        return self.page

    def shot(self, name: str):
        """The whole page as a person scrolling would see it: the viewport is stretched to the
        page's height for the picture, so the sticky tab bar lies at the bottom, not across
        the middle as in a full_page screenshot."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", f"{self.test_name}-{self.who}-{name}")
        height = self.page.evaluate("() => document.documentElement.scrollHeight")
        if height > PHONE["height"]:
            self.page.set_viewport_size({"width": PHONE["width"], "height": height})
        try:
            self.page.screenshot(path=str(SHOTS / f"{safe}.png"))
        finally:
            if height > PHONE["height"]:
                self.page.set_viewport_size(PHONE)

    def close(self):
        self.context.close()


@pytest.fixture
def phone(browser, live, request):
    """phone("member") -> a fresh Phone; all are closed after the test."""
    phones: list[Phone] = []

    def make(who: str) -> Phone:
        p = Phone(browser, live, who, request.node.originalname)
        phones.append(p)
        return p

    yield make
    for p in phones:
        assert not p.console_errors, f"JavaScript errors on {p.who}'s phone: {p.console_errors}"
        p.close()


@pytest.fixture
def claimed_task(city, client, login):
    """A task of c1 starting in 30 minutes (check-in is open), claimed by city.member."""
    starts = datetime.now(timezone.utc) + timedelta(minutes=30)
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", headers=login("staff1"), json={
        "title": "离线签到测试", "description": "", "category": "便民服务", "capacity": 3, "points_per_hour": 10,
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "location": {"name": "活动室", "lat": HERE["latitude"], "lng": HERE["longitude"]}, "skills": []})
    assert resp.status_code == 201, resp.get_json()
    task_id = resp.get_json()["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claims", headers=login("member")).status_code == 201
    return task_id


@pytest.fixture
def reported_member(city):
    """city.member's 双报到 to c1 (unit u1) as 张卫国, approved by staff1: the community's approved
    member that staff pages offer to pick."""
    from backend.extensions import db
    from backend.reports.services import decide_member_report, file_member_report

    report = file_member_report(city.member, community_id=city.c1.id, unit_id=city.u1.id, name="张卫国",
                                phone="13800138001")
    decide_member_report(city.staff1, report.id, True)
    db.session.commit()
    return report
