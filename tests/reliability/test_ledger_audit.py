"""Ledger audit: a seeded random workload of donations through the API, from concurrent
clients, with retries, replayed keys and keys reused with another body; afterwards every wallet,
the transfer count and /admin/ledger/verify are checked against a model.

LEDGER_AUDIT_SEED replays a run (the seed is printed); LEDGER_AUDIT_OPS sets its size (10,000)."""
from __future__ import annotations

import os
import random
import threading
import time
from collections import defaultdict

import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.seed import user_for
from tests.helpers import needs_pg
from tests.reliability.foreign import token_for
from tests.reliability.helpers import fund

pytestmark = [pytest.mark.slow, needs_pg]
OPS = int(os.environ.get("LEDGER_AUDIT_OPS", 10_000))
CLIENTS = 4
PEOPLE = 12
START = 300
SHARED_KEYS = 300  # keys every client may send (a retry from another phone): one transfer each


def _body(rnd: random.Random, ids: list[int]) -> tuple[int, dict]:
    a, b = rnd.sample(ids, 2)
    return a, {"to_user_id": b, "amount": rnd.choice([1, 2, 5, 10, 25, 60, 150]), "memo": "审计"}


def test_random_workload_matches_the_model(app, city, capsys):
    seed = int(os.environ.get("LEDGER_AUDIT_SEED", random.randrange(2**32)))
    with capsys.disabled():
        print(f"\nledger audit: LEDGER_AUDIT_SEED={seed} LEDGER_AUDIT_OPS={OPS}")
    people = [user_for(f"audit-{i}", name=f"审计{i}") for i in range(PEOPLE)]
    db.session.commit()
    ids = [p.id for p in people]
    fund(city.c1.id, ids, START)
    headers = {p.id: token_for(p) for p in people}
    admin = token_for(city.admin)
    shared_rnd = random.Random(seed)
    shared = {f"shared-{seed}-{k}": _body(shared_rnd, ids) for k in range(SHARED_KEYS)}
    answers: dict[str, list] = defaultdict(list)  # key -> [(status, transfer id or error code)]
    sent: dict[str, tuple] = {}  # key -> (from, body) of the key's first body
    lock = threading.Lock()
    errors = []

    def send(client, sender, key, body):
        for attempt in range(6):  # a client retries what it could not hear the answer to
            resp = client.post("/api/v1/transfers", json=body,
                               headers={**headers[sender], "Idempotency-Key": key})
            if resp.status_code not in (502, 503, 504):
                break
            time.sleep(0.05 * (attempt + 1))
        data = resp.get_json(silent=True) or {}
        return resp.status_code, data.get("id") if resp.status_code < 300 else data.get("error", {}).get("code")

    def client_loop(n: int):
        rnd = random.Random(seed * 31 + n)
        client = app.test_client()
        mine = []
        for i in range(OPS // CLIENTS):
            roll = rnd.random()
            try:
                if roll < 0.60 or not mine:
                    key = f"c{n}-{i}-{seed}"
                    sender, body = _body(rnd, ids)
                    with lock:
                        sent[key] = (sender, body)
                    mine.append(key)
                elif roll < 0.75:
                    key = rnd.choice(mine)  # the same key and body again: the first answer, nothing moves
                    sender, body = sent[key]
                elif roll < 0.80:
                    key = rnd.choice(mine)  # the same key with another amount: refused, nothing moves
                    sender, body = sent[key]
                    status, code = send(client, sender, key, {**body, "amount": body["amount"] + 1})
                    if status < 300 or status >= 500:
                        errors.append(f"{key} reused with another body -> {status} {code}")
                    continue
                elif roll < 0.95:
                    key = rnd.choice(list(shared))
                    sender, body = shared[key]
                    with lock:
                        sent.setdefault(key, (sender, body))
                else:
                    who = rnd.choice(ids)
                    resp = client.get("/api/v1/me/account", headers=headers[who])
                    if resp.status_code != 200 or resp.get_json()["balance"] < 0:
                        errors.append(f"account of {who} -> {resp.status_code} {resp.get_json()}")
                    continue
                status, ref = send(client, sender, key, body)
                with lock:
                    answers[key].append((status, ref))
            except Exception as exc:  # recorded and failed below, with the seed
                errors.append(f"op {n}/{i}: {exc!r}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"seed {seed}: " + "\n".join(errors[:20])

    accepted = {}
    for key, got in answers.items():
        assert len(set(got)) == 1, f"seed {seed}: key {key} answered differently: {got}"
        status, ref = got[0]
        assert status in (201, 409), f"seed {seed}: key {key} -> {got[0]}"
        if status == 201:
            accepted[key] = sent[key]
        else:
            assert ref == "INSUFFICIENT_BALANCE", f"seed {seed}: {key} -> {ref}"
    model = {i: START for i in ids}
    for sender, body in accepted.values():
        model[sender] -= body["amount"]
        model[body["to_user_id"]] += body["amount"]
    client = app.test_client()
    actual = {i: client.get("/api/v1/me/account", headers=headers[i]).get_json()["balance"] for i in ids}
    assert actual == model, f"seed {seed}"
    db.session.expire_all()
    donations = db.session.execute(text("SELECT count(*) FROM transfers WHERE kind = 'donate'")).scalar()
    assert donations == len(accepted), f"seed {seed}"
    verify = client.get("/api/v1/admin/ledger/verify", headers=admin).get_json()
    assert verify["ok"] is True and verify["imbalance"] == 0, f"seed {seed}: {verify}"
    assert len(accepted) > OPS // 10  # the workload moved points, not only refusals
