"""backend.db helpers that the hot paths lean on."""
from sqlalchemy import String, create_engine, event, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from backend.db import attach_written


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
