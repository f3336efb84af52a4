"""The demo city: one street, 3 communities with grids, 3 units, demo logins.

Each domain may add to it with a `seed(ctx)` function in `backend/<domain>/seed.py`; they
run in SEED_ORDER after the core, sharing `ctx` (communities, units, users by login code).
"""
from __future__ import annotations

import importlib

from sqlalchemy import select

from backend.auth.models import User
from backend.auth.services import grant_role
from backend.extensions import db
from backend.orgs import services as orgs
from backend.orgs.models import Street

STREET = "东湖街道"
COMMUNITIES = [("幸福里社区", ["一网格", "二网格"]), ("和平社区", ["一网格", "二网格"]), ("光明社区", ["一网格"])]
UNITS = [("市第一人民医院", "事业单位"), ("城建集团", "国有企业"), ("区教育局", "机关")]
LOGINS = ["demo-admin", "demo-street", "demo-staff", "demo-unit", "demo-member", "demo-resident"]
NAMES = {"demo-admin": "平台管理员", "demo-street": "街道书记", "demo-staff": "社区干事王芳",
         "demo-unit": "单位联络员李强", "demo-member": "党员张伟", "demo-resident": "居民刘阿姨"}
SEED_ORDER = ["reports", "tasks", "timebank", "attendance", "wishes", "feedback", "partywork", "oversight"]


def user_for(code: str, name: str | None = None) -> User:
    """The user who logs in with wx code `code` (openid mock-<code>), created if new."""
    openid = f"mock-{code}"
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, nickname=name or code, name=name)
        db.session.add(user)
        db.session.flush()
    return user


def seed_demo() -> bool:
    """Create the demo city once; False when it is already there."""
    if db.session.scalar(select(Street).where(Street.name == STREET)):
        return False
    street = orgs.get_or_create_street(STREET, "东湖区")
    communities = []
    for name, grids in COMMUNITIES:
        c = orgs.create_community(name, street_id=street.id, district="东湖区")
        for g in grids:
            orgs.create_grid(c.id, g)
        communities.append(c)
    units = [orgs.create_unit(n, k, street_id=street.id) for n, k in UNITS]
    users = {code: user_for(code, NAMES[code]) for code in LOGINS}
    grant_role(None, users["demo-admin"].id, "admin")
    grant_role(None, users["demo-street"].id, "street_admin", street_id=street.id)
    grant_role(None, users["demo-staff"].id, "staff", community_id=communities[0].id)
    grant_role(None, users["demo-unit"].id, "unit_admin", unit_id=units[0].id)
    ctx = {"street": street, "communities": communities, "units": units, "users": users}
    for domain in SEED_ORDER:
        try:
            module = importlib.import_module(f"backend.{domain}.seed")
        except ModuleNotFoundError as exc:
            if exc.name in (f"backend.{domain}", f"backend.{domain}.seed"):
                continue
            raise
        module.seed(ctx)
    db.session.commit()
    return True
