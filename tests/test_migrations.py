"""The Alembic migrations build exactly the schema the models describe, triggers included."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from backend import create_app
from backend.config import TestConfig
from backend.db import Base
from backend.schema import extra_ddl
from tests.helpers import ON_PG


@pytest.fixture
def fresh_url(tmp_path):
    if not ON_PG:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    base = TestConfig.SQLALCHEMY_DATABASE_URI
    name = f"migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models(app, fresh_url, wechat):
    class Migrated(TestConfig):
        SQLALCHEMY_DATABASE_URI = fresh_url
        WECHAT_API_BASE = wechat.url
        REDIS_URL = app.config["REDIS_URL_RESOLVED"]

    migrated = create_app(Migrated)
    with migrated.app_context():
        upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
        from backend.extensions import db

        engine = db.engine
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
            assert diff == [], diff
            if engine.dialect.name == "postgresql":
                triggers = {r[0] for r in conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
            else:
                triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
        import re

        wanted = {m for stmt in extra_ddl(engine.dialect.name) for m in re.findall(r"CREATE TRIGGER (\w+)", stmt)}
        assert wanted <= triggers, wanted - triggers
        assert set(inspect(engine).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
        db.session.remove()
        engine.dispose()
