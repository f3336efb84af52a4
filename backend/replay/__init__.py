"""Answers remembered under an Idempotency-Key, for writes that have no key of their own.

Donations and redemptions keep their key in the ledger (the transfer or the redemption is
the memory). Other writes that move points (confirming a task, duty logs or visits, reversing
a transfer, cancelling a redemption) and staff's creates (a task, a need, a reward ...) answer
a retry with what the first attempt answered: `backend.api.common.idempotent` stores the
answer here in the same transaction as the write, so it exists exactly when the write does.
"""
