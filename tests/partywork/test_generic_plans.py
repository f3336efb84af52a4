"""Household links under a prepared statement's generic plan (PostgreSQL only)."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from backend.auth.models import User
from backend.extensions import db
from backend.oversight.ledger_sheets import households_q
from backend.partywork import households as svc
from backend.partywork.models_households import LINK_ACTIVE, LINK_ENDED, Household, HouseholdLink
from tests.helpers import needs_pg, rows_read_in_generic_plans


@needs_pg
@pytest.mark.parametrize("analyze", [(), ("household_links",)], ids=["no-statistics", "analyzed"])
def test_the_active_links_of_households_are_index_probes_in_a_prepared_plan(city, analyze):
    """A generic plan cannot prove `status = $n` implies uq_household_links_active's `status =
    'active'`, and household_links had no other index on household_id: a page of households
    read every link, the export every link once per household. ix_household_links_household
    serves both whatever the plan."""
    people = list(db.session.scalars(insert(User).returning(User.id), [{"nickname": f"党员{i}"} for i in range(800)]))
    homes = list(db.session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True), [
        {"community_id": city.c1.id, "address": f"{i}号", "head_name": "户主"} for i in range(4000)]))
    db.session.execute(insert(HouseholdLink), [
        {"household_id": h, "user_id": people[i % 800], "community_id": city.c1.id,
         "status": LINK_ENDED if i % 4 == 0 else LINK_ACTIVE} for i, h in enumerate(homes)])
    db.session.commit()
    page, cid = homes[100:120], city.c1.id

    plans = rows_read_in_generic_plans(lambda: svc.active_links(page), analyze)
    assert [read["household_links"] for _, read in plans] == [15], plans  # the page's active links
    [(_, read)] = rows_read_in_generic_plans(lambda: db.session.execute(households_q([cid], None, None)).all(),
                                             analyze)
    assert read["household_links"] <= 4000, read  # a probe per household, not all links each
