"""The ledger's domain errors (mapped to the contract's JSON by the API layer)."""
from __future__ import annotations

from backend.errors import error

InsufficientBalance = error(409, "INSUFFICIENT_BALANCE", "积分余额不足")
IdempotencyMismatch = error(409, "IDEMPOTENCY_MISMATCH", "该幂等键已用于另一个不同的请求")
AlreadyReversed = error(409, "ALREADY_REVERSED", "该笔流水已被冲正")
AccountClosed = error(409, "ACCOUNT_CLOSED", "积分账户已注销")
NotReversible = error(409, "NOT_REVERSIBLE", "冲正流水不能再被冲正")


class AppendOnlyViolation(RuntimeError):
    """Someone tried to UPDATE or DELETE a transfer through the ORM."""
