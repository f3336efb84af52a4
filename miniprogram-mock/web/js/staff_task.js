// Staff at the task: the live check-in/out QR (refreshes itself before it expires), who came,
// and confirming the attendances so the points are awarded.
import { get, newKey, post } from "./api.js";
import { badge, busy, every, fmtTime, h, minutesText, ok, route, section } from "./core.js";
import { qrPanel } from "./qr.js";

function attendanceRow(a) {
  const name = a.name || a.user_name || (a.user && (a.user.name || a.user.nickname)) || `用户${a.user_id}`;
  const inAt = a.checkin_at || a.checked_in_at || a.in_at;
  const outAt = a.checkout_at || a.checked_out_at || a.out_at;
  const awarded = a.awarded_at || a.awarded;
  return h("tr", { test: "attendance" }, h("td", {}, name), h("td", {}, fmtTime(inAt)), h("td", {}, outAt ? fmtTime(outAt) : "—"),
    h("td", {}, a.minutes != null ? minutesText(a.minutes) : "—"), h("td", {}, awarded ? h("span", { class: "badge ok", test: "awarded" }, `+${a.points ?? 0}分`) : a.status ? badge(a.status) : ""));
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
    loadList();
  }) }, "确认服务时长并发放积分");
  view.append(h("div", { class: "card" }, head), h("div", { class: "card" }, qrPanel(`/tasks/${id}/checkin-code`)),
    h("div", { class: "card" }, h("h2", {}, "签到情况"), list, confirm, out));
  section(head, async () => {
    const t = await get(`/tasks/${id}`);
    return [h("h2", { test: "task-title" }, t.title, badge(t.status)),
      h("div", { class: "muted" }, fmtTime(t.starts_at), " — ", fmtTime(t.ends_at), ` · 已报名 ${t.claimed_count ?? 0}/${t.capacity}`)];
  });
  let first = true;
  const loadList = async () => {
    const fill = async () => {
      const page = await get(`/tasks/${id}/attendances`, { limit: 100 });
      if (!page.items.length) return h("div", { class: "empty", test: "no-attendance" }, "还没有人签到");
      return h("table", { test: "attendances" }, h("thead", {}, h("tr", {}, ["姓名", "签到", "签退", "时长", ""].map((x) => h("th", {}, x)))),
        h("tbody", {}, page.items.map(attendanceRow)));
    };
    if (first) { first = false; return section(list, fill); }
    try { list.replaceChildren(await fill()); } catch (e) { /* keep the last list; the next poll retries */ }
  };
  loadList();
  every(5000, loadList);
}, { back: true, name: "staff-task" });
