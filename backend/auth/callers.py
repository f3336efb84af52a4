"""Who is calling: a bearer token's claims checked against the user's row.

Two depths of the same check. `load_user` gives the ORM User (roles read on demand, when a
policy first asks) for handlers that pass the user to rules. `is_live` answers whether the
token still names an open account at its current version, with one single-column Core
SELECT and no ORM identity, for handlers that need only the id (my account, my statement).
Both read the database on every request; nothing about a caller is cached between requests,
so a closed account or a logout (token_version bumped) stops the very next call.

`Claimed` is the third depth, for the hottest paths (a check-in scan, a donation): the token is
verified, and the account is checked by the handler's own first statement (`live_column`),
which saves the request a statement and a round trip. Whatever the handler answers, the
account has been checked before the answer goes out (`Claimed.checked`).
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, lazyload

from backend.auth.models import User
from backend.db import DriverStatement
from backend.errors import AuthRequired

_users = User.__table__
_LIVE = DriverStatement(select(_users.c.id).where(
    _users.c.id == bindparam("uid"), _users.c.token_version == bindparam("v"), _users.c.closed_at.is_(None)))
_ROLES_ON_DEMAND = (lazyload(User.roles),)


def live_column(uid, version):
    """The login check as a column of another statement: true when the account `uid` (a bind
    parameter or column) is open and its tokens are at `version` (a bind parameter)."""
    return exists().where(_users.c.id == uid, _users.c.token_version == version,
                          _users.c.closed_at.is_(None)).label("caller_live")


class Claimed:
    """A caller whose token is verified and whose account is checked by the handler's own
    statement (live_column with `id` and `version`), which reports it with `confirm`."""

    __slots__ = ("id", "version", "live")

    def __init__(self, user_id: int, version: int):
        self.id, self.version, self.live = user_id, version, None

    def confirm(self, live: bool) -> None:
        """What the handler's statement found; AuthRequired when the account is not live."""
        self.live = bool(live)
        if not self.live:
            raise AuthRequired("登录凭证已失效，请重新登录")

    def ensure(self, session: Session) -> None:
        """Check the account with a statement of its own when no handler statement did."""
        if self.live is None:
            self.confirm(is_live(session, self.id, self.version))
        elif not self.live:
            raise AuthRequired("登录凭证已失效，请重新登录")

    @contextmanager
    def checked(self, session: Session):
        """Run the handler in this block: whatever it answers or raises, the account is checked
        before the answer goes out, so a closed account or an outdated token gets 401 first."""
        try:
            yield self
        except AuthRequired:
            raise
        except BaseException:
            self.ensure(session)
            raise
        self.ensure(session)


def ensure_live(user, session: Session) -> None:
    """For a handler that does not check a Claimed caller itself: check it now (others: nothing)."""
    if isinstance(user, Claimed):
        user.ensure(session)


def is_live(session: Session, user_id: int, version: int) -> bool:
    """True when user_id exists, is not closed and its tokens are at `version`."""
    return _LIVE.first(session.connection(), {"uid": user_id, "v": version}) is not None


def load_user(session: Session, user_id: int, version: int) -> User | None:
    """The User behind a token, or None when it is gone, closed or the token is outdated."""
    user = session.get(User, user_id, options=_ROLES_ON_DEMAND)
    if user is None or user.closed_at is not None or user.token_version != version:
        return None
    return user
