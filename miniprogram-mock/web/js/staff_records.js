// Staff's records: the quarter's ratings of the community's members (they go back to the
// members' units with their figures), the 台账 exports, and the time bank's rules.
import { api, get, post } from "./api.js";
import { badge, busy, field, fmtTime, h, later, num, ok, route, section } from "./core.js";
import { ledgerExport, quarterLabel, quarters } from "./jobs.js";
import { approvedMembers } from "./partywork.js";
import { staffCommunity } from "./staff.js";

const RATINGS = ["优秀", "合格", "基本合格", "不合格"];

// One member's rating for the quarter: the current one (if any) preselected; 保存 sends it.
function ratingItem(cid, period, m, current) {
  const out = h("div");
  const rating = h("select", { name: "rating", test: "rating" }, h("option", { value: "" }, "选择评价"),
    RATINGS.map((r) => h("option", { value: r, selected: current && current.rating === r }, r)));
  const comment = h("input", { name: "comment", placeholder: "评语（可选）", value: current ? current.comment || "" : "", test: "rating-comment" });
  const save = h("button", { class: "small", test: "rating-save", onclick: () => busy(save, out, async () => {
    const res = await post(`/communities/${cid}/evaluations`, { user_id: m.id, period, rating: rating.value, comment: comment.value.trim() });
    out.replaceChildren(ok(`已保存：${res.rating}`));
  }) }, current ? "修改" : "保存");
  const locked = current && current.locked;
  return h("li", { test: "member-rating", "data-user": m.id },
    h("h3", {}, m.name, " ", current ? badge(current.rating) : h("span", { class: "badge warn" }, "未评价"),
      locked ? h("span", { class: "badge grey" }, "已反馈单位，不可修改") : null),
    locked ? null : h("div", { class: "row" }, rating, comment, save),
    current && current.version > 1 ? history(current) : null, out);
}

// Every version of a rating that was changed, oldest first, shown on demand: who set what, when.
function history(current) {
  const box = h("div", { test: "rating-history", hidden: true });
  const toggle = h("button", { class: "small ghost", test: "rating-history-toggle", onclick: async () => {
    if (!box.hidden) { box.hidden = true; return; }
    box.hidden = false;
    await section(box, async () => h("ol", { class: "muted" }, (await get(`/evaluations/${current.id}/history`)).items.map((v) =>
      h("li", { test: "rating-version" }, `${v.rating}${v.comment ? "（" + v.comment + "）" : ""} · ${fmtTime(v.at)}`,
        v.actor_id != null ? ` · 操作人 ${v.actor_id}` : ""))));
  } }, `修改记录（${current.version} 版）`);
  return h("div", {}, toggle, box);
}

route("/staff/evaluations", "党员评价", async (view) => {
  const cid = await staffCommunity();
  const period = h("select", { name: "period", test: "period" }, quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const name = h("input", { name: "q", placeholder: "按姓名查找（可不填）", test: "rating-search" });
  const box = h("div");
  const load = () => section(box, async () => {
    const q = name.value.trim();
    const members = await approvedMembers(cid, q || null);
    const given = {};
    let cursor = null;
    do { // every rating of the quarter, not only the newest hundred
      const page = await get(`/communities/${cid}/evaluations`, { period: period.value, limit: 100, cursor });
      for (const e of page.items) given[e.user_id] = e;
      cursor = page.next_cursor;
    } while (cursor);
    if (!members.length) return h("div", { class: "empty" }, q ? "没有找到该党员" : "本社区还没有报到通过的党员");
    return h("ul", { class: "list", test: "ratings" }, members.map((m) => ratingItem(cid, period.value, m, given[m.id])));
  });
  period.addEventListener("change", load);
  let timer = null;
  name.addEventListener("input", () => { clearTimeout(timer); timer = later(300, load); });
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "每季度对报到党员作出评价，随服务情况一并反馈给其所在单位。"),
    field("季度", period), field("党员", name), box));
  load();
}, { back: true, name: "staff-evaluations" });

route("/staff/exports", "台账导出", async (view) => {
  const cid = await staffCommunity();
  view.append(h("div", { class: "card" }, h("h2", {}, "台账导出"), ledgerExport(`/communities/${cid}/exports`)));
}, { back: true, name: "staff-exports" });

// The community's time bank rules: a daily cap on what one person earns, and points expiring
// after some months; empty means none.
route("/staff/policy", "积分规则", async (view) => {
  const cid = await staffCommunity();
  const now = await get(`/communities/${cid}/timebank-policy`);
  const cap = h("input", { name: "daily_cap", type: "number", min: 1, value: now.daily_cap ?? "", placeholder: "不限", test: "policy-cap" });
  const expiry = h("input", { name: "expiry_months", type: "number", min: 1, value: now.expiry_months ?? "", placeholder: "永不过期", test: "policy-expiry" });
  const out = h("div", { test: "policy-result" });
  const submit = h("button", { class: "block", type: "submit", test: "policy-submit" }, "保存规则");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const p = await api("PUT", `/communities/${cid}/timebank-policy`, { body: { daily_cap: num(cap), expiry_months: num(expiry) } });
      out.replaceChildren(ok(`已保存：${p.daily_cap ? `每人每天最多 ${p.daily_cap} 分` : "每日不限"}，${p.expiry_months ? `积分 ${p.expiry_months} 个月后过期` : "积分不过期"}`));
    }, form);
  } }, field("每人每天最多获得积分（留空为不限）", cap), field("积分有效期（月，留空为不过期）", expiry), submit, out);
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "规则只影响此后发放的积分；超过每日上限的部分当天不发放。"), form));
}, { back: true, name: "staff-policy" });
