"""The time bank: a double-entry ledger of 公益积分. Knows nothing of Flask or HTTP.

Every function takes a SQLAlchemy Session; callers own the transaction (services flush,
the request boundary commits). See README.md in this folder for the guarantees.
"""
