"""Funded wallets for the ledger workloads (earnings posted with the time bank's award())."""
from __future__ import annotations

from datetime import datetime

from bench import product


def funded(n: int, points: int, community_id: int, prefix: str = "bench-w") -> list[int]:
    """n members of the community, each with `points` earned (one award() call)."""
    from backend.extensions import db
    from backend.timebank.earn import award

    ids = product.users(n, f"{prefix}-{datetime.now().timestamp()}", community_id=community_id)
    award(db.session, community_id=community_id, actor_id=None,
          entries=[{"user_id": u, "amount": points, "ref_type": "bench", "ref_id": u, "memo": "压测"} for u in ids])
    db.session.commit()
    return ids


def verify() -> dict:
    from backend.extensions import db
    from backend.timebank.verify import verify as _verify

    out = _verify(db.session)
    db.session.commit()
    return out
