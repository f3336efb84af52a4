"""Fitting values to WeChat's subscribe-message limits: truncated, never rejected."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from backend.notifications.models import KINDS
from backend.notifications.templates import LIMITS, TEMPLATES, fit, render, value_type

LONG = "社区党员志愿服务活动" * 6 + " with latin text 1234567890" * 3


def test_value_type_from_key():
    assert value_type("thing12") == "thing"
    assert value_type("character_string3") == "character_string"
    assert value_type("phone_number1") == "phone_number"


def test_thing_is_cut_to_twenty_with_an_ellipsis():
    out = fit("thing1", LONG)
    assert len(out) == 20 and out.endswith("…") and out.startswith("社区党员志愿服务活动")
    assert fit("thing1", "短标题") == "短标题"
    assert fit("thing1", "  a\n\tb  ") == "a b"
    assert fit("thing1", "") == "无"


def test_other_types_respect_their_limits():
    assert fit("name2", "欧阳娜娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜娜"
    assert fit("phrase3", "审核已经通过了") == "审核已经通"
    assert fit("character_string2", "2026-Q4 期间" + "X" * 40) == ("2026-Q4" + "X" * 40)[:32]
    assert fit("number4", "共 12.5 小时") == "12.5"
    assert fit("phone_number5", "电话 138-0000-0000 转 1234567") == "138-0000-00001234"[:17]
    for kind, limit in LIMITS.items():
        assert len(fit(f"{kind}1", LONG)) <= limit


def test_time_is_a_proper_local_date_string():
    at = datetime(2026, 11, 5, 6, 30, tzinfo=timezone.utc)
    assert fit("time2", at) == "2026年11月5日 14:30"
    assert fit("time2", "2026-11-05T14:30:00+08:00") == "2026年11月5日 14:30"
    assert fit("time2", "2026-11-05T06:30:00Z") == "2026年11月5日 14:30"
    assert fit("date3", at) == "2026年11月5日"
    # garbage falls back to the given moment instead of reaching WeChat
    assert fit("time2", "next tuesday", fallback_time=at) == "2026年11月5日 14:30"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_within_limits(kind):
    data = {k: LONG for k in ("title", "community", "unit", "reason", "location", "claimer", "message", "note")}
    data.update(status="approved", period="2026-Q4", starts_at="2026-11-05T09:00:00+08:00")
    template_id, values, page = render(kind, data, ref_id=7, config={})
    assert template_id == TEMPLATES[kind].default_id
    assert page and "{" not in page
    assert set(values) == set(TEMPLATES[kind].fields)
    for key, item in values.items():
        limit = LIMITS.get(value_type(key))
        assert item["value"], key
        if limit:
            assert len(item["value"]) <= limit, (key, item)


def test_template_id_comes_from_config_then_environment(monkeypatch):
    monkeypatch.setenv("WECHAT_TEMPLATE_TASK_CANCELLED", "env-tpl")
    assert render("task_cancelled", {}, config={})[0] == "env-tpl"
    assert render("task_cancelled", {}, config={"WECHAT_TEMPLATE_TASK_CANCELLED": "cfg-tpl"})[0] == "cfg-tpl"


def test_report_decided_words():
    _, values, _ = render("report_decided", {"community": "一社区", "status": "rejected", "reason": ""}, config={})
    assert values["thing1"]["value"] == "一社区"
    assert values["phrase2"]["value"] == "未通过"
