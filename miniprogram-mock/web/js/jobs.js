// A background job from a button: start it, follow GET /jobs/{id} with a progress bar, then fetch
// the file it made and offer it for download (the unit's feedback workbook, staff's 台账).
import { blob, get, post } from "./api.js";
import { busy, currentQuarter, field, h, later, ok, onLeave } from "./core.js";

// The last six quarters, newest first ("2026-Q4", ...).
export function quarters() {
  const now = Date.now();
  const out = [];
  for (let i = 0; i < 6; i++) out.push(currentQuarter(now - i * 91 * 864e5));
  return [...new Set(out)];
}
export const quarterLabel = (p) => p.replace("-Q", " 年第 ") + " 季度";

// label: the button's text; startJob(): the job's id; fallbackName(): a file name when the
// server sends none; test: a prefix of its parts' test names, for a second panel on a page.
export function jobPanel(label, startJob, fallbackName, test = "") {
  const bar = h("div", { test: test + "progress-bar" });
  const progress = h("div", { class: "progress", hidden: true }, bar);
  const text = h("div", { class: "muted", test: test + "progress-text" });
  const out = h("div", { test: test + "export-result" });
  let stopped = false;
  onLeave(() => { stopped = true; });
  const show = (pct, what) => { progress.hidden = false; bar.style.width = pct + "%"; bar.dataset.pct = pct; text.textContent = what; };
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
  const start = h("button", { class: "block", test: test + "export", onclick: () => busy(start, out, async () => {
    show(0, "已提交…");
    const jobId = await startJob();
    const job = await new Promise((resolve, reject) => poll(jobId, resolve, reject));
    if (!job) return;
    const file = await blob(job.result_url, null, true);
    const name = file.filename || fallbackName();
    const href = URL.createObjectURL(file.blob);
    const link = h("a", { class: "btn block ghost", href, download: name, test: test + "download" }, "下载 ", name);
    out.replaceChildren(ok(`导出完成（${Math.round(file.blob.size / 1024) || 1} KB）`), link);
  }) }, label);
  return h("div", {}, start, progress, text, out);
}

const KINDS = [["members", "党员名册"], ["reports", "报到记录"], ["tasks", "志愿任务"], ["attendances", "签到记录"],
  ["transfers", "积分流水"], ["households", "联系家庭"], ["meetings", "三会一课"]];

// A 台账 export (POST `path` {kind, format, period?}; `path` may be a function of the moment):
// what, in which format, for which quarter.
export function ledgerExport(path) {
  const kind = h("select", { name: "kind", test: "export-kind" }, KINDS.map(([k, t]) => h("option", { value: k }, t)));
  const format = h("select", { name: "format", test: "export-format" },
    h("option", { value: "xlsx" }, "Excel（xlsx）"), h("option", { value: "csv" }, "CSV（Excel 可直接打开）"));
  const period = h("select", { name: "period", test: "export-period" }, h("option", { value: "" }, "全部"),
    quarters().map((p) => h("option", { value: p }, quarterLabel(p))));
  const label = () => KINDS.find(([k]) => k === kind.value)[1];
  const panel = jobPanel("生成台账", async () => {
    const body = { kind: kind.value, format: format.value };
    if (period.value) body.period = period.value;
    return (await post(typeof path === "function" ? path() : path, body)).job_id;
  }, () => `${label()}${period.value ? "-" + period.value : ""}.${format.value}`);
  return h("div", {}, field("内容", kind), field("格式", format), field("期间", period), panel);
}
