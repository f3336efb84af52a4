// Resident / member: home, the 双报到 form with community and unit search, 微心愿.
import { api, get, me, post } from "./api.js";
import { badge, busy, field, fmtTime, go, h, later, ok, route, section } from "./core.js";
import { roleScope } from "./session.js";
import { taskItem } from "./tasks.js";

const nameOf = (x, key) => (x == null ? null : typeof x === "string" ? x : x[key + "_name"] || (x[key] && (x[key].name || x[key])) || null);

export function liveReport(user) {
  const reports = (user.reports || []).filter((r) => !r.kind || r.kind === "member");
  return reports.find((r) => r.status === "approved") || reports.find((r) => r.status === "pending") || reports[0] || null;  // newest first
}

// The community a member belongs to: the member role's scope, else the live report's.
export function myCommunityId(user) {
  const r = liveReport(user);
  return roleScope(user, "member", "community_id") || (r && r.community_id) || null;
}

function reportCard(user) {
  const r = liveReport(user);
  if (!r) {
    return h("div", { class: "card", test: "report-status" }, h("h2", {}, "双报到"),
      h("p", { class: "muted" }, "您还没有向居住社区报到。"),
      h("a", { class: "btn block", href: "#/report", test: "go-report" }, "去报到"));
  }
  return h("div", { class: "card", test: "report-status" },
    h("h2", {}, "我的报到", badge(r.status)),
    h("div", {}, "社区：", nameOf(r, "community") || r.community_id),
    h("div", {}, "单位：", nameOf(r, "unit") || r.unit_id || "—"),
    r.reason ? h("div", { class: "muted" }, "驳回原因：", r.reason) : null,
    r.created_at ? h("div", { class: "muted" }, "提交于 ", fmtTime(r.created_at)) : null,
    r.status === "rejected" ? h("a", { class: "btn block ghost", href: "#/report" }, "重新报到") : null);
}

route("/me", "我的", async (view) => {
  const user = await me(true);
  const isMember = (user.roles || []).some((r) => r.role === "member");
  const actions = [["#/tasks", "任", "志愿任务"], ["#/scan", "扫", "扫码签到"], ["#/points", "分", "我的积分"], ["#/rewards", "兑", "积分兑换"],
    ["#/donate", "赠", "积分转赠"], ["#/certificate", "证", "服务证明"], ["#/wish", "愿", "微心愿"], ["#/report", "报", "双报到"],
    ["#/me/duty", "岗", "我的岗位"], ["#/me/households", "家", "联系家庭"], ["#/me/meetings", "会", "组织生活"],
    ["#/leaderboard", "榜", "积分榜"], ["#/me/messages", "信", "消息"], ["#/me/data", "数", "我的数据"]];
  const tasksBox = h("div");
  const consentBox = h("div");
  view.append(
    h("div", { class: "card" }, h("h2", { test: "greeting" }, "你好，", user.name || user.nickname),
      h("div", { class: "muted" }, isMember ? "在职党员 · 已报到" : "居民"),
      // staff or an admin grant roles by this number
      h("div", { class: "muted", test: "user-id" }, `用户编号 ${user.id}`)),
    reportCard(user),
    h("div", { class: "card" }, h("div", { class: "grid" }, actions.map(([href, i, t]) => h("a", { href }, h("span", { class: "i" }, i), t)))),
    h("div", { class: "card" }, h("h2", {}, "为您推荐"), tasksBox),
    h("div", { class: "card" }, h("h2", {}, "个人信息授权"), consentBox),
  );
  section(consentBox, () => consents(consentBox));
  section(tasksBox, async () => {
    const page = await get("/tasks", { recommended: 1, status: "open", limit: 3 });
    return page.items.length ? h("ul", { class: "list" }, page.items.map(taskItem)) : h("div", { class: "empty" }, "暂无可报名的任务");
  });
}, { name: "me" });

// What the person allows to be shared (e.g. their service figures with their employer unit).
async function consents(box) {
  const page = await get("/me/consents");
  if (!page.items.length) return h("div", { class: "empty" }, "暂无需要授权的事项");
  return h("ul", { class: "list" }, page.items.map((c) => {
    const out = h("div");
    const b = h("button", { class: "small" + (c.granted ? " ghost" : ""), test: "consent-" + c.purpose, onclick: () => busy(b, out, async () => {
      await api("PUT", `/me/consents/${c.purpose}`, { body: { granted: !c.granted } });
      section(box, () => consents(box));
    }) }, c.granted ? "撤回授权" : "同意授权");
    return h("li", { test: "consent" }, h("div", { class: "row" }, h("div", { class: "grow" }, c.description || c.purpose,
      h("div", { class: "muted", test: "consent-state" }, c.granted ? "已授权" : "未授权")), b), out);
  }));
}

// A search box: `find(q)` gives the items for what is typed (each with a name), `onPick(item)`
// when one is chosen; `test` names the input, `parts` the rest (parts-results, -option, -chosen).
export function searchBox({ test, parts = test, placeholder, name, find, onPick, detail = () => "" }) {
  const input = h("input", { name, placeholder, autocomplete: "off", test });
  const results = h("div", { class: "results", test: parts + "-results", hidden: true });
  const chosen = h("div", { class: "muted", test: parts + "-chosen" });
  let timer = null;
  const search = async () => {
    results.hidden = false;
    results.replaceChildren(h("div", { class: "loading" }, "搜索中…"));
    try {
      const items = await find(input.value.trim());
      results.replaceChildren(...(items.length ? items.map((it) => h("div", { test: parts + "-option",
        onclick: () => { clearTimeout(timer); results.hidden = true; input.value = it.name; chosen.textContent = "已选择：" + it.name; onPick(it); } },
        it.name, detail(it)))
        : [h("div", { class: "empty" }, "没有找到")]));
    } catch (e) {
      results.replaceChildren(h("div", { class: "error" }, e.message));
    }
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = later(250, search); });
  input.addEventListener("focus", () => { if (!input.value) search(); });
  return h("div", {}, input, results, chosen);
}

// A search box over GET /communities?q= or /units?q=; `onPick(item)` when one is chosen.
export const picker = (kind, placeholder, onPick, name) => searchBox({
  test: kind + "-search", parts: kind, placeholder, name, onPick, find: async (q) => (await get("/" + kind, { q })).items });

// The skills a report may name come from the API; this list only stands in if it cannot answer.
const SKILLS = ["医疗护理", "法律咨询", "心理疏导", "教育辅导", "文艺宣传", "信息技术", "维修服务", "助老助残"];
let skillList = null;
export async function skillNames() {
  if (!skillList) {
    try { skillList = (await get("/member-reports/skills")).skills; } catch (e) { return SKILLS; }
  }
  return skillList;
}

export function skillChips(selected, list) {
  return h("div", { class: "chips", test: "skills" }, list.map((s) => {
    const chip = h("span", { class: "chip", test: "skill", onclick: () => {
      if (selected.has(s)) selected.delete(s); else selected.add(s);
      chip.classList.toggle("on", selected.has(s));
    } }, s);
    return chip;
  }));
}

route("/report", "双报到", async (view) => {
  const user = await me();
  const pick = { community: null, unit: null };
  const skills = new Set();
  const grid = h("select", { name: "grid_id", test: "grid" }, h("option", { value: "" }, "请先选择社区"));
  const out = h("div", { test: "report-result" });
  const submit = h("button", { class: "block", type: "submit", test: "report-submit" }, "提交报到");
  const name = h("input", { name: "name", value: user.name || "", test: "report-name" });
  const phone = h("input", { name: "phone", type: "tel", maxlength: 11, test: "report-phone" });
  const more = h("input", { name: "skills_other", placeholder: "其他特长（选填）" });
  const skillOptions = await skillNames();
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const body = {
        community_id: pick.community && pick.community.id, unit_id: pick.unit && pick.unit.id,
        name: name.value.trim(), phone: phone.value.trim(),
        skills: [...skills],
      };
      if (more.value.trim()) body.skills_other = more.value.trim();
      if (grid.value) body.grid_id = Number(grid.value);
      const res = await post("/member-reports", body);
      out.replaceChildren(ok("报到已提交，等待社区审核"), h("div", {}, "状态：", badge(res.status)));
      later(1200, () => go("#/me"));
    }, form);
  } },
  field("居住社区", picker("communities", "输入社区名称搜索", async (c) => {
    pick.community = c;
    grid.replaceChildren(h("option", { value: "" }, "加载中…"));
    try {
      const page = await get(`/communities/${c.id}/grids`);
      grid.replaceChildren(h("option", { value: "" }, "不选择网格"), ...page.items.map((g) => h("option", { value: g.id }, g.name)));
    } catch (e) { grid.replaceChildren(h("option", { value: "" }, e.message)); }
  }, "community_id")),
  field("工作单位", picker("units", "输入单位名称搜索", (u) => { pick.unit = u; }, "unit_id")),
  field("网格（可选）", grid),
  field("姓名", name),
  field("手机号", phone),
  field("特长技能", skillChips(skills, skillOptions)), more,
  submit, out);
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "在职党员向居住地社区报到，参与社区服务。"), form));
}, { back: true, name: "report" });

const OPEN_WISH = ["待审批", "已通过", "已认领"];

// The wishes I posted (confirm when fulfilled, rate, cancel) and those I claimed.
async function myWishes(user, reload) {
  const page = await get("/me/wishes", { limit: 50 });
  if (!page.items.length) return h("div", { class: "empty" }, "还没有发布或认领的心愿");
  return h("ul", { class: "list" }, page.items.map((w) => {
    const posted = w.user_id === user.id;
    const act = (label, test, fn, cls = "small") => {
      const b = h("button", { class: cls, test, onclick: () => busy(b, null, async () => { if (await fn() !== false) reload(); }) }, label);
      return b;
    };
    const actions = [];
    if (posted && w.status === "已认领") actions.push(act("确认完成", "wish-complete", () => post(`/wishes/${w.id}/complete`)));
    if (posted && w.status === "已完成") {
      const stars = h("select", { name: "rating", test: "wish-rating", style: "width:auto" },
        [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, "★".repeat(n))));
      actions.push(stars, act("评价", "wish-rate", () => post(`/wishes/${w.id}/rating`, { rating: Number(stars.value) })));
    }
    if (OPEN_WISH.includes(w.status)) {
      actions.push(act("取消", "wish-cancel", () => (confirm("确定取消这个心愿吗？") ? post(`/wishes/${w.id}/cancel`) : false), "small ghost"));
    }
    const who = posted ? (w.claimer_name ? `认领人：${w.claimer_name}` : "") : `我认领的 · 发布人：${w.resident_name || "—"}`;
    const extra = w.status === "已驳回" && w.decision_reason ? `驳回原因：${w.decision_reason}`
      : w.rating ? `评价：${"★".repeat(w.rating)}` : "";
    return h("li", { test: "my-wish" },
      h("div", { class: "row" }, h("h3", { class: "grow" }, w.title), badge(w.status)),
      h("div", { class: "muted" }, [fmtTime(w.created_at), who, extra].filter(Boolean).join(" · ")),
      actions.length ? h("div", { class: "row", style: "margin-top:6px" }, ...actions) : null);
  }));
}

route("/wish", "微心愿", async (view) => {
  const user = await me();
  const cid = myCommunityId(user);
  const out = h("div", { test: "wish-result" });
  const submit = h("button", { class: "block", type: "submit", test: "wish-submit" }, "发布心愿");
  const title = h("input", { name: "title", placeholder: "例如：希望有人帮忙修理轮椅", test: "wish-title" });
  const desc = h("textarea", { name: "description", placeholder: "具体说明" });
  const type = h("select", { name: "type", test: "wish-type" }, h("option", { value: "物质" }, "物质心愿（如轮椅、书包）"), h("option", { value: "精神" }, "精神心愿（如陪伴、辅导）"));
  let community = cid ? { id: cid } : null;
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      if (!community) throw new Error("请先选择社区");
      await post(`/communities/${community.id}/wishes`, { title: title.value.trim(), description: desc.value.trim(), type: type.value });
      out.replaceChildren(ok("心愿已提交，社区审核后公开"));
      title.value = ""; desc.value = "";
      loadMine();
    }, form);
  } },
  cid ? null : field("所在社区", picker("communities", "输入社区名称搜索", (c) => { community = c; })),
  field("心愿", title), field("类型", type), field("说明", desc), submit, out);
  const open = h("div");
  const mine = h("div", { test: "my-wishes" });
  const loadMine = () => section(mine, () => myWishes(user, loadMine));
  view.append(h("div", { class: "card" }, h("h2", {}, "许一个微心愿"), form),
    h("div", { class: "card" }, h("h2", {}, "我的心愿"), mine),
    h("div", { class: "card" }, h("h2", {}, "可认领的心愿"), open));
  loadMine();
  if (!cid) return open.replaceChildren(h("div", { class: "empty" }, "报到后可认领本社区的心愿"));
  section(open, async () => {
    const page = await get(`/communities/${cid}/wishes`, { status: "已通过" });
    if (!page.items.length) return h("div", { class: "empty" }, "暂无待认领的心愿");
    return h("ul", { class: "list" }, page.items.map((w) => {
      const b = h("button", { class: "small", onclick: () => busy(b, null, async () => {
        await post(`/wishes/${w.id}/claims`);
        b.replaceWith(badge("已认领"));
      }) }, "认领");
      return h("li", { class: "row" }, h("div", { class: "grow" }, h("h3", {}, w.title), h("div", { class: "muted" }, w.type ? `[${w.type}] ` : "", w.description || "", w.resident_name ? ` · ${w.resident_name}` : "")), b);
    }));
  });
}, { back: true, name: "wish" });
