// Staff (社区工作者): pending 双报到 reports, the community's tasks, 微心愿 to approve, new task.
import { get, me, newKey, post } from "./api.js";
import { badge, busy, field, fmtTime, go, h, isoToLocal, localToIso, num, ok, reasonFirst, route, section } from "./core.js";
import { roleScope } from "./session.js";
import { skillChips, skillNames } from "./member.js";
import { linkGrid, STAFF_LINKS } from "./partywork.js";

export async function staffCommunity() {
  const user = await me();
  const cid = roleScope(user, "staff", "community_id");
  if (!cid) throw new Error("您不是社区工作者");
  return cid;
}

const masked = (p) => p || "—";

// 通过 / 驳回 of a pending report at `path` (驳回 asks for the reason first); `done(status)` after.
// `test` prefixes the buttons' test names ("" for members' reports, "unit-" for units').
function decision(path, done, test = "") {
  const out = h("div");
  const reason = h("input", { name: "reason", placeholder: "驳回原因", test: test + "reject-reason", hidden: true });
  const decide = (approve, b) => busy(b, out, async () => {
    const res = await post(path, approve ? { approve: true } : { approve: false, reason: reason.value.trim() || "信息不完整" });
    done(res.status || (approve ? "approved" : "rejected"));
  });
  const approve = h("button", { class: "small", test: test + "approve", onclick: () => decide(true, approve) }, "通过");
  const reject = h("button", { class: "small ghost", test: test + "reject", onclick: reasonFirst(reason, () => decide(false, reject)) }, "驳回");
  return { buttons: [approve, reject], below: [reason, out] };
}

function reportItem(r) {
  const d = decision(`/member-reports/${r.id}/decision`, (status) => li.replaceChildren(h("div", {}, r.name, " ", badge(status))));
  const li = h("li", { test: "pending-report", "data-id": r.id },
    h("div", { class: "row" }, h("div", { class: "grow" },
      h("h3", {}, r.name || r.user_name || "报到人"),
      h("div", { class: "muted" }, r.unit_name || (r.unit && r.unit.name) || "", " · ", masked(r.phone)),
      (r.skills || []).length ? h("div", { class: "muted" }, "特长：", r.skills.join("、")) : null,
      h("div", { class: "muted" }, "提交于 ", fmtTime(r.created_at))), ...d.buttons),
    ...d.below);
  return li;
}

// What a unit's 报到 offers and asks for, a line each.
export const offers = (r) => [
  (r.resources || []).length ? h("div", { class: "muted" }, "资源：", r.resources.join("、")) : null,
  (r.needs || []).length ? h("div", { class: "muted" }, "需求：", r.needs.join("、")) : null];

// A unit's 报到 to the community, to approve or reject.
function unitReportItem(r) {
  const name = r.unit_name || `单位${r.unit_id}`;
  const d = decision(`/unit-reports/${r.id}/decision`,
    (status) => li.replaceChildren(h("div", { test: "decided-unit-report" }, name, " ", badge(status))), "unit-");
  const li = h("li", { test: "pending-unit-report" },
    h("div", { class: "row" }, h("div", { class: "grow" }, h("h3", {}, name),
      offers(r), h("div", { class: "muted" }, "提交于 ", fmtTime(r.created_at))), ...d.buttons),
    ...d.below);
  return li;
}

route("/staff", "社区工作台", async (view) => {
  const cid = await staffCommunity();
  const community = h("div");
  const reports = h("div");
  const unitReports = h("div");
  const tasks = h("div");
  const wishes = h("div");
  view.append(
    h("div", { class: "card" }, community, h("a", { class: "btn block", href: "#/staff/new-task", test: "go-new-task" }, "发布志愿任务")),
    h("div", { class: "card" }, h("h2", {}, "党建工作"), linkGrid(STAFF_LINKS)),
    h("div", { class: "card" }, h("h2", {}, "爱心超市"),
      h("a", { class: "btn block ghost", href: "#/staff/shelf", test: "go-shelf" }, "核销与上架（居民出示领取码）")),
    h("div", { class: "card" }, h("h2", {}, "待审核的报到"), reports),
    h("div", { class: "card" }, h("h2", {}, "待审核的单位报到"), unitReports),
    h("div", { class: "card" }, h("h2", {}, "本社区任务"), tasks),
    h("div", { class: "card" }, h("h2", {}, "待审核的微心愿"), wishes),
  );
  section(community, async () => {
    const c = await get(`/communities/${cid}`);
    return [h("h2", { test: "community-name" }, c.name), h("div", { class: "muted" }, c.street || "")];
  });
  const loadReports = () => section(reports, async () => {
    const page = await get(`/communities/${cid}/member-reports`, { status: "pending" });
    return page.items.length ? h("ul", { class: "list" }, page.items.map(reportItem))
      : h("div", { class: "empty", test: "no-pending" }, "没有待审核的报到");
  });
  loadReports();
  section(unitReports, async () => {
    const page = await get(`/communities/${cid}/unit-reports`, { status: "pending" });
    return page.items.length ? h("ul", { class: "list" }, page.items.map(unitReportItem))
      : h("div", { class: "empty", test: "no-pending-units" }, "没有待审核的单位报到");
  });
  section(tasks, async () => {
    const page = await get(`/communities/${cid}/tasks`, { limit: 50 });
    return page.items.length ? h("ul", { class: "list", test: "staff-tasks" }, page.items.map((t) => h("li", { test: "staff-task", "data-id": t.id },
      h("a", { href: `#/staff/tasks/${t.id}` }, h("h3", {}, t.title, badge(t.status)),
        h("div", { class: "muted" }, fmtTime(t.starts_at), ` · 已报名 ${t.claimed_count ?? 0}/${t.capacity}`)))))
      : h("div", { class: "empty" }, "还没有任务");
  });
  section(wishes, async () => {
    const page = await get(`/communities/${cid}/wishes`, { status: "待审批" });
    if (!page.items.length) return h("div", { class: "empty" }, "没有待审核的心愿");
    return h("ul", { class: "list" }, page.items.map((w) => {
      const out = h("div");
      const decide = (approve, b) => busy(b, out, async () => {
        const res = await post(`/wishes/${w.id}/decision`, approve ? { approve } : { approve, reason: "暂不符合条件" });
        li.replaceChildren(h("div", {}, w.title, " ", badge(res.status || (approve ? "已通过" : "已驳回"))));
      });
      const yes = h("button", { class: "small", test: "approve-wish", onclick: () => decide(true, yes) }, "通过");
      const no = h("button", { class: "small ghost", onclick: () => decide(false, no) }, "不通过");
      const li = h("li", { test: "pending-wish" }, h("div", { class: "row" },
        h("div", { class: "grow" }, h("h3", {}, w.title), h("div", { class: "muted" }, w.description || "")), yes, no), out);
      return li;
    }));
  });
}, { name: "staff" });

const CATEGORIES = ["环境整治", "助老助残", "文明宣传", "治安巡逻", "便民服务", "疫情防控", "其他"];

route("/staff/new-task", "发布任务", async (view) => {
  const cid = await staffCommunity();
  const hour = 3600e3;
  // soon by default (about 10 minutes away), so a demo can be clicked through at once: members
  // claim before the start, check in from 2 hours before, and minutes count from the start
  const start = Math.ceil((Date.now() + 10 * 60e3) / (5 * 60e3)) * 5 * 60e3;
  const f = {
    title: h("input", { name: "title", test: "task-title" }),
    description: h("textarea", { name: "description", test: "task-description" }),
    category: h("select", { name: "category", test: "task-category" }, CATEGORIES.map((c) => h("option", { value: c }, c))),
    starts_at: h("input", { name: "starts_at", type: "datetime-local", value: isoToLocal(start), test: "task-starts" }),
    ends_at: h("input", { name: "ends_at", type: "datetime-local", value: isoToLocal(start + hour), test: "task-ends" }),
    place: h("input", { name: "location", placeholder: "例如：社区党群服务中心", test: "task-place" }),
    lat: h("input", { name: "lat", type: "number", step: "any", placeholder: "纬度（可选）", test: "task-lat" }),
    lng: h("input", { name: "lng", type: "number", step: "any", placeholder: "经度（可选）", test: "task-lng" }),
    capacity: h("input", { name: "capacity", type: "number", min: 1, value: 10, test: "task-capacity" }),
    points: h("input", { name: "points_per_hour", type: "number", min: 0, value: 10, test: "task-points" }),
  };
  const skills = new Set();
  const here = h("button", { type: "button", class: "small ghost", onclick: () => navigator.geolocation && navigator.geolocation.getCurrentPosition(
    (p) => { f.lat.value = p.coords.latitude.toFixed(6); f.lng.value = p.coords.longitude.toFixed(6); }) }, "使用当前位置");
  const out = h("div", { test: "task-result" });
  const submit = h("button", { class: "block", type: "submit", test: "task-submit" }, "发布");
  const idem = newKey(); // this form's task: submitting again after a lost answer does not post it twice
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const location = { name: f.place.value.trim() };
      if (num(f.lat) !== null && num(f.lng) !== null) Object.assign(location, { lat: num(f.lat), lng: num(f.lng) });
      const task = await post(`/communities/${cid}/tasks`, {
        title: f.title.value.trim(), description: f.description.value.trim(), category: f.category.value,
        starts_at: localToIso(f.starts_at.value), ends_at: localToIso(f.ends_at.value), location,
        capacity: num(f.capacity), points_per_hour: num(f.points), skills: [...skills],
      }, { "Idempotency-Key": idem });
      out.replaceChildren(ok("任务已发布"));
      go(`#/staff/tasks/${task.id}`);
    }, form);
  } },
  field("标题", f.title), field("说明", f.description), field("类别", f.category),
  field("开始时间", f.starts_at), field("结束时间", f.ends_at), field("地点", f.place),
  h("div", { class: "row" }, f.lat, f.lng), here,
  field("名额", f.capacity), field("每小时积分", f.points), field("所需技能", skillChips(skills, await skillNames())), submit, out);
  view.append(h("div", { class: "card" }, form));
}, { back: true, name: "new-task" });
