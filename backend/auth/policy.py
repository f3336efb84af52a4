"""Authorisation rules, one function per rule. Each raises Forbidden or returns None."""
from __future__ import annotations

from sqlalchemy import select

from backend.auth.models import RoleGrant, User
from backend.errors import Forbidden, NotFound
from backend.extensions import db
from backend.orgs.models import Community, Unit


def has_role(user: User, role: str, **scope) -> bool:
    """True when the user holds `role` with exactly the given scope (e.g. community_id=3)."""
    for g in user.roles:
        if g.role == role and all(getattr(g, k) == v for k, v in scope.items()):
            return True
    return False


def is_admin(user: User) -> bool:
    return has_role(user, "admin")


def scopes(user: User, role: str, column: str) -> set[int]:
    """Ids of communities/units/streets the user holds `role` over."""
    return {getattr(g, column) for g in user.roles if g.role == role and getattr(g, column) is not None}


def community(community_id: int) -> Community:
    c = db.session.get(Community, community_id)
    if c is None:
        raise NotFound("社区不存在")
    return c


def unit(unit_id: int) -> Unit:
    u = db.session.get(Unit, unit_id)
    if u is None:
        raise NotFound("单位不存在")
    return u


def require_admin(user: User) -> None:
    if not is_admin(user):
        raise Forbidden("仅平台管理员可操作")


def require_staff(user: User, community_id: int) -> None:
    """Staff of this community (or admin): may act in it."""
    community(community_id)
    if not (is_admin(user) or has_role(user, "staff", community_id=community_id)):
        raise Forbidden("您不是该社区的工作人员")


def require_street_admin(user: User, street_id: int) -> None:
    if not (is_admin(user) or has_role(user, "street_admin", street_id=street_id)):
        raise Forbidden("您不是该街道的管理员")


def require_community_reader(user: User, community_id: int) -> None:
    """Staff of the community, its street_admin, or admin: may read its figures."""
    c = community(community_id)
    if is_admin(user) or has_role(user, "staff", community_id=community_id):
        return
    if has_role(user, "street_admin", street_id=c.street_id):
        return
    raise Forbidden("无权查看该社区")


def require_unit_admin(user: User, unit_id: int) -> None:
    """The unit's own contact (or admin): may act for the unit."""
    unit(unit_id)
    if not (is_admin(user) or has_role(user, "unit_admin", unit_id=unit_id)):
        raise Forbidden("您不是该单位的管理员")


def require_unit_reader(user: User, unit_id: int) -> None:
    """unit_admin of the unit, street_admin of the unit's street, or admin."""
    u = unit(unit_id)
    if is_admin(user) or has_role(user, "unit_admin", unit_id=unit_id):
        return
    if u.street_id is not None and has_role(user, "street_admin", street_id=u.street_id):
        return
    raise Forbidden("无权查看该单位")


def require_org_creator(user: User, street_id: int | None = None) -> None:
    """admin anywhere; a street_admin within its own street(s) only: may create communities and units."""
    if is_admin(user):
        return
    streets = scopes(user, "street_admin", "street_id")
    if not streets:
        raise Forbidden("仅街道或平台管理员可操作")
    if street_id is not None and street_id not in streets:
        raise Forbidden("只能在本街道下创建")


def default_street(user: User) -> int | None:
    """The street a street_admin's new unit goes under when none is named (admin: none)."""
    streets = scopes(user, "street_admin", "street_id")
    return None if is_admin(user) or not streets else min(streets)


def require_member(user: User) -> None:
    """A party member whose report a community approved."""
    if not any(g.role == "member" for g in user.roles):
        raise Forbidden("仅已报到的党员可操作")


def user_ids_with_role(role: str, **scope) -> list[int]:
    q = select(RoleGrant.user_id).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
    for k, v in scope.items():
        q = q.where(getattr(RoleGrant, k) == v)
    return list(db.session.scalars(q))
