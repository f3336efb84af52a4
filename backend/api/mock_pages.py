"""The mini-program mock at /mock/: static pages from miniprogram-mock/web (no build step).

They call only the public /api/v1 contract; this blueprint just serves the files.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, redirect, send_from_directory

WEB = Path(__file__).resolve().parent.parent.parent / "miniprogram-mock" / "web"

bp = Blueprint("mock_pages", __name__)


@bp.get("/mock")
def mock_root():
    """The mock's address without the slash."""
    return redirect("/mock/", code=308)


@bp.get("/mock/")
@bp.get("/mock/<path:filename>")
def mock_file(filename: str = "index.html"):
    """A file of the mock (index.html for the bare folder); always revalidated, it changes often."""
    resp = send_from_directory(WEB, filename, max_age=0)
    if filename.endswith(".js"):
        resp.mimetype = "text/javascript"
    resp.headers["Cache-Control"] = "no-cache"
    return resp
