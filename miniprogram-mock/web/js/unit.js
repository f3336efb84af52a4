// Unit admin (单位党组织): our members and their report status, a quarter's feedback, the export.
import { blob, get, me, post } from "./api.js";
import { badge, busy, currentQuarter, field, h, later, minutesText, ok, onLeave, route, section } from "./core.js";
import { roleScope } from "./session.js";

const nameOf = (m) => m.name || m.user_name || (m.user && m.user.name) || `用户${m.user_id}`;
const communityOf = (m) => m.community_name || (m.community && (m.community.name || m.community)) || "—";
const reportStatus = (m) => m.report_status || (m.report && m.report.status) || m.status;

function periods() {
  const now = Date.now();
  const out = [];
  for (let i = 0; i < 6; i++) out.push(currentQuarter(now - i * 91 * 864e5));
  return [...new Set(out)];
}

// Start the export job, follow GET /jobs/{id} with a progress bar, then fetch the file.
function exportPanel(unitId, periodSelect) {
  const bar = h("div", { test: "progress-bar" });
  const progress = h("div", { class: "progress", hidden: true }, bar);
  const label = h("div", { class: "muted", test: "progress-text" });
  const out = h("div", { test: "export-result" });
  let stopped = false;
  onLeave(() => { stopped = true; });
  const show = (pct, text) => { progress.hidden = false; bar.style.width = pct + "%"; bar.dataset.pct = pct; label.textContent = text; };
  const poll = (jobId, resolve, reject) => {
    if (stopped) return resolve();
    get(`/jobs/${jobId}`).then((job) => {
      const raw = Number(job.progress || 0);
      const pct = job.status === "finished" ? 100 : Math.max(0, Math.min(99, Math.round(raw <= 1 && !Number.isInteger(raw) ? raw * 100 : raw)));
      if (job.status === "finished") { show(100, "已完成"); return resolve(job); }
      if (job.status === "failed") return reject(new Error("导出失败：" + (job.error || "请稍后重试")));
      show(pct, { queued: "排队中…", started: `正在生成… ${pct}%` }[job.status] || `处理中… ${pct}%`);
      later(600, () => poll(jobId, resolve, reject));
    }, reject);
  };
  const start = h("button", { class: "block", test: "export", onclick: () => busy(start, out, async () => {
    const period = periodSelect.value;
    show(0, "已提交…");
    const { job_id: jobId } = await post(`/units/${unitId}/feedback-exports`, { period });
    const job = await new Promise((resolve, reject) => poll(jobId, resolve, reject));
    if (!job) return;
    const file = await blob(job.result_url, null, true);
    const name = file.filename || `单位反馈-${period}.xlsx`;
    const href = URL.createObjectURL(file.blob);
    const link = h("a", { class: "btn block ghost", href, download: name, test: "download" }, "下载 ", name);
    out.replaceChildren(ok(`导出完成（${Math.round(file.blob.size / 1024) || 1} KB）`), link);
  }) }, "导出所选季度的反馈（Excel）");
  return h("div", {}, start, progress, label, out);
}

route("/unit", "本单位", async (view) => {
  const user = await me();
  const unitId = roleScope(user, "unit_admin", "unit_id");
  if (!unitId) throw new Error("您不是单位管理员");
  const members = h("div");
  const feedback = h("div");
  const period = h("select", { name: "period", test: "period" }, periods().map((p) => h("option", { value: p }, p.replace("-Q", " 年第 ") + " 季度")));
  view.append(
    h("div", { class: "card" }, h("h2", {}, "在职党员报到情况"), members),
    h("div", { class: "card" }, h("h2", {}, "社区反馈"), field("季度", period), feedback, exportPanel(unitId, period)),
  );
  section(members, async () => {
    const page = await get(`/units/${unitId}/members`, { limit: 100 });
    if (!page.items.length) return h("div", { class: "empty" }, "本单位还没有党员报到");
    const c = page.counts;
    return [c ? h("div", { class: "muted", test: "unit-counts" }, `已报到 ${c.reported} · 待审核 ${c.pending} · 未报到 ${c.not_reported} · 共 ${c.total} 人`) : null,
      h("table", { test: "unit-members" }, h("thead", {}, h("tr", {}, ["姓名", "电话", "报到社区", "状态"].map((x) => h("th", {}, x)))),
      h("tbody", {}, page.items.map((m) => h("tr", { test: "unit-member" }, h("td", {}, nameOf(m)), h("td", {}, m.phone || "—"),
        h("td", {}, communityOf(m)), h("td", {}, reportStatus(m) ? badge(reportStatus(m)) : "未报到")))))];
  });
  const loadFeedback = () => section(feedback, async () => {
    const data = await get(`/units/${unitId}/feedback`, { period: period.value });
    const items = data.items || data.members || [];
    if (!items.length) return h("div", { class: "empty" }, "该季度暂无反馈");
    return h("ul", { class: "list", test: "feedback" }, items.map((m) => {
      const evaluations = (m.evaluations || []).filter((e) => e.rating);
      // without the member's consent the API withholds the figures (null): say so, never show 0
      const figures = m.consented === false
        ? h("div", { class: "muted", test: "no-consent" }, communityOf(m), " · 本人未授权向单位展示服务情况")
        : h("div", { class: "muted", test: "figures" }, communityOf(m), ` · 完成任务 ${m.tasks_done ?? 0} 次 · 服务 ${minutesText(m.service_minutes ?? 0)} · 积分 ${m.points ?? 0}`);
      return h("li", { test: "feedback-item" },
        h("h3", {}, nameOf(m), reportStatus(m) ? badge(reportStatus(m)) : null), figures,
        evaluations.map((e) => h("div", {}, e.community_name ? e.community_name + "评价：" : "评价：", e.rating, e.comment ? `（${e.comment}）` : "")));
    }));
  });
  period.addEventListener("change", loadFeedback);
  loadFeedback();
}, { name: "unit" });
