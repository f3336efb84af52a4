"""A unit's reports under a prepared statement's generic plan (PostgreSQL only)."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.orgs import services as orgs
from backend.partywork.needs import unit_matches
from backend.reports.models import APPROVED, STATUSES, UnitReport
from backend.reports.services import reports_for_user
from tests.helpers import needs_pg, rows_read_in_generic_plans


@needs_pg
@pytest.mark.parametrize("analyze", [(), ("unit_reports",)], ids=["no-statistics", "analyzed"])
def test_a_units_reports_are_index_probes_in_a_prepared_plan(city, analyze):
    """A generic plan cannot prove `status = $n` implies uq_unit_reports_live's predicate, and
    unit_reports had no other index on unit_id: a unit's matches read every unit report of the
    city (and its own list did with or without a status). ix_unit_reports_unit serves them."""
    communities = [orgs.create_community(f"社区{i}", street_id=city.street.id) for i in range(10)]
    units = [orgs.create_unit(f"单位{i}", street_id=city.street.id) for i in range(200)]
    db.session.add_all(UnitReport(unit_id=u.id, community_id=c.id, status=STATUSES[(i + j) % 4])
                       for i, u in enumerate(units + [city.u1]) for j, c in enumerate(communities))
    db.session.commit()
    admin, unit_id = db.session.get(type(city.unit1), city.unit1.id), city.u1.id

    plans = rows_read_in_generic_plans(lambda: (unit_matches(admin, unit_id), reports_for_user(admin)), analyze)
    # the unit's approved reports (3 of its 10), then all 10 of them for /me
    assert [read["unit_reports"] for _, read in plans if "unit_reports" in read] == [3, 10], plans
