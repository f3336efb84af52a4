"""A foreign world for the authorisation matrix: objects of another street's community (c3),
unit (u2) and person (a stranger whose name and phone are canaries), made through the API by
their own owners, so that every resource the spec can create is covered without a factory."""
from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select

from backend.auth import tokens
from backend.auth.models import RoleGrant
from backend.auth.services import grant_role
from backend.extensions import db
from backend.orgs import services as orgs
from backend.seed import user_for
from tests.reliability import spec_tools as st

CANARY_NAME = "陌生人金丝雀"
CANARY_PHONE = "13911223344"
CANARY_MASKED_OK = "139****3344"  # a masked phone is allowed
# Collections whose objects other endpoints create (an export makes a job).
ALIASES = {"jobs": ("exports", "feedback-exports")}


def token_for(user) -> dict:
    tok, _ = tokens.issue(current_app.config["SECRET_KEY"], current_app.config["TOKEN_TTL"], user.id, user.token_version)
    return {"Authorization": "Bearer " + tok}


class ForeignWorld:
    """Ids of objects that belong to c3 / u2 / the stranger, created on demand and memoised."""

    def __init__(self, client, spec, city):
        self.client, self.spec, self.city = client, spec, city
        self.stranger = user_for("stranger", name=CANARY_NAME)
        self.stranger.phone = CANARY_PHONE
        grant_role(None, self.stranger.id, "member", community_id=city.c3.id)
        grid = orgs.create_grid(city.c3.id, "三网格")
        from backend.timebank.earn import award

        # points for c3's staff member to spend at c3's shelf, so that a foreign redemption can be made
        # too (not the stranger's: the leaderboard shows earners' nicknames, by design)
        award(db.session, community_id=city.c3.id, actor_id=city.staff3.id, entries=[
            {"user_id": city.staff3.id, "amount": 500, "ref_type": "authz", "ref_id": city.staff3.id, "memo": "测试"}])
        db.session.commit()
        self.base = {"community_id": city.c3.id, "unit_id": city.u2.id, "street_id": city.other_street.id,
                     "user_id": self.stranger.id, "member_id": self.stranger.id, "grid_id": grid.id,
                     "to_user_id": self.stranger.id, "code": "T1.i1.AAAAAAAAAAAAAAAA",
                     "phone": "13700001111"}  # a report's phone is optional only once one is verified
        self.owners = [token_for(u) for u in (city.staff3, self.stranger, city.unit2, city.admin)]
        self.memo: dict[tuple, int | None] = {}
        self.uncovered: set[str] = set()
        self.stranger_report()
        reward = client.post(f"/api/v1/communities/{city.c3.id}/rewards", headers=self.owners[0],
                             json={"name": "外社区礼品", "points": 5, "stock": 50}).get_json()
        self.memo[("rewards", "reward_id")] = reward["id"]  # in stock, for the foreign redemption
        # c3's staff member's own grant: nobody of the first street may revoke it
        self.memo[("roles", "grant_id")] = db.session.scalar(select(RoleGrant.id).where(
            RoleGrant.user_id == city.staff3.id, RoleGrant.role == "staff", RoleGrant.revoked_at.is_(None)))

    def stranger_report(self) -> None:
        """The stranger reports in to c3 with the canary name and phone."""
        self.client.post("/api/v1/member-reports", headers=self.owners[1], json={
            "community_id": self.city.c3.id, "unit_id": self.city.u2.id, "name": CANARY_NAME,
            "phone": CANARY_PHONE, "skills": []})

    def id_for(self, path: str, param: str, depth: int = 0) -> int | str:
        """A foreign object's id for `param` in `path` (a huge unknown id when none can be made)."""
        if param in self.base and not param.endswith("_id") or param in ("community_id", "unit_id", "street_id",
                                                                          "user_id", "member_id", "grid_id", "code"):
            return self.base[param]
        segments = path.split("/")
        i = segments.index("{%s}" % param)
        collection = segments[i - 1]
        key = (collection, param)
        if key not in self.memo:
            self.memo[key] = self._create(collection, depth)
            if self.memo[key] is None:
                self.uncovered.add(f"{collection}/{{{param}}}")
        return self.memo[key] if self.memo[key] is not None else 10**7

    def _create(self, collection: str, depth: int) -> int | None:
        if depth > 2:
            return None
        names = (collection,) + ALIASES.get(collection, ())
        for method, path, op in st.operations(self.spec):
            if method != "post" or path.rsplit("/", 1)[-1] not in names:
                continue
            for headers in self.owners:
                url = self.fill(path, depth + 1)
                body = st.body_for(self.spec, op, self.base) or {}
                resp = self.client.post(url, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
                data = resp.get_json(silent=True) or {}
                if resp.status_code < 300 and isinstance(data, dict):
                    ident = data.get("id") or data.get("job_id")
                    if ident is not None:
                        return ident
        return None

    def fill(self, path: str, depth: int = 0) -> str:
        for p in st.path_params(path):
            path = path.replace("{%s}" % p, str(self.id_for(path, p, depth)), 1)
        return path
