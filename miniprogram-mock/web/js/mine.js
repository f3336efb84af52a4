// A member's own things beyond the tasks: messages (WeChat subscribe messages and whether they
// went out), the community's points ranking, and their data under PIPL (export, closing).
import { api, get, me } from "./api.js";
import { busy, field, fmtTime, h, ok, route, say, section } from "./core.js";
import { quarterLabel, quarters } from "./jobs.js";
import { myCommunityId } from "./member.js";
import { logout } from "./session.js";

export const KIND = {
  report_decided: "报到审核结果", task_reminder: "任务提醒", task_cancelled: "任务取消", wish_claimed: "心愿被认领",
  feedback_ready: "单位反馈已生成", report_reminder: "报到提醒", redemption_cancelled: "兑换已取消",
};
export const SENT = { sent: "已推送", pending: "待推送", sending: "推送中", refused: "未订阅，未推送", failed: "推送失败", skipped: "未推送" };
const DECIDED = { approved: "已通过", rejected: "未通过" };

// What a message says, from its data (each kind carries its own fields).
function summary(n) {
  const d = n.data || {};
  switch (n.kind) {
    case "report_decided": return `${d.community || d.unit || ""} 报到${DECIDED[d.status] || d.status || ""}${d.reason ? "：" + d.reason : ""}`;
    case "task_reminder": return `「${d.title}」即将开始`;
    case "task_cancelled": return `「${d.title}」已取消${d.reason ? "：" + d.reason : ""}`;
    case "wish_claimed": return `您的心愿「${d.title}」已有人认领`;
    case "feedback_ready": return `${d.unit} ${d.period} 的社区反馈已生成`;
    case "report_reminder": return d.message || "请完成报到";
    case "redemption_cancelled": return `「${d.reward}」的兑换已取消，${d.points} 积分已退回`;
    default: return "";
  }
}

route("/me/messages", "消息", async (view) => {
  const box = h("div");
  view.append(h("div", { class: "card" }, box));
  section(box, async () => {
    const page = await get("/me/notifications", { limit: 50 });
    if (!page.items.length) return h("div", { class: "empty" }, "还没有消息");
    return h("ul", { class: "list", test: "messages" }, page.items.map((n) => h("li", { test: "message" },
      h("h3", {}, KIND[n.kind] || n.kind), h("div", {}, summary(n)),
      h("div", { class: "muted" }, fmtTime(n.created_at), " · ", SENT[n.status] || n.status))));
  });
}, { back: true, name: "messages" });

route("/leaderboard", "积分榜", async (view) => {
  const cid = myCommunityId(await me());
  if (!cid) return view.append(h("div", { class: "card" }, h("div", { class: "empty" }, "报到通过后可查看所在社区的积分榜")));
  const now = quarters()[0];
  const period = h("select", { name: "period", test: "leaderboard-period" },
    h("option", { value: now.slice(0, 4) }, `${now.slice(0, 4)} 年`), quarters().map((p) => h("option", { value: p, selected: p === now }, quarterLabel(p))));
  const box = h("div");
  const load = () => section(box, async () => {
    const board = await get(`/communities/${cid}/leaderboard`, { period: period.value, limit: 50 });
    if (!board.items.length) return h("div", { class: "empty" }, "这段时间还没有人获得积分");
    return h("ul", { class: "list", test: "leaderboard" }, board.items.map((r) => h("li", { class: "row", test: "rank" },
      h("b", { style: "width:2em" }, r.rank), h("div", { class: "grow" }, r.nickname || `用户${r.user_id}`), h("b", {}, `${r.points} 分`))));
  });
  period.addEventListener("change", load);
  view.append(h("div", { class: "card" }, field("期间", period), box));
  load();
}, { back: true, name: "leaderboard" });

route("/me/data", "我的数据", async (view) => {
  const out = h("div", { test: "mydata-result" });
  const download = h("button", { class: "block ghost", test: "mydata-export", onclick: () => busy(download, out, async () => {
    const data = await get("/me/export");
    const href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    out.replaceChildren(ok("已导出您在本系统中的全部个人数据"),
      h("a", { class: "btn block ghost", href, download: "我的数据.json", test: "mydata-download" }, "保存 我的数据.json"));
  }) }, "导出我的数据");
  const closeOut = h("div", { test: "close-result" });
  const confirmText = h("input", { name: "confirm", placeholder: "请输入“注销”以确认", test: "close-confirm" });
  const close = h("button", { class: "block", test: "close-account", onclick: () => busy(close, closeOut, async () => {
    if (confirmText.value.trim() !== "注销") throw say("请输入“注销”以确认");
    await api("DELETE", "/me");
    logout();
  }) }, "注销账户");
  view.append(
    h("div", { class: "card" }, h("h2", {}, "导出个人数据"),
      h("p", { class: "muted" }, "包括报到信息、服务记录、积分流水、授权记录等（JSON 文件）。"), download, out),
    h("div", { class: "card" }, h("h2", {}, "注销账户"),
      h("p", { class: "muted" }, "注销后个人信息将被删除，剩余积分归还社区，此操作不可撤销；服务记录以匿名方式保留。"),
      confirmText, close, closeOut));
}, { back: true, name: "mydata" });
