"""backend.db helpers that the hot paths lean on."""
from sqlalchemy import String, create_engine, event, insert, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from backend.db import DriverStatement, attach_written
from backend.extensions import db
from tests.helpers import needs_pg


def _fresh_model():
    """A mapped class in a registry of its own, not yet configured (as every mapper is in a
    newly started gunicorn worker before its first query)."""

    class Base(DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))

    return Base, Thing


def test_an_object_for_a_written_row_is_persistent_without_any_sql():
    Base, Thing = _fresh_model()
    assert Thing.__mapper__.registry._new_mappers  # nothing has configured it yet
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        new_id = session.execute(insert(Thing).values(name="甲")).inserted_primary_key[0]
        statements.clear()

        obj = attach_written(session, Thing, {"id": new_id, "name": "甲"})

        assert obj in session and not session.new and not session.dirty
        assert session.get(Thing, new_id) is obj and obj.name == "甲"
        session.commit()
        assert statements == []  # no SELECT to load it, no INSERT at the commit
        assert [(t.id, t.name) for t in session.query(Thing)] == [(new_id, "甲")]


@needs_pg
def test_driver_statements_share_one_cursor_until_the_connection_is_replaced(app):
    """DriverStatement keeps one psycopg cursor per driver connection; a connection the pool
    replaces (here invalidated, as after a dropped connection) gets a new cursor that works."""
    probe = DriverStatement(text("SELECT CAST(:n AS int) AS n"))
    cursors = []

    def seen(conn, cursor, statement, params, context, executemany):
        cursors.append(cursor)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with app.app_context():
            conn = db.session.connection()
            assert [probe.first(conn, {"n": i}).n for i in (1, 2)] == [1, 2]
            db.session.commit()
            assert probe.first(db.session.connection(), {"n": 3}).n == 3  # checked out again
            assert cursors[0] is cursors[1]
            # the pool may hand out another of its connections: then that one's own cursor
            assert cursors[2] is cursors[0] or cursors[2].connection is not cursors[0].connection
            db.session.connection().invalidate()
            db.session.rollback()
            assert probe.first(db.session.connection(), {"n": 4}).n == 4
            assert cursors[3] is not cursors[0] and not cursors[3].closed
            db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
