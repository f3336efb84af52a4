// Staff at the task: the live check-in/out QR (refreshes itself before it expires), who came,
// and confirming the attendances so the points are awarded.
import { blob, get, post, serverNow } from "./api.js";
import { badge, busy, errorBox, every, fmtTime, h, later, minutesText, ok, onLeave, route, section } from "./core.js";

function qrPanel(taskId) {
  let action = "in";
  const img = h("img", { alt: "签到二维码", test: "qr-image" });
  const code = h("code", { test: "qr-code" });
  const countdown = h("div", { class: "muted", test: "qr-countdown" });
  const status = h("div");
  let objectUrl = null;
  let expiresAt = 0;
  let refreshTimer = null;
  onLeave(() => { clearTimeout(refreshTimer); if (objectUrl) URL.revokeObjectURL(objectUrl); });

  const load = async () => {
    clearTimeout(refreshTimer);
    status.replaceChildren();
    try {
      const c = await get(`/tasks/${taskId}/checkin-code`, { action });
      code.textContent = c.code;
      code.dataset.action = action;
      expiresAt = Date.parse(c.expires_at);
      try { // the PNG may sit behind the token, so fetch it rather than <img src>
        const png = await blob(c.image_url, null, true);
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = URL.createObjectURL(png.blob);
        img.src = objectUrl;
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
      img.dataset.code = c.code;
      // refresh a few seconds before it expires, by the server's clock
      const left = c.refresh_after != null ? c.refresh_after * 1000 : Math.min(expiresAt - serverNow() - 5000, (expiresAt - serverNow()) * 0.8);
      refreshTimer = later(Math.max(1000, left), load);
    } catch (e) {
      status.replaceChildren(errorBox(e, load));
      refreshTimer = later(10000, load);
    }
  };
  every(1000, () => {
    const s = Math.max(0, Math.round((expiresAt - serverNow()) / 1000));
    countdown.textContent = expiresAt ? `二维码 ${s} 秒后失效，会自动刷新` : "";
  });
  const tabIn = h("button", { class: "small", test: "qr-in", onclick: () => switchTo("in") }, "签到码");
  const tabOut = h("button", { class: "small ghost", test: "qr-out", onclick: () => switchTo("out") }, "签退码");
  const switchTo = (a) => {
    action = a;
    tabIn.className = "small" + (a === "in" ? "" : " ghost");
    tabOut.className = "small" + (a === "out" ? "" : " ghost");
    load();
  };
  load();
  return h("div", { class: "qr" }, h("div", { class: "row", style: "justify-content:center" }, tabIn, tabOut),
    h("p", {}, img), countdown, code, status);
}

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
  const confirm = h("button", { class: "block", test: "confirm", onclick: () => busy(confirm, out, async () => {
    const res = await post(`/tasks/${id}/confirm`);
    out.replaceChildren(ok(res.awarded ? `已确认 ${res.awarded} 人次，发放 ${res.points} 积分` : "没有需要确认的记录（已全部发放）"));
    loadList();
  }) }, "确认服务时长并发放积分");
  view.append(h("div", { class: "card" }, head), h("div", { class: "card" }, qrPanel(id)),
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
