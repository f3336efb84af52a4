"""Login and role grants."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from backend.auth import policy, tokens
from backend.auth.models import ROLE_SCOPE, ROLES, RoleGrant, User
from backend.db import utcnow
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.orgs.models import Community, Street, Unit
from backend.wechat.client import code_to_session


def login(client, code: str, *, secret: str, ttl: int) -> tuple[User, str, object]:
    """Exchange a wx.login code for our own token; the first login creates the user."""
    data = code_to_session(client, code)
    openid = data["openid"]
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        try:
            # a bare savepoint: on SQLite it commits the new user at once, which a login can
            # afford, and taking SQLite's write lock first deadlocks two first logins at once
            with db.session.begin_nested():
                user = User(openid=openid, nickname=f"微信用户{openid[-4:]}")
                db.session.add(user)
        except IntegrityError:  # the same person's concurrent first login created it: use that one
            user = db.session.scalar(select(User).where(User.openid == openid))
    user.session_key = data.get("session_key")  # kept server-side only
    user.last_login_at = utcnow()
    db.session.flush()
    token, expires_at = tokens.issue(secret, ttl, user.id, user.token_version)
    return user, token, expires_at


def roles_of(user: User) -> list[dict]:
    """The contract's role list: resident for everyone, then every live grant."""
    out = [{"role": "resident"}]
    out += [g.as_dict() for g in sorted(user.roles, key=lambda g: g.id) if g.role != "resident"]
    return out


def _check_scope(role: str, scope: dict) -> dict:
    if role not in ROLES:
        raise ValidationFailed(details={"role": ["未知角色"]})
    column = ROLE_SCOPE[role]
    clean = {k: v for k, v in scope.items() if v is not None}
    if column is None:
        if clean:
            raise ValidationFailed(details={"role": ["该角色不需要范围"]})
        return {}
    if set(clean) != {column}:
        raise ValidationFailed(details={column: [f"该角色需要且只需要 {column}"]})
    model = {"community_id": Community, "unit_id": Unit, "street_id": Street}[column]
    if db.session.get(model, clean[column]) is None:
        raise ValidationFailed(details={column: ["对象不存在"]})
    return clean


def may_grant(actor: User, role: str, scope: dict) -> bool:
    """admin: anything; street_admin: staff/unit_admin/street_admin inside the street;
    staff: staff of its own community."""
    if policy.is_admin(actor):
        return True
    streets = policy.scopes(actor, "street_admin", "street_id")
    # each rule may allow; none refuses early, so a street_admin who is also staff elsewhere keeps both
    if streets and role in ("staff", "member") and db.session.get(Community, scope["community_id"]).street_id in streets:
        return True
    if streets and role == "unit_admin" and db.session.get(Unit, scope["unit_id"]).street_id in streets:
        return True
    if streets and role == "street_admin" and scope["street_id"] in streets:
        return True
    return role == "staff" and policy.has_role(actor, "staff", community_id=scope["community_id"])


def grant_role(actor: User | None, user_id: int, role: str, **scope) -> RoleGrant:
    """Grant a scoped role (idempotent: an identical live grant is returned as it is).
    actor None means the CLI (an operator on the server)."""
    scope = _check_scope(role, scope)
    # the user's row locked until commit: two identical grants at once make one row, not two
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or user.closed_at is not None:
        raise NotFound("用户不存在")
    if actor is not None and not may_grant(actor, role, scope):
        raise Forbidden("无权授予该角色")
    existing = db.session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.role == role, RoleGrant.revoked_at.is_(None),
            *[getattr(RoleGrant, c) == scope.get(c) if scope.get(c) is not None else getattr(RoleGrant, c).is_(None)
              for c in ("community_id", "unit_id", "street_id")],
        )
    )
    if existing:
        return existing
    grant = RoleGrant(user_id=user_id, role=role, granted_by_id=actor.id if actor else None, **scope)
    db.session.add(grant)
    db.session.flush()
    db.session.expire(user, ["roles"])
    _audit_grant(actor, grant)
    return grant


def _audit_grant(actor: User | None, grant: RoleGrant) -> None:
    """The audit row of a new grant."""
    _audit(actor, "role.grant", grant, after={"user_id": grant.user_id, **grant.as_dict()})


def _audit(actor: User | None, action: str, grant: RoleGrant, *, before: dict | None = None,
           after: dict | None = None) -> None:
    """An audit row about a grant, placed in the street it concerns (for street_admin reads)."""
    from backend.audit.services import record

    street_id = grant.street_id
    if grant.unit_id is not None:
        street_id = db.session.scalar(select(Unit.street_id).where(Unit.id == grant.unit_id))
    record(actor.id if actor else None, action, "role_grant", grant.id, before=before, after=after,
           community_id=grant.community_id, street_id=street_id)


def revoke_role(user_id: int, role: str, **scope) -> int:
    """Revoke live grants matching role and scope; history is kept. Returns how many."""
    q = select(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
    for k, v in scope.items():
        q = q.where(getattr(RoleGrant, k) == v)
    n = 0
    for g in db.session.scalars(q):
        g.revoked_at = utcnow()
        n += 1
    db.session.flush()
    user = db.session.get(User, user_id)
    if user is not None:
        db.session.expire(user, ["roles"])
    return n


# Roles that act for a scope and are managed by people (POST /roles, GET /roles, DELETE /roles/{id});
# a member's role follows their 双报到 report instead.
MANAGED = {r: ROLE_SCOPE[r] for r in ("staff", "unit_admin", "street_admin", "admin")}


def role_holders(actor: User, scope: dict) -> tuple[str, Select]:
    """(role, query of its live grants) for one scope: {"community_id"} → staff, {"unit_id"} →
    unit_admin, {"street_id"} → street_admin, {} → admin. Only someone who may grant that role
    there may list it (admin; a street_admin within the street; staff: its own community's staff)."""
    clean = {k: v for k, v in scope.items() if v is not None}
    if len(clean) > 1:
        raise ValidationFailed(details={"community_id": ["只能指定社区、单位、街道之一"]})
    role = next(r for r, column in MANAGED.items() if (column in clean) or (column is None and not clean))
    if clean:
        (column, value), = clean.items()
        model = {"community_id": Community, "unit_id": Unit, "street_id": Street}[column]
        if db.session.get(model, value) is None:
            raise NotFound("对象不存在")
    if not may_grant(actor, role, clean):
        raise Forbidden("无权查看该范围的角色")
    q = select(RoleGrant).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None),
                                *[getattr(RoleGrant, c) == v for c, v in clean.items()])
    return role, q


def revoke_grant(actor: User, grant_id: int) -> bool:
    """Revoke one grant (someone who may grant that role in that scope; never one's own).
    The row stays as history; the holder's next request no longer has the role. Audited.
    False when it was revoked already (nothing changes)."""
    grant = db.session.get(RoleGrant, grant_id, with_for_update=True, populate_existing=True)
    if grant is None:
        raise NotFound("角色不存在")
    scope = {k: v for k, v in grant.as_dict().items() if k != "role"}
    if not may_grant(actor, grant.role, scope):
        raise Forbidden("无权撤销该角色")
    if grant.role not in MANAGED:
        raise InvalidState("党员身份随双报到变更，不在此撤销")
    if grant.user_id == actor.id:
        raise Forbidden("不能撤销自己的角色，请由其他管理员操作")
    if grant.revoked_at is not None:
        return False
    revoke_role(grant.user_id, grant.role, **scope)  # this grant: an identical live one is never made twice
    _audit(actor, "role.revoke", grant, before={"user_id": grant.user_id, **grant.as_dict()},
           after={"revoked_at": grant.revoked_at})
    return True


def display_names(user_ids) -> dict[int, str]:
    """Display names (real name or nickname) by user id, in one query; never phones."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


# the same write sent again by the same person within this time (a double tap, a retry after a
# timeout whose first try did arrive) is the same write: services hand back the first, not a copy
REPEAT_WINDOW = timedelta(minutes=10)


def lock_person(user_id: int) -> None:
    """Hold the person's row until commit, so that two requests acting for them at once (a
    double tap, a retry racing the first try) run one after the other and the second sees the
    first's rows. FOR NO KEY UPDATE: rows that merely reference the person are not blocked."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def verify_phone(user: User, phone: str, now=None) -> User:
    """Record the number WeChat vouched for as the person's verified (and contact) phone."""
    user.verified_phone, user.phone_verified_at = phone, now or utcnow()
    user.phone = phone
    return user
