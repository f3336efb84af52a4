// Party work beyond one-off tasks: duty posts and logs, households and visits, meetings (三会一课),
// and for staff also quiet members and 共驻共建 needs with their matches.
import { get, newKey, post } from "./api.js";
import { badge, busy, every, field, fmtDate, fmtTime, h, isoToLocal, localToIso, minutesText, ok, route, section } from "./core.js";
import { qrPanel } from "./qr.js";
import { staffCommunity } from "./staff.js";

const LABEL = {
  pending: ["待确认", "warn"], confirmed: ["已确认", "ok"], active: ["在岗", "ok"], ended: ["已离岗", "grey"],
  rejected: ["未通过", "grey"], expected: ["待签到", "warn"], present: ["已签到", "ok"], leave: ["请假", "grey"],
};
const tag = (s) => (LABEL[s] ? h("span", { class: "badge " + LABEL[s][1], test: "status" }, LABEL[s][0]) : badge(s));
const list = (items, render, test, empty) => (items.length
  ? h("ul", { class: "list", test }, items.map(render)) : h("div", { class: "empty" }, empty));
const today = () => isoToLocal(Date.now()).slice(0, 10);
const num = (el) => (el.value === "" ? null : Number(el.value));
// a when-input and a minutes-input side by side, each with its label
const labelled = (whenText, when, minutesText_, minutes) => h("div", { class: "row" },
  h("div", { class: "grow" }, h("label", {}, whenText), when), h("div", { style: "width:110px" }, h("label", {}, minutesText_), minutes));
const ACTIVITY = { checkin: "扫码签到", duty_log: "岗位履职", visit: "入户走访", meeting: "组织生活" };

// ---- member ------------------------------------------------------------------------------
function logForm(p, reload) {
  const date = h("input", { name: "date", type: "date", value: today(), test: "log-date" });
  const minutes = h("input", { name: "minutes", type: "number", min: 1, value: 60, test: "log-minutes" });
  const note = h("input", { name: "note", placeholder: "做了什么", test: "log-note" });
  const out = h("div", { test: "log-result" });
  const submit = h("button", { class: "small", type: "submit", test: "log-submit" }, "记录履职");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      await post(`/duty-posts/${p.post_id}/logs`, { date: date.value, minutes: num(minutes), note: note.value.trim() });
      out.replaceChildren(ok("已记录，等待社区确认"));
      note.value = "";
      reload();
    }, form);
  } }, labelled("履职日期", date, "时长（分钟）", minutes), note, submit, out);
  return form;
}

route("/me/duty", "我的岗位", async (view) => {
  const posts = h("div");
  const logs = h("div");
  view.append(h("div", { class: "card" }, h("h2", {}, "我的岗位"), posts), h("div", { class: "card" }, h("h2", {}, "履职记录"), logs));
  const loadLogs = () => section(logs, async () => list((await get("/me/duty-logs", { limit: 50 })).items, (l) =>
    h("li", { test: "duty-log" }, h("div", { class: "row" }, h("div", { class: "grow" },
      h("h3", {}, fmtDate(l.date + "T12:00:00+08:00"), " · ", minutesText(l.minutes)), h("div", { class: "muted" }, l.note || "")),
    tag(l.status), l.points ? h("span", { class: "muted" }, ` +${l.points}分`) : null)), "duty-logs", "还没有履职记录"));
  section(posts, async () => list((await get("/me/duty-posts")).items, (p) => h("li", { test: "my-post", "data-id": p.post_id },
    h("h3", {}, p.post.name, " ", tag(p.status)),
    h("div", { class: "muted" }, p.post.duties || "", p.post.building ? ` · ${p.post.building}` : ""),
    p.started_at ? h("div", { class: "muted" }, "上岗于 ", fmtDate(p.started_at)) : null,
    p.status === "active" ? logForm(p, loadLogs) : null), "my-posts", "您还没有认领岗位，可联系社区设岗定责"));
  loadLogs();
}, { back: true, name: "my-duty" });

function visitForm(hh, reload) {
  const at = h("input", { name: "visited_at", type: "datetime-local", value: isoToLocal(Date.now()), test: "visit-at" });
  const minutes = h("input", { name: "minutes", type: "number", min: 1, value: 30, test: "visit-minutes" });
  const note = h("input", { name: "note", placeholder: "走访情况", test: "visit-note" });
  const out = h("div", { test: "visit-result" });
  const submit = h("button", { class: "small", type: "submit", test: "visit-submit" }, "记录走访");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      await post(`/households/${hh.id}/visits`, { visited_at: localToIso(at.value), minutes: num(minutes), note: note.value.trim() });
      out.replaceChildren(ok("走访已记录，等待社区确认"));
      note.value = "";
      reload();
    }, form);
  } }, labelled("走访时间", at, "时长（分钟）", minutes), note, submit, out);
  return form;
}

function visitList(box, id) {
  const load = () => section(box, async () => list((await get(`/households/${id}/visits`)).items, (v) =>
    h("li", { test: "visit" }, h("div", { class: "row" }, h("div", { class: "grow" }, fmtTime(v.visited_at), " · ", minutesText(v.minutes),
      h("div", { class: "muted" }, v.note || "")), tag(v.status))), "visits", "还没有走访记录"));
  load();
  return load;
}

route("/me/households", "我联系的家庭", async (view) => {
  const box = h("div");
  view.append(h("div", { class: "card" }, box));
  section(box, async () => list((await get("/me/households")).items, (hh) => {
    const visits = h("div");
    const li = h("li", { test: "my-household", "data-id": hh.id },
      h("h3", {}, hh.head_name, " ", hh.overdue ? h("span", { class: "badge warn" }, "待走访") : null),
      h("div", { class: "muted" }, hh.address, hh.phone ? ` · ${hh.phone}` : ""),
      (hh.tags || []).length ? h("div", { class: "muted" }, "标签：", hh.tags.join("、")) : null,
      h("div", { class: "muted" }, "上次走访：", fmtTime(hh.last_visited_at)), visits);
    li.append(visitForm(hh, visitList(visits, hh.id)));
    return li;
  }, "my-households", "社区还没有为您安排联系家庭"));
}, { back: true, name: "my-households" });

route("/me/meetings", "组织生活", async (view) => {
  const box = h("div");
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "三会一课、主题党日：到场后扫描会议签到码。"),
    h("a", { class: "btn block", href: "#/scan", test: "go-scan" }, "扫码签到")), h("div", { class: "card" }, box));
  section(box, async () => list((await get("/me/meetings")).items, (m) => h("li", { test: "my-meeting" },
    h("h3", {}, `[${m.kind}] `, m.title, " ", tag(m.my_status)),
    h("div", { class: "muted" }, fmtTime(m.starts_at), " · ", m.location || ""),
    m.checkin_at ? h("div", { class: "muted" }, "签到于 ", fmtTime(m.checkin_at)) : null), "my-meetings", "暂无需要参加的会议"));
}, { back: true, name: "my-meetings" });

// ---- staff -------------------------------------------------------------------------------
// A pending list with one bulk 确认 button (duty logs, visits).
function confirmBox(box, path, confirmPath, key, render, what) {
  const load = () => section(box, async () => {
    const items = (await get(path, { status: "pending", limit: 100 })).items;
    if (!items.length) return h("div", { class: "empty" }, `没有待确认的${what}`);
    const out = h("div", { test: "confirm-result" });
    const idem = newKey(); // this list's confirm: a press again after a lost answer gets the first answer
    const b = h("button", { class: "block", test: "confirm-all", onclick: () => busy(b, out, async () => {
      const res = await post(confirmPath, { [key]: items.map((x) => x.id) }, { "Idempotency-Key": idem });
      load();
      box.after(ok(`已确认 ${res.awarded} 条，发放 ${res.points} 积分`));
    }) }, `全部确认（${items.length}）`);
    return [h("ul", { class: "list" }, items.map(render)), b, out];
  });
  load();
}

route("/staff/posts", "设岗定责", async (view) => {
  const cid = await staffCommunity();
  const posts = h("div");
  const logs = h("div");
  view.append(h("div", { class: "card" }, h("h2", {}, "岗位"), posts), h("div", { class: "card" }, h("h2", {}, "待确认的履职"), logs));
  section(posts, async () => list((await get(`/communities/${cid}/duty-posts`)).items, (p) => h("li", { test: "staff-post" },
    h("h3", {}, p.name, p.building ? ` · ${p.building}` : ""),
    h("div", { class: "muted" }, `${p.seats} 个席位，空 ${p.free_seats}`, p.pending ? ` · ${p.pending} 人申请中` : "", p.points_per_month ? ` · 每月 ${p.points_per_month} 分` : ""),
    h("div", { test: "holders" }, "在岗：", p.holders.length ? p.holders.map((x) => x.name).join("、") : "暂无")), "staff-posts", "还没有设立岗位"));
  confirmBox(logs, `/communities/${cid}/duty-logs`, `/communities/${cid}/duty-logs/confirm`, "log_ids",
    (l) => h("li", { test: "pending-log" }, fmtDate(l.date + "T12:00:00+08:00"), " · ", minutesText(l.minutes), " · ", l.note || ""), "履职记录");
}, { back: true, name: "staff-posts" });

route("/staff/households", "联系家庭", async (view) => {
  const cid = await staffCommunity();
  const box = h("div");
  const visits = h("div");
  const overdue = h("input", { type: "checkbox", test: "only-overdue" });
  const load = () => section(box, async () => list((await get(`/communities/${cid}/households`, { unvisited_days: overdue.checked ? 30 : null })).items,
    (hh) => h("li", { test: "staff-household" },
      h("h3", {}, hh.head_name, " ", hh.overdue ? h("span", { class: "badge warn" }, "待走访") : null),
      h("div", { class: "muted" }, hh.address, (hh.tags || []).length ? ` · ${hh.tags.join("、")}` : ""),
      h("div", { class: "muted" }, "联系党员：", (hh.members || []).map((m) => m.name).join("、") || "未安排", " · 上次走访 ", fmtTime(hh.last_visited_at))),
    "staff-households", "没有符合条件的家庭"));
  overdue.addEventListener("change", load);
  view.append(h("div", { class: "card" }, h("label", {}, overdue, " 只看 30 天未走访"), box),
    h("div", { class: "card" }, h("h2", {}, "待确认的走访"), visits));
  load();
  confirmBox(visits, `/communities/${cid}/visits`, `/communities/${cid}/visits/confirm`, "visit_ids",
    (v) => h("li", { test: "pending-visit" }, fmtTime(v.visited_at), " · ", minutesText(v.minutes), " · ", v.note || ""), "走访");
}, { back: true, name: "staff-households" });

route("/staff/meetings", "三会一课", async (view) => {
  const cid = await staffCommunity();
  const box = h("div");
  view.append(h("div", { class: "card" }, box));
  section(box, async () => list((await get(`/communities/${cid}/meetings`, { limit: 50 })).items, (m) => h("li", { test: "staff-meeting" },
    h("a", { href: `#/staff/meetings/${m.id}` }, h("h3", {}, `[${m.kind}] `, m.title),
      h("div", { class: "muted" }, fmtTime(m.starts_at), " · ", m.location || ""))), "staff-meetings", "还没有安排会议"));
}, { back: true, name: "staff-meetings" });

route("/staff/meetings/:id", "会议", async (view, { id }) => {
  const m = await get(`/meetings/${id}`);
  const counts = h("div", { test: "meeting-counts" });
  const people = h("div");
  // who has come: drawn now, then polled while the code is held up
  const draw = (ms) => {
    const n = ms.attendees.reduce((a, x) => ({ ...a, [x.status]: (a[x.status] || 0) + 1 }), {});
    counts.textContent = `应到 ${ms.attendees.length} 人，已签到 ${n.present || 0}，请假 ${n.leave || 0}`;
    people.replaceChildren(list(ms.attendees, (a) => h("li", { class: "row", test: "attendee" },
      h("div", { class: "grow" }, a.name || a.user_id, a.leave_reason ? h("div", { class: "muted" }, a.leave_reason) : null), tag(a.status)), "attendees", "没有需要参会的党员"));
  };
  view.append(
    h("div", { class: "card" }, h("h2", { test: "meeting-title" }, `[${m.kind}] `, m.title),
      h("div", { class: "muted" }, fmtTime(m.starts_at), " – ", fmtTime(m.ends_at), " · ", m.location || ""), counts),
    h("div", { class: "card" }, h("h2", {}, "签到码"), h("p", { class: "muted" }, "请参会党员在「组织生活」或「扫码签到」页扫描此码。"),
      qrPanel(`/meetings/${id}/checkin-code`, ["in"])),
    h("div", { class: "card" }, h("h2", {}, "参会人员"), people));
  draw(m);
  every(5000, () => get(`/meetings/${id}`).then(draw, () => { /* keep the last list; the next poll retries */ }));
}, { back: true, name: "staff-meeting" });

function followUpForm(q, reload) {
  const status = h("select", { name: "status", test: "follow-status" }, ["已联系", "外出务工", "失联", "已转出"].map((s) => h("option", { value: s }, s)));
  const note = h("input", { name: "note", placeholder: "跟进情况", test: "follow-note" });
  const out = h("div");
  const submit = h("button", { class: "small", type: "submit", test: "follow-submit" }, "记录跟进");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => { await post(q.cid_path, { user_id: q.user_id, status: status.value, note: note.value.trim() }); reload(); }, form);
  } }, h("div", { class: "row" }, status, note), submit, out);
  return form;
}

route("/staff/quiet", "沉默党员", async (view) => {
  const cid = await staffCommunity();
  const months = h("select", { test: "quiet-months" }, [3, 6, 12].map((n) => h("option", { value: n, selected: n === 6 }, `${n} 个月无活动`)));
  const box = h("div");
  const load = () => section(box, async () => list((await get(`/communities/${cid}/quiet-members`, { months: months.value })).items, (q) =>
    h("li", { test: "quiet-member" }, h("h3", {}, q.name || q.user_id),
      h("div", { class: "muted" }, "最近活动：", q.last_activity_at ? `${fmtTime(q.last_activity_at)} ${ACTIVITY[q.last_activity_kind] || ""}` : "从未参加"),
      q.follow_up ? h("div", { test: "follow-up" }, "跟进：", q.follow_up.status, " · ", q.follow_up.note || "", " · ", fmtTime(q.follow_up.created_at)) : null,
      followUpForm({ ...q, cid_path: `/communities/${cid}/follow-ups` }, load)), "quiet-members", "没有长期未参加活动的党员"));
  months.addEventListener("change", load);
  view.append(h("div", { class: "card" }, field("范围", months), box));
  load();
}, { back: true, name: "staff-quiet" });

route("/staff/needs", "共驻共建", async (view) => {
  const cid = await staffCommunity();
  const needs = h("div");
  const matches = h("div");
  const title = h("input", { name: "title", placeholder: "需求，例如：老年人健康义诊", test: "need-title" });
  const category = h("input", { name: "category", placeholder: "类别，例如：医疗", test: "need-category" });
  const out = h("div", { test: "need-result" });
  const submit = h("button", { class: "block", type: "submit", test: "need-submit" }, "发布需求");
  const loadNeeds = () => section(needs, async () => list((await get(`/communities/${cid}/needs`, { limit: 50 })).items, (n) => {
    const o = h("div");
    const done = n.status === "已认领" ? h("button", { class: "small", test: "need-complete", onclick: () => busy(done, o, async () => {
      await post(`/needs/${n.id}/complete`); loadNeeds();
    }) }, "确认完成") : null;
    return h("li", { test: "need" }, h("div", { class: "row" }, h("div", { class: "grow" }, h("h3", {}, n.title, " ", badge(n.status)),
      h("div", { class: "muted" }, n.category ? `[${n.category}] ` : "", n.description || ""),
      (n.pledges || []).map((p) => h("div", { class: "muted", test: "pledge" }, "认领：", p.resource, p.note ? `（${p.note}）` : ""))), done), o);
  }, "needs", "还没有发布需求"));
  const loadMatches = () => section(matches, async () => list((await get(`/communities/${cid}/matches`)).items, (m) =>
    h("li", { test: "match" }, h("h3", {}, m.need_title, " ← ", m.unit_name || m.unit_id),
      h("div", { class: "muted" }, "资源：", m.resource, ` · 匹配度 ${m.score}`, m.keywords.length ? ` · ${m.keywords.join("、")}` : "")), "matches", "暂无匹配的单位资源"));
  let idem = newKey(); // this need until it is posted: submitting again after a lost answer posts it once
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      await post(`/communities/${cid}/needs`, { title: title.value.trim(), category: category.value.trim() },
        { "Idempotency-Key": idem });
      idem = newKey();
      out.replaceChildren(ok("需求已发布"));
      title.value = "";
      loadNeeds(); loadMatches();
    }, form);
  } }, title, category, submit, out);
  view.append(h("div", { class: "card" }, h("h2", {}, "社区需求"), needs), h("div", { class: "card" }, h("h2", {}, "单位资源匹配"), matches),
    h("div", { class: "card" }, h("h2", {}, "发布新需求"), form));
  loadNeeds(); loadMatches();
}, { back: true, name: "staff-needs" });

// Links for the staff home (the member home lists its three in member.js).
export const STAFF_LINKS = [["#/staff/posts", "岗", "设岗定责"], ["#/staff/households", "家", "联系家庭"], ["#/staff/meetings", "会", "三会一课"],
  ["#/staff/quiet", "默", "沉默党员"], ["#/staff/needs", "建", "共驻共建"]];
export const linkGrid = (links) => h("div", { class: "grid", test: "partywork-links" }, links.map(([href, i, t]) => h("a", { href }, h("span", { class: "i" }, i), t)));
