// Staff at the task: the live check-in/out QR (refreshes itself before it expires), who came,
// and confirming the attendances so the points are awarded.
import { get, newKey, post } from "./api.js";
import { badge, busy, every, fmtTime, h, minutesText, ok, reasonFirst, route, section } from "./core.js";
import { qrPanel } from "./qr.js";

// A claimer's row. Not yet awarded: 补录 (minutes by hand, with a reason) and 缺席 beside it.
function attendanceRow(a, taskId, reload) {
  const name = a.name || a.user_name || (a.user && (a.user.name || a.user.nickname)) || `用户${a.user_id}`;
  const inAt = a.checkin_at || a.checked_in_at || a.in_at;
  const outAt = a.checkout_at || a.checked_out_at || a.out_at;
  const awarded = a.awarded_at || a.awarded;
  const row = h("tr", { test: "attendance" }, h("td", {}, name), h("td", {}, fmtTime(inAt)), h("td", {}, outAt ? fmtTime(outAt) : "—"),
    h("td", {}, a.minutes != null ? minutesText(a.minutes) : "—"), h("td", {}, awarded ? h("span", { class: "badge ok", test: "awarded" }, `+${a.points ?? 0}分`) : a.status ? badge(a.status) : ""));
  if (awarded || a.user_id == null) return [row];
  const out = h("div");
  const minutes = h("input", { name: "minutes", type: "number", min: 1, placeholder: "分钟", style: "width:80px", test: "manual-minutes" });
  const reason = h("input", { name: "reason", placeholder: "补录原因，例如：现场协助未扫码", test: "manual-reason" });
  const manual = h("button", { class: "small", test: "manual", onclick: () => busy(manual, out, async () => {
    await post(`/tasks/${taskId}/attendances/${a.user_id}/manual`, { minutes: minutes.value === "" ? null : Number(minutes.value), reason: reason.value.trim() });
    reload();
  }) }, "补录");
  const absent = a.status === "absent" ? null : h("button", { class: "small ghost", test: "absent", onclick: () => busy(absent, out, async () => {
    await post(`/tasks/${taskId}/attendances/${a.user_id}/absent`);
    reload();
  }) }, "缺席");
  return [row, h("tr", { test: "attendance-actions" }, h("td", { colspan: 5 }, h("div", { class: "row" }, minutes, reason, manual, absent), out))];
}

// After the end: check out at the end whoever is still checked in. Before it: cancel, with a reason.
function taskActions(id, t, reload) {
  const out = h("div", { test: "task-action-result" });
  if (t.status === "cancelled") return out;
  if (Date.parse(t.ends_at) <= Date.now()) {
    const all = h("button", { class: "block ghost", test: "checkout-all", onclick: () => busy(all, out, async () => {
      const res = await post(`/tasks/${id}/checkout-all`);
      out.replaceChildren(ok(res.checked_out ? `已为 ${res.checked_out} 人签退（按结束时间）` : "没有未签退的人"));
      reload();
    }) }, "为未签退的人一键签退");
    return h("div", {}, all, out);
  }
  const reason = h("input", { name: "reason", placeholder: "取消原因（将通知已报名的人）", test: "cancel-reason", hidden: true });
  const cancel = h("button", { class: "block ghost", test: "cancel-task", onclick: reasonFirst(reason, () => busy(cancel, out, async () => {
    await post(`/tasks/${id}/cancel`, { reason: reason.value.trim() });
    reason.remove();
    cancel.remove();
    out.replaceChildren(ok("任务已取消，已通知报名的人"));
    reload();
  })) }, "取消任务");
  return h("div", {}, reason, cancel, out);
}

route("/staff/tasks/:id", "签到管理", async (view, { id }) => {
  const head = h("div");
  const list = h("div");
  const out = h("div", { test: "confirm-result" });
  // One Idempotency-Key until a confirm gets its answer: pressing again after a lost answer
  // (network) shows what the first press awarded instead of "nothing left to award".
  let key = newKey();
  const confirm = h("button", { class: "block", test: "confirm", onclick: () => busy(confirm, out, async () => {
    const res = await post(`/tasks/${id}/confirm`, {}, { "Idempotency-Key": key });
    key = newKey();
    const n = res.confirmed ?? res.awarded;
    const short = n - res.awarded; // minutes too few for a whole point: confirmed, nothing posted
    out.replaceChildren(ok(n ? `已确认 ${n} 人次，发放 ${res.points} 积分` + (short > 0 ? `（其中 ${short} 人次时长不足以折算积分）` : "")
      : "没有需要确认的记录（已全部发放）"));
    loadList(true);
  }) }, "确认服务时长并发放积分");
  const actions = h("div");
  view.append(h("div", { class: "card" }, head, actions), h("div", { class: "card" }, qrPanel(`/tasks/${id}/checkin-code`)),
    h("div", { class: "card" }, h("h2", {}, "签到情况"), list, confirm, out));
  // the head again after an action, its buttons and their message left as they are
  const loadHead = (withActions) => section(head, async () => {
    const t = await get(`/tasks/${id}`);
    if (withActions) actions.replaceChildren(taskActions(id, t, () => { loadHead(false); loadList(true); }));
    return [h("h2", { test: "task-title" }, t.title, badge(t.status)),
      h("div", { class: "muted" }, fmtTime(t.starts_at), " — ", fmtTime(t.ends_at), ` · 已报名 ${t.claimed_count ?? 0}/${t.capacity}`)];
  });
  loadHead(true);
  let first = true;
  const loadList = async (force = false) => {
    const fill = async () => {
      const page = await get(`/tasks/${id}/attendances`, { limit: 100 });
      if (!page.items.length) return h("div", { class: "empty", test: "no-attendance" }, "还没有人签到");
      return h("table", { test: "attendances" }, h("thead", {}, h("tr", {}, ["姓名", "签到", "签退", "时长", ""].map((x) => h("th", {}, x)))),
        h("tbody", {}, page.items.flatMap((a) => attendanceRow(a, id, () => loadList(true)))));
    };
    if (first) { first = false; return section(list, fill); }
    // the 5 s poll leaves the list alone while something is typed into it
    if (!force && [...list.querySelectorAll("input")].some((i) => i.value !== "")) return;
    try { list.replaceChildren(await fill()); } catch (e) { /* keep the last list; the next poll retries */ }
  };
  loadList();
  every(5000, () => loadList());
}, { back: true, name: "staff-task" });
