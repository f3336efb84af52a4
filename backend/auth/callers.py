"""Who is calling: a bearer token's claims checked against the user's row.

Two depths of the same check. `load_user` gives the ORM User (roles read on demand, when a
policy first asks) for handlers that pass the user to rules. `is_live` answers whether the
token still names an open account at its current version, with one single-column Core
SELECT and no ORM identity: the check-in burst uses it, where a scan needs only the id.
Both read the database on every request; nothing about a caller is cached between requests,
so a closed account or a logout (token_version bumped) stops the very next call.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from backend.auth.models import User
from backend.db import DriverStatement

_users = User.__table__
_LIVE = DriverStatement(select(_users.c.id).where(
    _users.c.id == bindparam("uid"), _users.c.token_version == bindparam("v"), _users.c.closed_at.is_(None)))
_ROLES_ON_DEMAND = (lazyload(User.roles),)


def is_live(session: Session, user_id: int, version: int) -> bool:
    """True when user_id exists, is not closed and its tokens are at `version`."""
    return _LIVE.first(session.connection(), {"uid": user_id, "v": version}) is not None


def load_user(session: Session, user_id: int, version: int) -> User | None:
    """The User behind a token, or None when it is gone, closed or the token is outdated."""
    user = session.get(User, user_id, options=_ROLES_ON_DEMAND)
    if user is None or user.closed_at is not None or user.token_version != version:
        return None
    return user
