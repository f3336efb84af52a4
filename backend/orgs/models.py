"""Streets, communities, grids and employer units."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow


class Street(Base):
    """街道: oversees several communities."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    district: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Community(Base):
    """社区: where members report in and tasks happen."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    district: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    street: Mapped[Street] = relationship(lazy="joined")
    __table_args__ = (UniqueConstraint("street_id", "name"),)


class Grid(Base):
    """网格: a part of a community."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("community_id", "name"),)


class Unit(Base):
    """在职党员的工作单位 (employer unit) and its party organisation."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50), default="")
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
