// Volunteer tasks: the list (recommended first), one task, claim and cancel.
import { api, get, post } from "./api.js";
import { badge, busy, fmtTime, h, ok, route, section } from "./core.js";

const place = (t) => (t.location && (t.location.name || "")) || t.location_name || "";
const seats = (t) => `${t.claimed_count ?? 0}/${t.capacity ?? "—"} 人`;

export function taskItem(t) {
  return h("li", { test: "task-item", "data-id": t.id },
    h("a", { href: "#/tasks/" + t.id },
      h("h3", {}, t.title, (t.recommended || t.skill_match > 0) ? h("span", { class: "badge", test: "recommended" }, "推荐") : null,
        t.my_claim && t.my_claim.status !== "cancelled" ? h("span", { class: "badge ok" }, "已报名") : null),
      h("div", { class: "muted" }, fmtTime(t.starts_at), " · ", place(t) || "地点待定", " · ", seats(t),
        t.points_per_hour ? ` · ${t.points_per_hour} 分/小时` : "")));
}

const ATTENDED = { checked_in: "已签到", checked_out: "已签退", absent: "缺席" };

// One of my tasks: when, where, and what my attendance came to.
function myTaskItem(t) {
  const a = t.my_attendance;
  const record = a ? [ATTENDED[a.status] || a.status, a.minutes ? `${a.minutes} 分钟` : null,
    a.awarded_at ? `+${a.points} 积分` : a.status === "checked_out" ? "待确认积分" : null].filter(Boolean).join(" · ") : null;
  return h("li", { test: "my-task", "data-id": t.id },
    h("a", { href: "#/tasks/" + t.id },
      h("div", { class: "row" }, h("h3", { class: "grow" }, t.title), badge(t.phase)),
      h("div", { class: "muted" }, fmtTime(t.starts_at), " · ", place(t) || "地点待定"),
      record ? h("div", { test: "my-attendance" }, record) : null));
}

route("/tasks", "志愿任务", async (view) => {
  const box = h("div");
  const more = h("div");
  const mine = h("div", { test: "my-tasks" });
  const history = h("div", { test: "my-history" });
  const showHistory = h("button", { class: "block ghost", test: "show-history", onclick: () => {
    showHistory.remove();
    section(history, async () => {
      const page = await get("/me/tasks", { status: "ended", limit: 50 });
      return page.items.length ? h("ul", { class: "list" }, page.items.map(myTaskItem)) : h("div", { class: "empty" }, "还没有参加过的任务");
    });
  } }, "参加过的任务");
  view.append(h("div", { class: "card" }, h("h2", {}, "我报名的"), mine, history, showHistory),
    h("div", { class: "card" }, h("h2", {}, "可报名的任务"), h("p", { class: "muted" }, "按您的特长和社区推荐排序"), box, more));
  section(mine, async () => {
    const page = await get("/me/tasks", { status: "open", limit: 50 });
    return page.items.length ? h("ul", { class: "list" }, page.items.map(myTaskItem)) : h("div", { class: "empty" }, "还没有报名的任务");
  });
  let cursor = null;
  const list = h("ul", { class: "list", test: "task-list" });
  const load = async () => {
    const page = await get("/tasks", { recommended: 1, status: "open", cursor });
    list.append(...page.items.map(taskItem));
    cursor = page.next_cursor;
    more.replaceChildren(cursor ? h("button", { class: "block ghost", onclick: (e) => busy(e.target, null, load) }, "加载更多") : "");
    if (!list.children.length) list.append(h("li", { class: "empty" }, "暂无可报名的任务"));
  };
  await section(box, async () => { await load(); return list; });
}, { name: "tasks" });

route("/tasks/:id", "任务详情", async (view, { id }) => {
  const box = h("div", { class: "card" });
  view.append(box);
  const render = async () => {
    const t = await get("/tasks/" + id);
    const claimed = t.my_claim && t.my_claim.status !== "cancelled";
    const out = h("div", { test: "claim-result" });
    const claim = h("button", { class: "block", test: "claim", onclick: () => busy(claim, out, async () => {
      await post(`/tasks/${id}/claims`);
      await section(box, render);
      box.append(ok("报名成功，请按时到场扫码签到"));
    }) }, "我要报名");
    const cancel = h("button", { class: "block ghost", test: "cancel-claim", onclick: () => busy(cancel, out, async () => {
      await api("DELETE", `/tasks/${id}/claims/me`);
      await section(box, render);
      box.append(ok("已取消报名"));
    }) }, "取消报名");
    return [
      h("h2", { test: "task-title" }, t.title, badge(t.status)),
      h("p", {}, t.description || ""),
      h("table", {}, h("tbody", {},
        h("tr", {}, h("th", {}, "时间"), h("td", {}, fmtTime(t.starts_at), " — ", fmtTime(t.ends_at))),
        h("tr", {}, h("th", {}, "地点"), h("td", {}, place(t) || "—")),
        h("tr", {}, h("th", {}, "类别"), h("td", {}, t.category || "—")),
        h("tr", {}, h("th", {}, "名额"), h("td", { test: "seats" }, seats(t))),
        h("tr", {}, h("th", {}, "积分"), h("td", {}, `${t.points_per_hour ?? 0} 分/小时`)),
        (t.skills || []).length ? h("tr", {}, h("th", {}, "技能"), h("td", {}, t.skills.join("、"))) : null)),
      claimed ? h("div", { class: "success", test: "claimed" }, "您已报名") : null,
      claimed ? h("a", { class: "btn block", href: "#/scan", test: "go-scan" }, "到场扫码签到") : null,
      claimed ? cancel : claim,
      out,
    ];
  };
  await section(box, render);
}, { back: true, name: "task" });
