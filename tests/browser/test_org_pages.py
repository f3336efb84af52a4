"""组织与角色: a street admin opens a community, makes a person its staff by the 用户编号 on their
我的 page, and takes the role away again; the new staff member keeps colleagues and grids."""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.orgs.models import Community, Grid


def test_street_admin_opens_a_community_and_staffs_it(phone, city):
    newcomer = phone("member")
    page = newcomer.login("resident")
    number = page.inner_text("[data-test=user-id]")
    assert number == f"用户编号 {city.resident.id}"

    admin = phone("street")
    street = admin.login("streetadm")
    assert street.get_attribute("[data-test=go-orgs]", "href") == "#/orgs"  # from the street page
    admin.go("#/orgs")
    assert "一社区" in street.inner_text("[data-test=communities]")
    street.fill("[data-test=community-name]", "幸福里社区")
    street.fill("[data-test=community-district]", "测试区")
    street.click("[data-test=create-community]")
    street.wait_for_selector("[data-test=communities]:has-text('幸福里社区')")
    created = db.session.scalar(select(Community).where(Community.name == "幸福里社区"))
    assert created is not None and created.street_id == city.street.id

    street.select_option("[data-test=role-scope]", label="社区 · 幸福里社区")
    street.wait_for_selector("[data-test=no-holders]")
    street.fill("[data-test=grant-user]", number.split()[-1])
    street.click("[data-test=grant]")
    street.wait_for_selector(f"[data-test=holder][data-user='{city.resident.id}']")
    assert "resident" in street.inner_text("[data-test=holders]")
    admin.shot("granted")

    # the newcomer, now staff of 幸福里社区: colleagues (themself, no 撤销) and a first grid
    team = newcomer.open("#/staff/team")
    team.reload()  # the app opened again: it reads the person's roles afresh
    newcomer.settle()
    row = team.locator(f"[data-test=holder][data-user='{city.resident.id}']")
    assert "本人" in row.inner_text() and row.locator("[data-test=revoke]").count() == 0
    team.fill("[data-test=grid-name]", "第一网格")
    team.click("[data-test=create-grid]")
    team.wait_for_selector("[data-test=grid]:has-text('第一网格')")
    assert db.session.scalar(select(Grid.community_id).where(Grid.name == "第一网格")) == created.id
    newcomer.shot("team")

    # taken away again: asked once more, then gone from the list and from the newcomer's rights
    street.click("[data-test=revoke]")
    assert street.inner_text("[data-test=revoke]") == "确认撤销"
    street.click("[data-test=revoke]")
    street.wait_for_selector("[data-test=no-holders]")
    team.reload()
    team.wait_for_selector("text=您不是社区工作者")
    assert not admin.console_errors and not newcomer.console_errors


def test_a_unit_gets_its_admin_and_a_retry_creates_one_unit(phone, city):
    from tests.browser.network import lose_answers

    admin = phone("street")
    street = admin.login("streetadm")
    admin.go("#/orgs")
    lost = lose_answers(street, "**/api/v1/units")  # the server registers it; the answer is lost
    street.fill("[data-test=unit-name]", "重试科技公司")
    street.fill("[data-test=unit-kind]", "企业")
    street.click("[data-test=create-unit]")
    street.wait_for_selector("text=网络连接失败")
    street.unroute("**/api/v1/units")
    with street.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/units")) as answer:
        street.click("[data-test=create-unit]")  # the same form, sent again under the same key
    assert answer.value.request.headers.get("idempotency-key") == lost[0]
    assert answer.value.headers.get("idempotent-replayed") == "true"
    street.wait_for_selector("[data-test=units]:has-text('重试科技公司')")
    from backend.orgs.models import Unit

    db.session.expire_all()
    assert db.session.scalar(select(db.func.count(Unit.id)).where(Unit.name == "重试科技公司")) == 1
    street.select_option("[data-test=role-scope]", label="单位 · 重试科技公司")
    street.fill("[data-test=grant-user]", str(city.member.id))
    street.click("[data-test=grant]")
    street.wait_for_selector(f"[data-test=holder][data-user='{city.member.id}']")
    assert "单位管理员" in street.inner_text("[data-test=holders]")
