// Unit admin (单位党组织): our members and their report status (and the roster they are matched
// against), the unit's own 报到 to communities, their needs to pledge to, a quarter's feedback, the export.
import { api, get, me, post } from "./api.js";
import { badge, busy, field, fmtTime, h, minutesText, ok, route, say, section, words } from "./core.js";
import { jobPanel, quarterLabel, quarters } from "./jobs.js";
import { picker } from "./member.js";
import { roleScope } from "./session.js";
import { offers } from "./staff.js";

const nameOf = (m) => m.name || m.user_name || (m.user && m.user.name) || `用户${m.user_id}`;
const communityOf = (m) => m.community_name || (m.community && (m.community.name || m.community)) || "—";
const reportStatus = (m) => m.report_status || (m.report && m.report.status) || m.status;

// The quarter's feedback workbook of the unit, built by a job.
const exportPanel = (unitId, period) => jobPanel("导出所选季度的反馈（Excel）",
  async () => (await post(`/units/${unitId}/feedback-exports`, { period: period.value })).job_id,
  () => `单位反馈-${period.value}.xlsx`);

// Add someone to the roster (name and phone): their report is matched to the unit by phone.
function rosterForm(unitId, reload) {
  const name = h("input", { name: "name", placeholder: "姓名", test: "roster-name" });
  const phone = h("input", { name: "phone", inputmode: "tel", placeholder: "手机号", test: "roster-phone" });
  const out = h("div", { test: "roster-result" });
  const submit = h("button", { class: "small", type: "submit", test: "roster-submit" }, "加入名册");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      await post(`/units/${unitId}/members`, { members: [{ name: name.value.trim(), phone: phone.value.trim() }] });
      out.replaceChildren(ok(`已加入名册：${name.value.trim()}`));
      name.value = phone.value = "";
      reload();
    }, form);
  } }, h("div", { class: "row" }, name, phone), submit, out);
  return form;
}

// The unit's 报到 to communities, and a new one: the community, what the unit offers, what it needs.
function unitReports(box, unitId) {
  const list = h("div");
  const load = () => section(list, async () => {
    const page = await get(`/units/${unitId}/unit-reports`, { limit: 50 });
    if (!page.items.length) return h("div", { class: "empty" }, "本单位还没有向社区报到");
    return h("ul", { class: "list" }, page.items.map((r) => h("li", { test: "unit-report" },
      h("h3", {}, r.community_name || `社区${r.community_id}`, " ", badge(r.status)),
      offers(r),
      r.reason ? h("div", { class: "muted" }, "驳回原因：", r.reason) : null,
      h("div", { class: "muted" }, "提交于 ", fmtTime(r.created_at)))));
  });
  let community = null;
  const resources = h("input", { name: "resources", placeholder: "可提供的资源，用逗号分隔，例如：医疗义诊，法律咨询", test: "unit-resources" });
  const needs = h("input", { name: "needs", placeholder: "希望社区支持的事（可选）", test: "unit-needs" });
  const out = h("div", { test: "unit-report-result" });
  const submit = h("button", { class: "block", type: "submit", test: "unit-report-submit" }, "向社区报到");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      if (!community) throw say("请先选择社区");
      await post("/unit-reports", { unit_id: unitId, community_id: community.id, resources: words(resources), needs: words(needs) });
      out.replaceChildren(ok(`已向${community.name}报到，等待社区审核`));
      load();
    }, form);
  } }, field("报到社区", picker("communities", "输入社区名称搜索", (c) => { community = c; }, "community_id")),
  field("资源", resources), field("需求", needs), submit, out);
  box.append(list, h("h3", {}, "向社区报到"), form);
  load();
}

// Open needs of the communities the unit reported to, ranked against its resources; 认领 pledges one.
function matches(box, unitId) {
  const load = () => section(box, async () => {
    const items = (await get(`/units/${unitId}/matches`)).items;
    if (!items.length) return h("div", { class: "empty" }, "报到社区暂无与本单位资源匹配的需求");
    return h("ul", { class: "list", test: "unit-matches" }, items.map((m) => {
      const out = h("div");
      const pledge = h("button", { class: "small", test: "pledge", onclick: () => busy(pledge, out, async () => {
        await post(`/needs/${m.need_id}/pledges`, { unit_id: unitId, resource: m.resource, note: "" });
        out.replaceChildren(ok("已认领，社区将与您联系"));
        pledge.disabled = true;
      }) }, "认领");
      return h("li", { test: "unit-match" }, h("div", { class: "row" }, h("div", { class: "grow" },
        h("h3", {}, m.need_title, " ", badge(m.need_status)),
        h("div", { class: "muted" }, m.community_name || "", " · 本单位资源：", m.resource, ` · 匹配度 ${m.score}`)), pledge), out);
    }));
  });
  load();
}

route("/unit", "本单位", async (view) => {
  const user = await me();
  const unitId = roleScope(user, "unit_admin", "unit_id");
  if (!unitId) throw new Error("您不是单位管理员");
  const members = h("div");
  const feedback = h("div");
  const reports = h("div");
  const needs = h("div");
  const period = h("select", { name: "period", test: "period" }, quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const loadMembers = () => section(members, async () => {
    const page = await get(`/units/${unitId}/members`, { limit: 100 });
    if (!page.items.length) return h("div", { class: "empty" }, "本单位还没有党员报到");
    const c = page.counts;
    const remove = (m, b) => busy(b, null, async () => { await api("DELETE", `/units/${unitId}/members/${m.unit_member_id}`); loadMembers(); });
    return [c ? h("div", { class: "muted", test: "unit-counts" }, `已报到 ${c.reported} · 待审核 ${c.pending} · 未报到 ${c.not_reported} · 共 ${c.total} 人`) : null,
      h("table", { test: "unit-members" }, h("thead", {}, h("tr", {}, ["姓名", "电话", "报到社区", "状态", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, page.items.map((m) => {
        const b = m.unit_member_id ? h("button", { class: "small ghost", test: "roster-remove", onclick: () => remove(m, b) }, "移出") : null;
        return h("tr", { test: "unit-member" }, h("td", {}, nameOf(m)), h("td", {}, m.phone || "—"),
          h("td", {}, communityOf(m)), h("td", {}, reportStatus(m) ? badge(reportStatus(m)) : "未报到"), h("td", {}, b));
      })))];
  });
  view.append(
    h("div", { class: "card" }, h("h2", {}, "在职党员报到情况"), members, h("h3", {}, "名册"),
      h("p", { class: "muted" }, "名册上的人按手机号与其报到对应；不在名册上的本单位报到者也列出。"), rosterForm(unitId, loadMembers)),
    h("div", { class: "card" }, h("h2", {}, "单位报到"), reports),
    h("div", { class: "card" }, h("h2", {}, "共驻共建：社区需求"), needs),
    h("div", { class: "card" }, h("h2", {}, "社区反馈"), field("季度", period), feedback, exportPanel(unitId, period)),
  );
  loadMembers();
  unitReports(reports, unitId);
  matches(needs, unitId);
  const loadFeedback = () => section(feedback, async () => {
    const data = await get(`/units/${unitId}/feedback`, { period: period.value });
    const items = data.items || data.members || [];
    if (!items.length) return h("div", { class: "empty" }, "该季度暂无反馈");
    return h("ul", { class: "list", test: "feedback" }, items.map((m) => {
      const evaluations = (m.evaluations || []).filter((e) => e.rating);
      // without the member's consent the API withholds the figures (null): say so, never show 0
      const figures = m.consented === false
        ? h("div", { class: "muted", test: "no-consent" }, communityOf(m), " · 本人未授权向单位展示服务情况")
        : h("div", { class: "muted", test: "figures" }, communityOf(m), ` · 完成任务 ${m.tasks_done ?? 0} 次 · 服务 ${minutesText(m.service_minutes ?? 0)} · 积分 ${m.points ?? 0}`);
      return h("li", { test: "feedback-item" },
        h("h3", {}, nameOf(m), reportStatus(m) ? badge(reportStatus(m)) : null), figures,
        evaluations.map((e) => h("div", {}, e.community_name ? e.community_name + "评价：" : "评价：", e.rating, e.comment ? `（${e.comment}）` : "")));
    }));
  });
  period.addEventListener("change", loadFeedback);
  loadFeedback();
}, { name: "unit" });
