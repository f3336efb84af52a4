// Platform admin: check the ledger, read the audit log of staff actions, retry messages WeChat
// did not take.
import { get, me, post } from "./api.js";
import { busy, field, fmtTime, h, num, ok, route, say, section } from "./core.js";
import { KIND, SENT } from "./mine.js";


function verifyCard() {
  const out = h("div", { test: "verify-result" });
  const b = h("button", { class: "block", test: "verify", onclick: () => busy(b, out, async () => {
    const v = await get("/admin/ledger/verify");
    out.replaceChildren(v.ok
      ? ok(`账本平衡：${v.accounts} 个账户，${v.transfers} 笔流水，差额 ${v.imbalance}，哈希链完整`)
      : h("div", { class: "error", test: "error" }, `账本异常：差额 ${v.imbalance}，余额不符 ${v.mismatches.length} 个`,
        v.broken_link ? `，哈希链断在流水 ${v.broken_link}` : ""));
  }) }, "校验积分账本");
  return h("div", { class: "card" }, h("h2", {}, "积分账本"), h("p", { class: "muted" }, "重算每个账户的余额、总额是否为零，并逐笔核对哈希链。"), b, out);
}

function auditCard() {
  const action = h("input", { name: "action", placeholder: "按操作筛选，例如 member_report.approve", test: "audit-action" });
  const box = h("div");
  const load = () => section(box, async () => {
    const page = await get("/admin/audit", { limit: 30, action: action.value.trim() || null });
    if (!page.items.length) return h("div", { class: "empty" }, "没有符合条件的操作记录");
    return h("ul", { class: "list", test: "audit" }, page.items.map((a) => h("li", { test: "audit-row" },
      h("h3", {}, a.action), h("div", { class: "muted" }, fmtTime(a.at), ` · 操作人 ${a.actor_id ?? "系统"} · ${a.object_type} ${a.object_id ?? ""}`),
      a.changes ? h("div", { class: "muted", style: "word-break:break-all" }, JSON.stringify(a.changes.after ?? a.changes)) : null)));
  });
  action.addEventListener("change", load);
  load();
  return h("div", { class: "card" }, h("h2", {}, "操作日志"), field("操作", action), box);
}

function notificationsCard() {
  const box = h("div");
  const load = () => section(box, async () => {
    const page = await get("/admin/notifications", { status: "failed", limit: 30 });
    if (!page.items.length) return h("div", { class: "empty", test: "no-failed" }, "没有推送失败的消息");
    return h("ul", { class: "list" }, page.items.map((n) => {
      const out = h("div");
      const b = h("button", { class: "small", test: "retry", onclick: () => busy(b, out, async () => {
        const res = await post(`/admin/notifications/${n.id}/retry`);
        out.replaceChildren(ok(`已重新发送：${SENT[res.status] || res.status}`));
      }) }, "重试");
      return h("li", { test: "failed-message" }, h("div", { class: "row" }, h("div", { class: "grow" },
        h("h3", {}, KIND[n.kind] || n.kind, " → 用户 ", n.user_id), h("div", { class: "muted" }, fmtTime(n.created_at), ` · ${n.attempts} 次尝试`,
          n.last_errcode != null ? ` · 错误码 ${n.last_errcode}` : "")), b), out);
    }));
  });
  load();
  return h("div", { class: "card" }, h("h2", {}, "推送失败的消息"), box);
}

// One reminder to one person (their 用户编号 is on their 我的 page), as a 报到提醒 subscribe message.
function messageCard() {
  const who = h("input", { name: "user_id", type: "number", min: 1, placeholder: "用户编号", test: "message-user" });
  const text = h("input", { name: "message", maxlength: 20, placeholder: "提醒内容，例如：请尽快到社区报到", test: "message-text" });
  const out = h("div");
  const submit = h("button", { type: "submit", class: "block", test: "message-send" }, "发送提醒");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      if (!num(who)) throw say("请填写用户编号");
      const n = await post("/admin/notifications", { user_id: num(who), kind: "report_reminder",
        data: text.value.trim() ? { message: text.value.trim() } : {} });
      out.replaceChildren(ok(`已发给用户 ${n.user_id}：${SENT[n.status] || n.status}`));
    }, form);
  } }, field("用户编号", who), field("内容", text), submit, out);
  return h("div", { class: "card" }, h("h2", {}, "发送报到提醒"), form);
}

route("/admin", "系统管理", async (view) => {
  const user = await me();
  if (!(user.roles || []).some((r) => r.role === "admin")) throw new Error("您不是平台管理员");
  view.append(verifyCard(), auditCard(), notificationsCard(), messageCard());
}, { back: true, name: "admin" });
