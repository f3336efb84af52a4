"""Creating and finding streets, communities, grids and units."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.db import savepoint
from backend.errors import Conflict, ValidationFailed
from backend.extensions import db
from backend.orgs.models import Community, Grid, Street, Unit


def _insert(row, conflict: Exception) -> None:
    """Add row in a savepoint: the unique constraint a concurrent request won is `conflict`
    (raised), not a 500, and the caller's transaction stays usable."""
    try:
        with savepoint(db.session):
            db.session.add(row)
    except IntegrityError:
        raise conflict from None


def get_or_create_street(name: str, district: str = "") -> Street:
    street = db.session.scalar(select(Street).where(Street.name == name))
    if street is None:
        try:
            with savepoint(db.session):
                db.session.add(Street(name=name, district=district))
        except IntegrityError:  # another request created it at the same moment: use that one
            pass
        street = db.session.scalar(select(Street).where(Street.name == name))
    return street


def create_community(name: str, street: str | None = None, district: str = "", street_id: int | None = None) -> Community:
    """A new community under a street (by id, or by name, created when new)."""
    if street_id is not None:
        st = db.session.get(Street, street_id)
        if st is None:
            raise ValidationFailed(details={"street_id": ["街道不存在"]})
    elif street:
        st = get_or_create_street(street, district)
    else:
        raise ValidationFailed(details={"street": ["请填写所属街道"]})
    if db.session.scalar(select(Community).where(Community.street_id == st.id, Community.name == name)):
        raise Conflict("该街道下已有同名社区")
    c = Community(name=name, street_id=st.id, district=district or st.district)
    _insert(c, Conflict("该街道下已有同名社区"))
    return c


def create_grid(community_id: int, name: str) -> Grid:
    if db.session.scalar(select(Grid).where(Grid.community_id == community_id, Grid.name == name)):
        raise Conflict("该社区已有同名网格")
    g = Grid(community_id=community_id, name=name)
    _insert(g, Conflict("该社区已有同名网格"))
    return g


def create_unit(name: str, kind: str = "", street_id: int | None = None) -> Unit:
    if db.session.scalar(select(Unit).where(Unit.name == name)):
        raise Conflict("已有同名单位")
    if street_id is not None and db.session.get(Street, street_id) is None:
        raise ValidationFailed(details={"street_id": ["街道不存在"]})
    u = Unit(name=name, kind=kind, street_id=street_id)
    _insert(u, Conflict("已有同名单位"))
    return u


def search_query(model, q: str | None, **filters):
    """Rows of model whose name contains q, with the given column filters (None: any)."""
    query = select(model)
    if q:
        query = query.where(model.name.contains(q, autoescape=True))
    for k, v in filters.items():
        if v is not None:
            query = query.where(getattr(model, k) == v)
    return query


def search(model, q: str | None, limit: int, **filters):
    return list(db.session.scalars(search_query(model, q, **filters).order_by(model.id).limit(limit)))
