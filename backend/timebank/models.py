"""Ledger tables: accounts (each the head of its own hash chain), transfers (append-only,
hash-chained per account), remembered failures of idempotent requests, per-community policies."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, event, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow
from backend.timebank.errors import AppendOnlyViolation

WALLET = "wallet"        # one per person, city-wide; never negative
ISSUANCE = "issuance"    # per community: points enter from here (negative balance)
REWARDS = "rewards"      # per community: redemptions land here
EXPIRY = "expiry"        # per community: expired points land here
COMMUNITY_KINDS = (ISSUANCE, REWARDS, EXPIRY)
ACCOUNT_KINDS = (WALLET, *COMMUNITY_KINDS)

TRANSFER_KINDS = ("earn", "redeem", "donate", "reverse", "expire", "adjust", "close")
GENESIS = "0" * 64


class Account(Base):
    """An account; balance = credits_posted - debits_posted, kept exact under row locks."""

    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    no_negative: Mapped[bool] = mapped_column(default=False)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    # Running totals for the summary (O(1) reads): earnings in net of their reversals, and
    # redemptions out net of theirs. Kept by every posting; verify() recomputes them.
    earned_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    spent_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # The hash of the last transfer that touched this account (see chain.py).
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS, server_default=GENESIS)
    __table_args__ = (
        CheckConstraint("kind IN ('wallet', 'issuance', 'rewards', 'expiry')", name="kind"),
        # The database itself refuses an overdrawn wallet, whatever code path tries it.
        CheckConstraint("NOT no_negative OR credits_posted >= debits_posted", name="no_negative"),
        CheckConstraint("debits_posted >= 0 AND credits_posted >= 0", name="posted_non_negative"),
        Index("uq_ledger_accounts_wallet", "user_id", unique=True,
              postgresql_where=text("kind = 'wallet'"), sqlite_where=text("kind = 'wallet'")),
        # A person's wallet by (user_id, kind) whatever the plan: a prepared statement's generic
        # plan cannot prove `kind = $n` implies the partial index's predicate and read every account.
        Index("ix_ledger_accounts_user", "user_id", "kind"),
        Index("uq_ledger_accounts_community", "community_id", "kind", unique=True,
              postgresql_where=text("community_id IS NOT NULL"), sqlite_where=text("community_id IS NOT NULL")),
    )

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted


class Transfer(Base):
    """One immutable movement of points from the debit account to the credit account."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    ref_type: Mapped[str | None] = mapped_column(String(40))
    ref_id: Mapped[int | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    memo: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # digest of the request, for retries
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))  # unique where set
    debit_balance_after: Mapped[int] = mapped_column(BigInteger)
    credit_balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The heads of the two accounts' chains before this transfer, and its own hash (chain.py).
    debit_prev_hash: Mapped[str] = mapped_column(String(64), server_default="")
    credit_prev_hash: Mapped[str] = mapped_column(String(64), server_default="")
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint("kind IN ('earn', 'redeem', 'donate', 'reverse', 'expire', 'adjust', 'close')", name="kind"),
        Index("ix_transfers_debit", "debit_account_id", "id"),
        Index("ix_transfers_credit", "credit_account_id", "id"),
        Index("ix_transfers_debit_created", "debit_account_id", "created_at"),
        # a wallet's earnings in a period as an index-only scan (feedback's points_earned)
        Index("ix_transfers_credit_created", "credit_account_id", "created_at",
              postgresql_include=["kind", "amount"]),
        # no (ref_type, ref_id) index: nothing looks transfers up by reference (an earning's
        # exactly-once check goes through its idempotency key), and each index costs every posting
        # a transfer is reversed at most once; the many rows that reverse nothing are not indexed
        Index("uq_transfers_reverses_id", "reverses_id", unique=True,
              postgresql_where=text("reverses_id IS NOT NULL"), sqlite_where=text("reverses_id IS NOT NULL")),
    )


class LedgerFailure(Base):
    """The outcome of an idempotent request that failed, so the key stays failed."""

    __tablename__ = "ledger_failures"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimebankPolicy(Base):
    """Per-community rules: a daily earning cap per person, an optional expiry of points."""

    __tablename__ = "timebank_policies"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    daily_cap: Mapped[int | None] = mapped_column()
    expiry_months: Mapped[int | None] = mapped_column()
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@event.listens_for(Transfer, "before_update")
@event.listens_for(Transfer, "before_delete")
def _append_only(mapper, connection, target):
    """ORM guard: a transfer is never changed or removed; correct it with a reversal."""
    raise AppendOnlyViolation(f"transfers are append-only (transfer {target.id})")
