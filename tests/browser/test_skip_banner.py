"""Without Chromium the browser tests are skipped, and the run says so in a banner (not only in
a count of skips that nobody reads). Needs no browser itself."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_missing_chromium_is_announced():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env["CHROMIUM_PATH"] = "/nonexistent/chromium"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/browser/test_smoke.py", "-q", "-k", "login_page or pages_need"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 skipped" in run.stdout
    assert "2 BROWSER TESTS SKIPPED: Chromium not found" in run.stdout
    assert "/nonexistent/chromium" in run.stdout
