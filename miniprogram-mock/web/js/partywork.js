// Party work beyond one-off tasks: duty posts and logs, households and visits, meetings (三会一课),
// and for staff also quiet members and 共驻共建 needs with their matches.
import { api, get, keyedPost, me, newKey, post } from "./api.js";
import { badge, busy, every, field, fmtDate, fmtDay, fmtTime, go, h, isoToLocal, localToIso, minutesText, num, ok, reasonFirst, route, say, section, words } from "./core.js";
import { qrPanel } from "./qr.js";
import { staffCommunity } from "./staff.js";
import { myCommunityId, searchBox } from "./member.js";

const LABEL = {
  pending: ["待确认", "warn"], confirmed: ["已确认", "ok"], active: ["在岗", "ok"], ended: ["已离岗", "grey"],
  rejected: ["未通过", "grey"], expected: ["待签到", "warn"], present: ["已签到", "ok"], leave: ["请假", "grey"],
};
const tag = (s) => (LABEL[s] ? h("span", { class: "badge " + LABEL[s][1], test: "status" }, LABEL[s][0]) : badge(s));
const list = (items, render, test, empty) => (items.length
  ? h("ul", { class: "list", test }, items.map(render)) : h("div", { class: "empty" }, empty));
const today = () => isoToLocal(Date.now()).slice(0, 10);
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

// The community's posts with a free seat that the caller neither holds nor has applied for.
function openPosts(box, cid, mine, reload) {
  return section(box, async () => {
    const taken = new Set(mine.filter((x) => x.status === "active" || x.status === "pending").map((x) => x.post_id));
    const open = (await get(`/communities/${cid}/duty-posts`)).items.filter((p) => p.free_seats > 0 && !taken.has(p.id));
    return list(open, (p) => {
      const out = h("div");
      const apply = h("button", { class: "small", test: "apply", onclick: () => busy(apply, out, async () => {
        await post(`/duty-posts/${p.id}/holders`, {});
        reload();
      }) }, "申请");
      return h("li", { test: "open-post" }, h("div", { class: "row" }, h("div", { class: "grow" },
        h("h3", {}, p.name, p.building ? ` · ${p.building}` : ""),
        h("div", { class: "muted" }, p.duties || "", ` · 空 ${p.free_seats} 席`, p.points_per_month ? ` · 每月 ${p.points_per_month} 分` : "")), apply), out);
    }, "open-posts", "暂无空缺岗位");
  });
}

// Step down from a post held (asks once more), or withdraw an application; the history stays.
function leaveButton(p, reload) {
  if (p.status !== "active" && p.status !== "pending") return null;
  const b = h("button", { class: "small ghost", test: "step-down", onclick: () => {
    if (p.status === "active" && b.dataset.sure !== "1") { b.dataset.sure = "1"; b.textContent = "确认离岗"; return; }
    busy(b, null, async () => { await api("DELETE", `/duty-posts/${p.post_id}/holders/me`); reload(); });
  } }, p.status === "active" ? "离岗" : "撤回申请");
  return b;
}

route("/me/duty", "我的岗位", async (view) => {
  const cid = myCommunityId(await me());
  const posts = h("div");
  const logs = h("div");
  const open = h("div");
  view.append(h("div", { class: "card" }, h("h2", {}, "我的岗位"), posts), h("div", { class: "card" }, h("h2", {}, "履职记录"), logs),
    cid ? h("div", { class: "card" }, h("h2", {}, "可申请的岗位"), open) : null);
  const load = () => section(posts, async () => {
    const mine = (await get("/me/duty-posts")).items;
    if (cid) openPosts(open, cid, mine, load);
    return list(mine, (p) => h("li", { test: "my-post", "data-id": p.post_id },
      h("div", { class: "row" }, h("h3", { class: "grow" }, p.post.name, " ", tag(p.status)), leaveButton(p, load)),
      h("div", { class: "muted" }, p.post.duties || "", p.post.building ? ` · ${p.post.building}` : ""),
      p.started_at ? h("div", { class: "muted" }, "上岗于 ", fmtDate(p.started_at)) : null,
      p.ended_at ? h("div", { class: "muted" }, "离岗于 ", fmtDate(p.ended_at)) : null,
      p.status === "active" ? logForm(p, loadLogs) : null), "my-posts", "您还没有岗位，可在下方申请或联系社区设岗定责");
  });
  const loadLogs = () => section(logs, async () => list((await get("/me/duty-logs", { limit: 50 })).items, (l) =>
    h("li", { test: "duty-log" }, h("div", { class: "row" }, h("div", { class: "grow" },
      h("h3", {}, fmtDay(l.date), " · ", minutesText(l.minutes)), h("div", { class: "muted" }, l.note || "")),
    tag(l.status), l.points ? h("span", { class: "muted" }, ` +${l.points}分`) : null)), "duty-logs", "还没有履职记录"));
  load();
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

// The community's approved members whose name contains `q` (all when empty), page after page up
// to a thousand: the list a page rates them in.
export async function approvedMembers(cid, q = null) {
  const out = [];
  let cursor = null;
  do {
    const page = await get(`/communities/${cid}/member-reports`, { status: "approved", q, limit: 100, cursor });
    out.push(...page.items.map((r) => ({ id: r.user_id, name: r.name })));
    cursor = page.next_cursor;
  } while (cursor && out.length < 1000);
  return out;
}

// One approved member, found by typing a part of the name (however large the community);
// `exclude`: user ids not to offer. chosen(picker) is the picked person's user id.
function memberPicker(cid, test, exclude = new Set()) {
  const box = h("div", { class: "grow" });
  box.append(searchBox({
    test, name: "user_id", placeholder: "输入姓名搜索党员",
    find: async (q) => (await get(`/communities/${cid}/member-reports`, { status: "approved", q: q || null, limit: 20 }))
      .items.filter((r) => !exclude.has(r.user_id)),
    detail: (r) => h("span", { class: "muted" }, r.unit_name ? ` · ${r.unit_name}` : ""),
    onPick: (r) => { box.dataset.userId = r.user_id; },
  }));
  box.addEventListener("input", () => { delete box.dataset.userId; });
  return box;
}
const chosen = (picker) => {
  if (!picker.dataset.userId) throw say("请先搜索并选择党员");
  return Number(picker.dataset.userId);
};

function applicants(p, reload) {
  const box = h("div");
  section(box, async () => {
    const waiting = (await get(`/duty-posts/${p.id}/holders`)).items.filter((x) => x.status === "pending");
    return h("ul", { class: "list" }, waiting.map((x) => {
      const out = h("div");
      const decide = (approve, b) => busy(b, out, async () => {
        await post(`/duty-posts/${p.id}/holders/${x.user_id}/decision`, { approve });
        reload();
      });
      const yes = h("button", { class: "small", test: "approve-holder", onclick: () => decide(true, yes) }, "通过");
      const no = h("button", { class: "small ghost", test: "refuse-holder", onclick: () => decide(false, no) }, "不通过");
      return h("li", { test: "applicant" }, h("div", { class: "row" },
        h("div", { class: "grow" }, x.name || `用户${x.user_id}`, h("span", { class: "muted" }, " 申请上岗")), yes, no), out);
    }));
  });
  return box;
}

function postItem(p, cid, reload) {
  const out = h("div");
  const pick = memberPicker(cid, "appoint-member");
  const appoint = h("button", { class: "small", test: "appoint", onclick: () => busy(appoint, out, async () => {
    await post(`/duty-posts/${p.id}/holders`, { user_id: chosen(pick) });
    reload();
  }) }, "任命");
  return h("li", { test: "staff-post", "data-id": p.id },
    h("h3", {}, p.name, p.building ? ` · ${p.building}` : ""),
    p.duties ? h("div", { class: "muted" }, p.duties) : null,
    h("div", { class: "muted" }, `${p.seats} 个席位，空 ${p.free_seats}`, p.pending ? ` · ${p.pending} 人申请中` : "", p.points_per_month ? ` · 每月 ${p.points_per_month} 分` : ""),
    h("div", { test: "holders" }, "在岗：", p.holders.length ? p.holders.map((x) => x.name).join("、") : "暂无"),
    p.pending ? applicants(p, reload) : null,
    p.free_seats > 0 ? h("div", { class: "row" }, pick, appoint) : null, out);
}

function postForm(cid, reload) {
  const f = {
    name: h("input", { name: "name", placeholder: "例如：楼栋长、垃圾分类督导员", test: "post-name" }),
    duties: h("input", { name: "duties", placeholder: "岗位职责", test: "post-duties" }),
    building: h("input", { name: "building", placeholder: "楼栋（可选），例如：3栋", test: "post-building" }),
    seats: h("input", { name: "seats", type: "number", min: 1, value: 1, test: "post-seats" }),
    points: h("input", { name: "points_per_month", type: "number", min: 0, value: 0, test: "post-points" }),
  };
  const out = h("div", { test: "post-result" });
  const submit = h("button", { class: "block", type: "submit", test: "post-submit" }, "设立岗位");
  const send = keyedPost(`/communities/${cid}/duty-posts`);
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const body = { name: f.name.value.trim(), duties: f.duties.value.trim(), seats: num(f.seats), points_per_month: num(f.points) };
      if (f.building.value.trim()) body.building = f.building.value.trim();
      const created = await send(body);
      out.replaceChildren(ok(`已设立岗位：${created.name}`));
      f.name.value = f.duties.value = f.building.value = "";
      reload();
    }, form);
  } }, field("岗位名称", f.name), field("职责", f.duties), f.building,
  labelled("席位数", f.seats, "每月积分", f.points), submit, out);
  return form;
}

route("/staff/posts", "设岗定责", async (view) => {
  const cid = await staffCommunity();
  const posts = h("div");
  const logs = h("div");
  const load = () => section(posts, async () => list((await get(`/communities/${cid}/duty-posts`)).items,
    (p) => postItem(p, cid, load), "staff-posts", "还没有设立岗位"));
  view.append(h("div", { class: "card" }, h("h2", {}, "岗位"), posts), h("div", { class: "card" }, h("h2", {}, "待确认的履职"), logs),
    h("div", { class: "card" }, h("h2", {}, "设立新岗位"), postForm(cid, load)));
  load();
  confirmBox(logs, `/communities/${cid}/duty-logs`, `/communities/${cid}/duty-logs/confirm`, "log_ids",
    (l) => h("li", { test: "pending-log" }, fmtDay(l.date), " · ", minutesText(l.minutes), " · ", l.note || ""), "履职记录");
}, { back: true, name: "staff-posts" });

function householdItem(hh, cid, reload) {
  const out = h("div");
  const linked = new Set((hh.members || []).map((m) => m.user_id));
  const pick = memberPicker(cid, "link-member", linked);
  const link = h("button", { class: "small", test: "link", onclick: () => busy(link, out, async () => {
    await post(`/households/${hh.id}/links`, { user_id: chosen(pick) });
    reload();
  }) }, "安排联系");
  return h("li", { test: "staff-household", "data-id": hh.id },
    h("h3", {}, hh.head_name, " ", hh.overdue ? h("span", { class: "badge warn" }, "待走访") : null),
    h("div", { class: "muted" }, hh.address, (hh.tags || []).length ? ` · ${hh.tags.join("、")}` : ""),
    h("div", { class: "muted", test: "linked" }, "联系党员：", (hh.members || []).length ? hh.members.map((m) => h("span", { test: "linked-member" }, m.name,
      h("button", { class: "small ghost", test: "unlink", title: "解除联系", onclick: (e) => busy(e.currentTarget, out, async () => {
        await api("DELETE", `/households/${hh.id}/links/${m.user_id}`);
        reload();
      }) }, "解除"), " ")) : "未安排", " · 上次走访 ", fmtTime(hh.last_visited_at)),
    h("div", { class: "row" }, pick, link), out);
}

function householdForm(cid, reload) {
  const f = {
    head: h("input", { name: "head_name", placeholder: "户主姓名", test: "household-head" }),
    address: h("input", { name: "address", placeholder: "例如：幸福里3栋1单元201室", test: "household-address" }),
    phone: h("input", { name: "phone", inputmode: "tel", placeholder: "联系电话（可选）", test: "household-phone" }),
    tags: h("input", { name: "tags", placeholder: "标签，用逗号分隔，例如：孤寡老人，低保户", test: "household-tags" }),
  };
  const out = h("div", { test: "household-result" });
  const submit = h("button", { class: "block", type: "submit", test: "household-submit" }, "登记家庭");
  const send = keyedPost(`/communities/${cid}/households`);
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const body = { head_name: f.head.value.trim(), address: f.address.value.trim(),
        tags: words(f.tags) };
      if (f.phone.value.trim()) body.phone = f.phone.value.trim();
      const created = await send(body);
      out.replaceChildren(ok(`已登记：${created.head_name}家`));
      Object.values(f).forEach((i) => { i.value = ""; });
      reload();
    }, form);
  } }, field("户主", f.head), field("地址", f.address), f.phone, f.tags, submit, out);
  return form;
}

route("/staff/households", "联系家庭", async (view) => {
  const cid = await staffCommunity();
  const box = h("div");
  const visits = h("div");
  const overdue = h("input", { type: "checkbox", test: "only-overdue" });
  const load = () => section(box, async () => list((await get(`/communities/${cid}/households`, { unvisited_days: overdue.checked ? 30 : null })).items,
    (hh) => householdItem(hh, cid, load), "staff-households", "没有符合条件的家庭"));
  overdue.addEventListener("change", load);
  view.append(h("div", { class: "card" }, h("label", {}, overdue, " 只看 30 天未走访"), box),
    h("div", { class: "card" }, h("h2", {}, "待确认的走访"), visits),
    h("div", { class: "card" }, h("h2", {}, "登记联系家庭"), householdForm(cid, load)));
  load();
  confirmBox(visits, `/communities/${cid}/visits`, `/communities/${cid}/visits/confirm`, "visit_ids",
    (v) => h("li", { test: "pending-visit" }, fmtTime(v.visited_at), " · ", minutesText(v.minutes), " · ", v.note || ""), "走访");
}, { back: true, name: "staff-households" });

const MEETING_KINDS = ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"];

function meetingForm(cid) {
  // on the next full half hour at least an hour away, for an hour and a half by default
  const start = Math.ceil((Date.now() + 60 * 60e3) / (30 * 60e3)) * 30 * 60e3;
  const f = {
    kind: h("select", { name: "kind", test: "meeting-kind" }, MEETING_KINDS.map((k) => h("option", { value: k }, k))),
    title: h("input", { name: "title", placeholder: "例如：学习新修订的党章", test: "meeting-title-input" }),
    starts: h("input", { name: "starts_at", type: "datetime-local", value: isoToLocal(start), test: "meeting-starts" }),
    ends: h("input", { name: "ends_at", type: "datetime-local", value: isoToLocal(start + 90 * 60e3), test: "meeting-ends" }),
    location: h("input", { name: "location", placeholder: "例如：社区会议室", test: "meeting-location" }),
  };
  const out = h("div", { test: "meeting-result" });
  const submit = h("button", { class: "block", type: "submit", test: "meeting-submit" }, "安排会议");
  const send = keyedPost(`/communities/${cid}/meetings`);
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const m = await send({ kind: f.kind.value, title: f.title.value.trim(), starts_at: localToIso(f.starts.value),
        ends_at: localToIso(f.ends.value), location: f.location.value.trim() });
      out.replaceChildren(ok("会议已安排，本社区党员均为应到"));
      go(`#/staff/meetings/${m.id}`);
    }, form);
  } }, field("类型", f.kind), field("主题", f.title), field("开始时间", f.starts), field("结束时间", f.ends),
  field("地点", f.location), submit, out);
  return form;
}

route("/staff/meetings", "三会一课", async (view) => {
  const cid = await staffCommunity();
  const box = h("div");
  view.append(h("div", { class: "card" }, box), h("div", { class: "card" }, h("h2", {}, "安排会议"), meetingForm(cid)));
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
    if (people.querySelector("[data-test=leave-reason]:not([hidden])")) return; // not while a reason is typed
    people.replaceChildren(list(ms.attendees, (a) => h("li", { test: "attendee" },
      h("div", { class: "row" }, h("div", { class: "grow" }, a.name || a.user_id, a.leave_reason ? h("div", { class: "muted" }, a.leave_reason) : null),
        tag(a.status)), a.status === "expected" ? leaveForm(a) : null), "attendees", "没有需要参会的党员"));
  };
  // 请假: the button asks for the reason first, then marks it
  const leaveForm = (a) => {
    const out = h("div");
    const reason = h("input", { name: "reason", placeholder: "请假原因", test: "leave-reason", hidden: true });
    const b = h("button", { class: "small ghost", test: "leave", onclick: reasonFirst(reason, () => busy(b, out, async () => {
      await post(`/meetings/${id}/leaves`, { user_id: a.user_id, reason: reason.value.trim() });
      reason.hidden = true;
      draw(await get(`/meetings/${id}`));
    })) }, "请假");
    return h("div", { class: "row" }, reason, b, out);
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
  const send = keyedPost(`/communities/${cid}/needs`); // a need submitted again after a lost answer is posted once
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      await send({ title: title.value.trim(), category: category.value.trim() });
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
  ["#/staff/quiet", "默", "沉默党员"], ["#/staff/needs", "建", "共驻共建"], ["#/staff/evaluations", "评", "党员评价"],
  ["#/staff/exports", "账", "台账导出"], ["#/staff/dashboard", "看", "社区看板"],
  ["#/staff/policy", "规", "积分规则"], ["#/staff/team", "人", "工作人员"],
  ["#/staff/transfers", "流", "积分流水"]];
export const linkGrid = (links) => h("div", { class: "grid", test: "partywork-links" }, links.map(([href, i, t]) => h("a", { href }, h("span", { class: "i" }, i), t)));
