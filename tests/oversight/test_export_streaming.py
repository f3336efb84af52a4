"""The 台账 builder streams: the rows come from the database CHUNK at a time (yield_per, a
server-side cursor on PostgreSQL) straight into the file, with progress as it goes."""
from __future__ import annotations

import csv
from types import SimpleNamespace

from sqlalchemy import event

from backend.auth.models import User
from backend.extensions import db
from backend.oversight import ledger_exports
from backend.timebank import earn


def test_transfers_are_streamed_in_chunks_with_progress(city, tmp_path, monkeypatch):
    people = [User(openid=f"s-{i}", nickname=f"志愿者{i}") for i in range(50)]
    db.session.add_all(people)
    db.session.flush()
    earn.award(db.session, community_id=city.c1.id, actor_id=city.staff1.id, entries=[
        {"user_id": u.id, "amount": i + 1, "ref_type": "test", "ref_id": i, "memo": "=1+1"}
        for i, u in enumerate(people)])
    db.session.commit()
    monkeypatch.setattr(ledger_exports, "CHUNK", 7)
    monkeypatch.setattr(ledger_exports, "PROGRESS_EVERY", 10)
    job = SimpleNamespace(params={"kind": "transfers", "format": "csv", "period": None}, scope_type="community",
                          scope_id=city.c1.id, requester_id=city.staff1.id)
    streamed, progress = [], []

    def note(conn, cursor, statement, params, context, executemany):
        opts = context.execution_options
        if opts.get("stream_results"):
            streamed.append((opts.get("yield_per"), "ServerCursor" in type(cursor).__name__))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        name = ledger_exports.build(job, str(tmp_path / "out.csv"), progress.append)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert name.endswith("积分流水-全部.csv")
    assert len(streamed) == 1 and streamed[0][0] == 7
    if db.engine.dialect.name == "postgresql":
        assert streamed[0][1] is True  # a named (server-side) cursor: PostgreSQL sends the rows in batches
    assert progress == [20, 40, 60, 80, 99]
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 51 and [int(r[3]) for r in rows[1:]] == list(range(1, 51))
    assert {r[6] for r in rows[1:]} == {"'=1+1"}  # a memo that Excel would run is quoted
