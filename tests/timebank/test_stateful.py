"""Property-based: random earn, donate, redeem, reverse and retries against a simple model."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text

from backend.errors import DomainError
from backend.extensions import db
from backend.rewards import services as rewards
from backend.rewards.models import Reward
from backend.timebank import ddl, idempotency, service
from backend.timebank.earn import award
from backend.timebank.models import Account
from backend.timebank.verify import verify
from tests.helpers import ON_PG

LEDGER_TABLES = ["redemptions", "ledger_failures", "transfers", "ledger_accounts", "rewards"]
PRICE = 7


def wipe_ledger() -> None:
    db.session.rollback()
    if ON_PG:  # DELETE is much faster than TRUNCATE on tiny tables; triggers off for this transaction
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        for table in LEDGER_TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
    else:
        for name in ("transfers_no_update", "transfers_no_delete"):
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for table in LEDGER_TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
        for stmt in ddl.DDL["sqlite"]:
            db.session.execute(text(stmt))
    db.session.commit()


def attempt(fn):
    """One request: commit on success; on failure roll back and remember it, as the API does.
    Returns ("ok", value) or ("fail", code)."""
    try:
        value = fn()
        db.session.commit()
        return "ok", value
    except DomainError as exc:
        db.session.rollback()
        if getattr(exc, "idempotency", None):
            idempotency.record_failure(db.session, *exc.idempotency, exc)
            db.session.commit()
        return "fail", exc.code


def test_ledger_against_a_model(city):
    users = [city.member.id, city.member2.id, city.resident.id, city.staff2.id]
    community, actor = city.c1.id, city.staff1.id

    class Ledger(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            wipe_ledger()
            r = Reward(community_id=community, name="毛巾", points=PRICE, stock=3)
            db.session.add(r)
            db.session.commit()
            self.reward_id = r.id
            self.stock = 3
            self.bal = {u: 0 for u in users}
            self.system = 0            # issuance + rewards accounts, together
            self.refs = set()          # earn references already posted
            self.keys = {}             # key -> (request, outcome)
            self.transfers = []        # [(id, kind, debit_owner, credit_owner, amount)]
            self.reversed = set()
            self.last_donation = None

        def _move(self, debit, credit, amount):
            for owner, delta in ((debit, -amount), (credit, amount)):
                if owner == "system":
                    self.system += delta
                else:
                    self.bal[owner] += delta

        @rule(user=st.sampled_from(range(4)), amount=st.integers(1, 30), ref=st.integers(0, 12))
        def earn(self, user, amount, ref):
            uid = users[user]
            status, got = attempt(lambda: award(db.session, community_id=community, actor_id=actor, entries=[
                {"user_id": uid, "amount": amount, "ref_type": "prop", "ref_id": ref, "memo": ""}]))
            if ref in self.refs:
                assert (status, got) == ("ok", (0, 0))
                return
            assert (status, got) == ("ok", (1, amount))
            self.refs.add(ref)
            self._move("system", uid, amount)
            t = db.session.scalar(text("SELECT id FROM transfers WHERE idempotency_key = :k"),
                                  {"k": f"earn:prop:{ref}"})
            self.transfers.append((t, "earn", "system", uid, amount))

        @rule(a=st.sampled_from(range(4)), b=st.sampled_from(range(4)), amount=st.integers(1, 40),
              key=st.sampled_from(["k0", "k1", "k2", "k3"]))
        def donate(self, a, b, amount, key):
            self._donate(users[a], users[b], amount, key)

        @rule()
        def retry_last_donation(self):
            if self.last_donation:
                self._donate(*self.last_donation)

        def _donate(self, frm, to, amount, key):
            full = f"donate:{frm}:{key}"
            status, got = attempt(lambda: service.donate(db.session, from_user_id=frm, to_user_id=to, amount=amount,
                                                         memo="", idempotency_key=full).id)
            if frm == to:
                assert (status, got) == ("fail", "VALIDATION_ERROR")
                return
            self.last_donation = (frm, to, amount, key)
            request = (frm, to, amount)
            if full in self.keys:
                first_request, first_outcome = self.keys[full]
                expected = first_outcome if first_request == request else ("fail", "IDEMPOTENCY_MISMATCH")
                assert (status, got) == expected
                return
            if self.bal[frm] >= amount:
                assert status == "ok", got
                self._move(frm, to, amount)
                self.transfers.append((got, "donate", frm, to, amount))
            else:
                assert (status, got) == ("fail", "INSUFFICIENT_BALANCE")
            self.keys[full] = (request, (status, got))

        @rule(user=st.sampled_from(range(4)), key=st.sampled_from(["r0", "r1", "r2"]))
        def redeem(self, user, key):
            uid = users[user]
            full = rewards.redemption_key(uid, key)
            status, got = attempt(lambda: rewards.redeem(uid, self.reward_id, key)[0].transfer_id)
            if full in self.keys:
                assert (status, got) == self.keys[full][1]
                return
            if self.stock == 0:
                assert (status, got) == ("fail", "OUT_OF_STOCK")
            elif self.bal[uid] < PRICE:
                assert (status, got) == ("fail", "INSUFFICIENT_BALANCE")
            else:
                assert status == "ok", got
                self.stock -= 1
                self._move(uid, "system", PRICE)
                self.transfers.append((got, "redeem", uid, "system", PRICE))
            self.keys[full] = (None, (status, got))

        @rule(pick=st.integers(0, 200))
        def reverse(self, pick):
            if not self.transfers:
                return
            tid, kind, debit, credit, amount = self.transfers[pick % len(self.transfers)]
            status, got = attempt(lambda: service.reverse(db.session, transfer_id=tid, actor_id=actor, reason="r").id)
            if kind == "reverse":
                assert (status, got) == ("fail", "NOT_REVERSIBLE")
            elif tid in self.reversed:
                assert (status, got) == ("fail", "ALREADY_REVERSED")
            elif credit != "system" and self.bal[credit] < amount:
                assert (status, got) == ("fail", "INSUFFICIENT_BALANCE")
            else:
                assert status == "ok", got
                self.reversed.add(tid)
                self._move(credit, debit, amount)
                self.transfers.append((got, "reverse", credit, debit, amount))

        @invariant()
        def balances_match_the_model(self):
            for uid in users:
                assert service.wallet_summary(db.session, uid)["balance"] == self.bal[uid]
                assert self.bal[uid] >= 0
            assert db.session.get(Reward, self.reward_id, populate_existing=True).stock == self.stock
            total = db.session.scalar(select(func.coalesce(func.sum(Account.credits_posted - Account.debits_posted), 0)))
            assert total == 0

        @invariant()
        def ledger_verifies(self):
            report = verify(db.session)
            assert report["ok"], report
            assert report["transfers"] == len(self.transfers)
            db.session.rollback()

    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
