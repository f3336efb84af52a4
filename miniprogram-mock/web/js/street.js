// Street admin / admin: the dashboard, with 报到率 per community as bars and minutes per month
// as stacked bars (scanned + manual), drawn in SVG here (no chart library).
import { get, me, post } from "./api.js";
import { busy, currentQuarter, field, fmtTime, h, minutesText, ok, route, section } from "./core.js";
import { jobPanel, ledgerExport, quarterLabel, quarters } from "./jobs.js";
import { roleScope } from "./session.js";
import { staffCommunity } from "./staff.js";

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// 0..1 or 0..100 from the API: a percentage either way.
const pct = (r) => (r == null ? 0 : r <= 1 ? r * 100 : r);

export function rateBars(communities) {
  const rowH = 28;
  const W = 340;
  const labelW = 92;
  const svg = s("svg", { width: "100%", viewBox: `0 0 ${W} ${communities.length * rowH + 8}`, "data-test": "chart-report-rate" });
  communities.forEach((c, i) => {
    const p = pct(c.report_rate);
    const y = i * rowH + 4;
    const w = ((W - labelW - 44) * Math.min(100, p)) / 100;
    svg.append(
      s("text", { x: 0, y: y + 15, "font-size": 12, fill: "#333" }, (c.name || c.community_name || `社区${c.id}`).slice(0, 7)),
      s("rect", { x: labelW, y: y + 3, width: W - labelW - 44, height: 16, fill: "#f3f3f3", rx: 3 }),
      s("rect", { x: labelW, y: y + 3, width: Math.max(0, w), height: 16, fill: "#c8161d", rx: 3, "data-test": "bar" }),
      s("text", { x: W - 40, y: y + 15, "font-size": 12, fill: "#c8161d" }, `${p.toFixed(p % 1 ? 1 : 0)}%`));
  });
  return svg;
}

export function minutesChart(months) {
  const W = 340, H = 180, left = 36, bottom = 24, top = 10;
  const max = Math.max(60, ...months.map((m) => (m.scanned || 0) + (m.manual || 0)));
  const step = Math.max(1, Math.ceil(Math.ceil(max / 60) / 4)); // whole hours per grid line
  const lines = Math.ceil(max / 60 / step);
  const hours = lines * step;
  const y = (min) => H - bottom - ((H - bottom - top) * min) / (hours * 60);
  const slot = (W - left) / Math.max(1, months.length);
  const bw = Math.min(28, slot * 0.6);
  const svg = s("svg", { width: "100%", viewBox: `0 0 ${W} ${H}`, "data-test": "chart-minutes" });
  for (let k = 0; k <= lines; k++) {
    const v = k * step * 60;
    svg.append(s("line", { x1: left, x2: W, y1: y(v), y2: y(v), stroke: "#eee" }),
      s("text", { x: 0, y: y(v) + 4, "font-size": 10, fill: "#999" }, `${k * step}h`));
  }
  months.forEach((m, i) => {
    const x = left + i * slot + (slot - bw) / 2;
    const scanned = m.scanned || 0;
    const manual = m.manual || 0;
    svg.append(
      s("rect", { x, y: y(scanned), width: bw, height: y(0) - y(scanned), fill: "#c8161d", "data-test": "bar" },
        s("title", {}, `${m.month} 扫码 ${scanned} 分钟`)),
      s("rect", { x, y: y(scanned + manual), width: bw, height: y(scanned) - y(scanned + manual), fill: "#f0a3a6" },
        s("title", {}, `${m.month} 补录 ${manual} 分钟`)),
      s("text", { x: x + bw / 2, y: H - 8, "font-size": 10, fill: "#666", "text-anchor": "middle" }, String(m.month).slice(5) + "月"));
  });
  return svg;
}

const legend = () => h("div", { class: "muted" }, h("span", { style: "color:#c8161d" }, "■"), " 扫码签到  ", h("span", { style: "color:#f0a3a6" }, "■"), " 人工补录");

function dashboard(d) {
  const stat = (label, value, test) => h("div", { class: "stat" }, label, h("b", { test }, value ?? "—"));
  const wishes = d.wishes || {};
  const communities = d.communities || [];
  const minutes = (d.minutes_by_month || []).reduce((a, m) => a + (m.scanned || 0) + (m.manual || 0), 0);
  return [
    h("div", { class: "card" }, h("h2", {}, "概况 · ", d.period),
      h("div", { class: "stats" },
        stat("报到率", d.report_rate == null ? "—" : `${pct(d.report_rate).toFixed(1)}%`, "report-rate"), stat("活跃党员", d.members_active, "members-active"), stat("志愿任务", d.tasks, "tasks"), stat("服务时长", minutesText(minutes), "minutes"),
        stat("发放积分", d.points_issued, "points-issued"), stat("兑换积分", d.points_spent),
        stat("微心愿", `${wishes.fulfilled ?? 0}/${wishes.posted ?? 0}`), stat("三会一课出勤", d.meeting_attendance_rate == null ? "—" : `${pct(d.meeting_attendance_rate).toFixed(0)}%`),
        stat("需求对接", d.needs_fulfilled), stat("沉默党员", Array.isArray(d.quiet_members) ? d.quiet_members.length : d.quiet_members)),
      d.report_counts ? h("div", { class: "muted", test: "report-counts" }, `报到 ${d.report_counts.reported} 人 / 单位名册 ${d.report_counts.listed} 人`) : null,
      // a street's figures are shared for a few minutes: say how fresh they are
      d.as_of ? h("div", { class: "muted", test: "as-of" }, `数据更新于 ${fmtTime(d.as_of)}`) : null),
    d.community ? null : h("div", { class: "card" }, h("h2", {}, "各社区报到率"),
      communities.length ? rateBars(communities) : h("div", { class: "empty" }, "暂无社区数据")),
    h("div", { class: "card" }, h("h2", {}, "每月服务时长"), legend(),
      (d.minutes_by_month || []).length ? minutesChart(d.minutes_by_month) : h("div", { class: "empty" }, "暂无服务记录"),
      h("div", { class: "muted" }, "合计 ", minutesText(minutes))),
    (d.top_units || []).length ? h("div", { class: "card" }, h("h2", {}, "共建单位排行"),
      h("ol", {}, d.top_units.map((u) => h("li", {}, u.name || u.unit_name, u.minutes != null ? ` · ${minutesText(u.minutes)}` : "", u.points != null ? ` · ${u.points} 分` : "")))) : null,
  ];
}

// A community's own figures (its staff): the same cards, without the per-community bars.
route("/staff/dashboard", "社区看板", async (view) => {
  const cid = await staffCommunity();
  const body = h("div");
  const period = h("input", { name: "period", value: currentQuarter(), placeholder: "2026-Q4 / 2026-11 / 2026", test: "period" });
  const load = () => section(body, async () => dashboard(await get(`/communities/${cid}/dashboard`, { period: period.value.trim() })));
  period.addEventListener("change", load);
  view.append(h("div", { class: "card" }, field("统计周期", period)), body);
  load();
}, { back: true, name: "staff-dashboard" });

route("/street", "街道看板", async (view, _params, query) => {
  const user = await me();
  let streetId = Number(query.get("id")) || roleScope(user, "street_admin", "street_id");
  const controls = h("div", { class: "card" });
  const body = h("div");
  const period = h("input", { name: "period", value: query.get("period") || currentQuarter(), placeholder: "2026-Q4 / 2026-11 / 2026", test: "period" });
  if (!streetId) { // admin: any street
    const streets = (await get("/streets")).items;
    if (!streets.length) throw new Error("还没有街道");
    streetId = streets[0].id;
    const pick = h("select", { test: "street" }, streets.map((st) => h("option", { value: st.id }, st.name)));
    pick.addEventListener("change", () => { streetId = Number(pick.value); load(); });
    controls.append(field("街道", pick));
  }
  controls.append(field("统计周期", period));
  controls.append(h("a", { class: "btn block ghost", href: "#/orgs", test: "go-orgs" }, "组织与角色（社区、单位、人员）"));
  if ((user.roles || []).some((r) => r.role === "admin")) {
    controls.append(h("a", { class: "btn block ghost", href: "#/admin", test: "go-admin" }, "系统管理（账本校验、操作日志、消息推送）"));
  }
  const load = () => section(body, async () => dashboard(await get(`/streets/${streetId}/dashboard`, { period: period.value.trim() })));
  period.addEventListener("change", load);
  // the street's 台账: every community of the street in one file (its street_admin, or admin)
  const exports = h("div", { class: "card" }, h("h2", {}, "街道台账导出"), ledgerExport(() => `/streets/${streetId}/exports`));
  view.append(controls, body, unitFeedback(() => streetId), exports);
  load();
}, { name: "street" });

// 单位反馈: a quarter's feedback issued to each unit of the street now (which locks the
// evaluations behind it), and all the units' feedback in one workbook.
function unitFeedback(streetId) {
  const period = h("select", { name: "period", test: "feedback-period" }, quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const box = h("div");
  const load = () => section(box, async () => {
    const units = (await get("/units", { street_id: streetId(), limit: 100 })).items;
    if (!units.length) return h("div", { class: "empty" }, "本街道还没有登记单位");
    return h("ul", { class: "list", test: "street-units" }, units.map((u) => {
      const out = h("div");
      const b = h("button", { class: "small", test: "issue-feedback", onclick: () => busy(b, out, async () => {
        const issue = await post(`/units/${u.id}/feedback-issues`, { period: period.value });
        out.replaceChildren(ok(`已下发 ${quarterLabel(issue.period)}的反馈`));
      }) }, "下发反馈");
      return h("li", { test: "street-unit" }, h("div", { class: "row" }, h("h3", { class: "grow" }, u.name), b), out);
    }));
  });
  period.addEventListener("change", load);
  load();
  const all = jobPanel("导出全街道单位反馈（Excel）",
    async () => (await post(`/streets/${streetId()}/feedback-exports`, { period: period.value })).job_id,
    () => `街道单位反馈-${period.value}.xlsx`, "feedback-");
  return h("div", { class: "card" }, h("h2", {}, "单位反馈"),
    h("p", { class: "muted" }, "下发后单位可看到该季度反馈，社区对党员的评价随之锁定。"), field("季度", period), box, all);
}
