// Staff's records: the quarter's ratings of the community's members (they go back to the
// members' units with their figures) and the 台账 exports.
import { get, post } from "./api.js";
import { badge, busy, field, h, ok, route, section } from "./core.js";
import { jobPanel, quarterLabel, quarters } from "./jobs.js";
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
    locked ? null : h("div", { class: "row" }, rating, comment, save), out);
}

route("/staff/evaluations", "党员评价", async (view) => {
  const cid = await staffCommunity();
  const members = await approvedMembers(cid);
  const period = h("select", { name: "period", test: "period" }, quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const box = h("div");
  const load = () => section(box, async () => {
    const given = {};
    for (const e of (await get(`/communities/${cid}/evaluations`, { period: period.value, limit: 100 })).items) given[e.user_id] = e;
    if (!members.length) return h("div", { class: "empty" }, "本社区还没有报到通过的党员");
    return h("ul", { class: "list", test: "ratings" }, members.map((m) => ratingItem(cid, period.value, m, given[m.id])));
  });
  period.addEventListener("change", load);
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "每季度对报到党员作出评价，随服务情况一并反馈给其所在单位。"),
    field("季度", period), box));
  load();
}, { back: true, name: "staff-evaluations" });

const KINDS = [["members", "党员名册"], ["reports", "报到记录"], ["tasks", "志愿任务"], ["attendances", "签到记录"],
  ["transfers", "积分流水"], ["households", "联系家庭"], ["meetings", "三会一课"]];

route("/staff/exports", "台账导出", async (view) => {
  const cid = await staffCommunity();
  const kind = h("select", { name: "kind", test: "export-kind" }, KINDS.map(([k, t]) => h("option", { value: k }, t)));
  const format = h("select", { name: "format", test: "export-format" },
    h("option", { value: "xlsx" }, "Excel（xlsx）"), h("option", { value: "csv" }, "CSV（Excel 可直接打开）"));
  const period = h("select", { name: "period", test: "export-period" }, h("option", { value: "" }, "全部"),
    quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const label = () => KINDS.find(([k]) => k === kind.value)[1];
  const panel = jobPanel("生成台账", async () => {
    const body = { kind: kind.value, format: format.value };
    if (period.value) body.period = period.value;
    return (await post(`/communities/${cid}/exports`, body)).job_id;
  }, () => `${label()}${period.value ? "-" + period.value : ""}.${format.value}`);
  view.append(h("div", { class: "card" }, h("h2", {}, "台账导出"), field("内容", kind), field("格式", format), field("期间", period), panel));
}, { back: true, name: "staff-exports" });
