// Page plumbing: element builder, hash router, loading/error states, forms, formatting.
import { ApiError } from "./api.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "test") el.dataset.test = v;
    else if (k === "html") el.innerHTML = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// ---- routing -----------------------------------------------------------------------------
const routes = [];
let cleanups = [];
export const route = (pattern, title, render, opts = {}) => routes.push({ pattern, title, render, ...opts });
export const go = (hash) => { if (location.hash === hash) start(); else location.hash = hash; };
// Timers and listeners that must stop when the page changes.
export const onLeave = (fn) => cleanups.push(fn);
export function every(ms, fn) { const t = setInterval(fn, ms); onLeave(() => clearInterval(t)); return t; }
export function later(ms, fn) { const t = setTimeout(fn, ms); onLeave(() => clearTimeout(t)); return t; }

let beforeRender = async () => true;
let chrome = () => {};
export function configure(opts) { beforeRender = opts.beforeRender; chrome = opts.chrome; }

export async function start() {
  cleanups.forEach((fn) => fn());
  cleanups = [];
  const hash = location.hash;
  const path = (hash || "#/").slice(1);
  let found = null;
  let params = null;
  for (const r of routes) {
    const m = path.match(new RegExp("^" + r.pattern.replace(/:(\w+)/g, "(?<$1>[^/?]+)") + "(?:\\?.*)?$"));
    if (m) { found = r; params = m.groups || {}; break; }
  }
  if (!found) return go("#/home");
  if (!(await beforeRender(found))) return;
  // Each visit renders into its own container: a page still loading when the person moves on
  // keeps filling its own detached box, never the next page's.
  const page = h("div", { class: "page" });
  $("#view").replaceChildren(page);
  document.body.dataset.page = found.name || found.pattern;
  $("#title").textContent = found.title;
  chrome(found);
  try {
    await found.render(page, params, new URLSearchParams(path.split("?")[1] || ""));
  } catch (e) {
    page.replaceChildren(errorBox(e, () => start()));
  }
  // the page's own awaits are done (its sections may still load), and it was not a redirect
  if (location.hash === hash) page.dataset.rendered = "1";
}

// ---- states ------------------------------------------------------------------------------
export const loading = (text = "加载中…") => h("div", { class: "loading", test: "loading" }, text);

// An error meant for the person (a choice not made yet), shown as it is, like the API's messages.
export const say = (message) => Object.assign(new Error(message), { forPeople: true });

export function errorBox(e, retry) {
  const msg = e instanceof ApiError || (e && e.forPeople) ? e.message : "出错了：" + (e && e.message ? e.message : e);
  return h("div", { class: "error", test: "error" }, msg, retry ? [" ", h("a", { href: "javascript:void 0", onclick: retry }, "重试")] : null);
}

// Fill `box` with what `fn` builds, showing 加载中… first and the API's message on failure.
export async function section(box, fn) {
  box.replaceChildren(loading());
  try {
    const content = await fn();
    box.replaceChildren(...[content].flat().filter(Boolean));
  } catch (e) {
    box.replaceChildren(errorBox(e, () => section(box, fn)));
  }
}

let toastTimer = null;
export function toast(msg) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2200);
}

// ---- forms -------------------------------------------------------------------------------
// Run `fn` for a button: disabled and 提交中… meanwhile; an ApiError lands in `out` (message and
// per-field details next to the inputs named like the fields).
export async function busy(button, out, fn, form) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "提交中…";
  if (out) out.replaceChildren();
  (form || document).querySelectorAll(".field-error").forEach((e) => e.remove());
  try {
    return await fn();
  } catch (e) {
    if (out) out.replaceChildren(errorBox(e));
    else toast(e.message);
    // only a validation error's details are per-field messages; other errors' details are data
    if (form && e instanceof ApiError && e.code === "VALIDATION_ERROR") showFieldErrors(form, e.details);
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// A nested message (a row of a list, {"members": {"0": {"phone": [...]}}}) goes next to the input
// named like its innermost field, else like the outermost one.
function showFieldErrors(form, details, outer) {
  for (const [field, msgs] of Object.entries(details || {})) {
    if (msgs && typeof msgs === "object" && !Array.isArray(msgs)) { showFieldErrors(form, msgs, outer || field); continue; }
    const input = form.querySelector(`[name="${field}"]`) || (outer ? form.querySelector(`[name="${outer}"]`) : null);
    const text = Array.isArray(msgs) ? msgs.join("；") : String(msgs);
    const note = h("div", { class: "field-error", test: "field-error-" + (input ? input.name : outer || field) }, text);
    if (input) input.after(note);
    else form.append(note);
  }
}

export const field = (label, input) => h("div", {}, h("label", {}, label), input);
// A number input's value for the API: null when left empty.
export const num = (el) => (el.value === "" ? null : Number(el.value));
// The words typed into one input, separated by commas (either width), 、 or spaces.
export const words = (el) => el.value.split(/[,，、\s]+/).map((t) => t.trim()).filter(Boolean);
// A click handler that first shows `input` (a reason to type) and acts on the next click.
export const reasonFirst = (input, act) => () => {
  if (input.hidden) { input.hidden = false; input.focus(); return; }
  act();
};
export const ok = (msg) => h("div", { class: "success", test: "success" }, msg);

// ---- formatting --------------------------------------------------------------------------
const TZ = "Asia/Shanghai";
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString("zh-CN", { timeZone: TZ, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
}
export function fmtDate(iso) {
  return iso ? new Date(iso).toLocaleDateString("zh-CN", { timeZone: TZ }) : "—";
}
// A calendar day from the API ("2026-11-02"), taken at noon in Beijing so no time zone moves it.
export const fmtDay = (day) => (day ? fmtDate(day + "T12:00:00+08:00") : "—");
// "2026-11-03T14:00" typed into a datetime-local field means Beijing time.
export const localToIso = (v) => (v ? (v.length === 16 ? v + ":00" : v) + "+08:00" : null);
export function isoToLocal(ms) {
  const d = new Date(ms + 8 * 3600e3);
  return d.toISOString().slice(0, 16);
}
export function currentQuarter(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600e3);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}
export const minutesText = (m) => (m == null ? "—" : m >= 60 ? `${Math.floor(m / 60)} 小时 ${m % 60} 分` : `${m} 分钟`);

export const STATUS = {
  pending: ["待审核", "warn"], approved: ["已通过", "ok"], rejected: ["已驳回", "grey"], withdrawn: ["已撤回", "grey"],
  open: ["报名中", "ok"], cancelled: ["已取消", "grey"], closed: ["已结束", "grey"], full: ["已满员", "warn"],
  active: ["已报名", "ok"], queued: ["排队中", "warn"], started: ["进行中", "warn"], finished: ["已完成", "ok"],
  failed: ["失败", "grey"], fulfilled: ["已实现", "ok"], claimed: ["已报名", "ok"], completed: ["已完成", "ok"],
  checked_in: ["已签到", "warn"], checked_out: ["已签退", "ok"], absent: ["缺席", "grey"], not_reported: ["未报到", "grey"],
  ended: ["已结束", "grey"], upcoming: ["未开始", "ok"], ongoing: ["进行中", "warn"],
  // statuses some endpoints give in Chinese already (微心愿)
  待审批: ["待审批", "warn"], 已通过: ["已通过", "ok"], 已驳回: ["已驳回", "grey"], 已认领: ["已认领", "ok"],
  已完成: ["已完成", "ok"], 已取消: ["已取消", "grey"], 已评价: ["已评价", "ok"],
};
export function badge(status) {
  const [text, kind] = STATUS[status] || [status || "—", "grey"];
  return h("span", { class: "badge " + kind, test: "status" }, text);
}
