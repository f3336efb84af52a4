// A background job from a button: start it, follow GET /jobs/{id} with a progress bar, then fetch
// the file it made and offer it for download (the unit's feedback workbook, staff's 台账).
import { blob, get } from "./api.js";
import { busy, currentQuarter, h, later, ok, onLeave } from "./core.js";

// The last six quarters, newest first ("2026-Q4", ...).
export function quarters() {
  const now = Date.now();
  const out = [];
  for (let i = 0; i < 6; i++) out.push(currentQuarter(now - i * 91 * 864e5));
  return [...new Set(out)];
}
export const quarterLabel = (p) => p.replace("-Q", " 年第 ") + " 季度";

// label: the button's text; startJob(): the job's id; fallbackName(): a file name when the
// server sends none.
export function jobPanel(label, startJob, fallbackName) {
  const bar = h("div", { test: "progress-bar" });
  const progress = h("div", { class: "progress", hidden: true }, bar);
  const text = h("div", { class: "muted", test: "progress-text" });
  const out = h("div", { test: "export-result" });
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
  const start = h("button", { class: "block", test: "export", onclick: () => busy(start, out, async () => {
    show(0, "已提交…");
    const jobId = await startJob();
    const job = await new Promise((resolve, reject) => poll(jobId, resolve, reject));
    if (!job) return;
    const file = await blob(job.result_url, null, true);
    const name = file.filename || fallbackName();
    const href = URL.createObjectURL(file.blob);
    const link = h("a", { class: "btn block ghost", href, download: name, test: "download" }, "下载 ", name);
    out.replaceChildren(ok(`导出完成（${Math.round(file.blob.size / 1024) || 1} KB）`), link);
  }) }, label);
  return h("div", {}, start, progress, text, out);
}
