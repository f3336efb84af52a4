"""Test helpers importable from any test module."""
import os

import pytest

ON_PG = bool(os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"))
needs_pg = pytest.mark.skipif(not ON_PG, reason="needs PostgreSQL (set TEST_DATABASE_URL)")


def error_code(resp) -> str:
    """The contract's error code of a response."""
    return resp.get_json()["error"]["code"]
