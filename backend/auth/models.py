"""Users and their scoped roles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow

ROLES = ("resident", "member", "staff", "unit_admin", "street_admin", "admin")
# Which scope column each role needs (None: unscoped).
ROLE_SCOPE = {
    "resident": None,
    "member": "community_id",
    "staff": "community_id",
    "unit_admin": "unit_id",
    "street_admin": "street_id",
    "admin": None,
}


class User(Base):
    """A WeChat user of the mini-program. session_key never leaves the server."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(128), unique=True)
    session_key: Mapped[str | None] = mapped_column(String(128))
    nickname: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    # The number WeChat vouched for (getPhoneNumber), and when: a report naming it is verified.
    verified_phone: Mapped[str | None] = mapped_column(String(20))
    phone_verified_at: Mapped[datetime | None] = mapped_column()
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    roles: Mapped[list["RoleGrant"]] = relationship(
        primaryjoin="and_(User.id == RoleGrant.user_id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def display_name(self) -> str:
        """What others are shown: the real name, else the WeChat nickname; never the phone."""
        return self.name or self.nickname


class RoleGrant(Base):
    """One scoped role of one user; revoked rows are kept as history."""

    __tablename__ = "role_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (Index("ix_role_grants_scope", "role", "community_id", "unit_id", "street_id"),)

    def as_dict(self) -> dict:
        out = {"role": self.role}
        scope = ROLE_SCOPE.get(self.role)
        if scope:
            out[scope] = getattr(self, scope)
        return out
