// Scan (stands in for wx.scanCode): paste the code or upload the QR image (decoded here with
// jsQR), send it with the phone's position; offline scans wait in a queue and go later.
import { api, serverNow, token } from "./api.js";
import { busy, errorBox, fmtTime, h, minutesText, ok, onLeave, route, toast } from "./core.js";

const QUEUE_KEY = "mock.checkin_queue";
export const queued = () => JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
const saveQueue = (q) => localStorage.setItem(QUEUE_KEY, JSON.stringify(q));

// The phone's coordinates if it will tell us within 3 s; a scan still goes without them.
function position() {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude }),
      () => resolve(null), { timeout: 3000, maximumAge: 60000 });
    setTimeout(() => resolve(null), 3500);
  });
}

export function decodeImage(file) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const scale = Math.min(1, 1200 / Math.max(img.width, img.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(img.width * scale);
      canvas.height = Math.round(img.height * scale);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height); // transparent PNGs: white background
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(img.src);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(data.data, data.width, data.height, { inversionAttempts: "attemptBoth" });
      if (found && found.data) resolve(found.data);
      else reject(new Error("未能识别二维码，请换一张更清晰的图片"));
    };
    img.onerror = () => { URL.revokeObjectURL(img.src); reject(new Error("无法读取该图片")); };
    img.src = URL.createObjectURL(file);
  });
}

const ACTION = { in: "签到", out: "签退" };
function resultText(r) {
  const what = (ACTION[r.action] || r.action) + "成功";
  return `${what}（${fmtTime(r.at)}）` + (r.minutes != null ? `，本次服务 ${minutesText(r.minutes)}` : "") + (r.offline ? "（离线补传）" : "");
}

// the queue's own bookkeeping (id) stays out of the request
const send = ({ id, ...body }) => api("POST", "/checkins", { body, withStatus: true });

// Send what waits in the queue, one flush at a time; network failures stay queued, answers
// (good or bad) leave it.
let flushing = null;
export function flushQueue(onResult) {
  if (!navigator.onLine || !token() || !queued().length) return Promise.resolve();
  if (!flushing) {
    flushing = (async () => {
      for (const item of queued()) {
        try {
          const { data } = await send(item);
          onResult(item, data, null);
        } catch (e) {
          if (e.network) return;
          onResult(item, null, e);
        }
        saveQueue(queued().filter((q) => q.id !== item.id));
      }
    })().finally(() => { flushing = null; });
  }
  return flushing;
}

// Back online on any page: upload the waiting scans (the scan page shows them itself).
window.addEventListener("online", () => {
  if (document.body.dataset.page !== "scan") flushQueue((item, data, err) => toast(err ? "离线扫码上传失败：" + err.message : resultText(data)));
});

route("/scan", "扫码签到", async (view) => {
  const out = h("div", { test: "scan-result" });
  const history = h("ul", { class: "list", test: "scan-log" }, h("li", { class: "empty", test: "no-scans" }, "还没有扫码记录"));
  const queueBox = h("div", { test: "queue" });
  const text = h("textarea", { name: "code", placeholder: "粘贴二维码内容", test: "scan-code" });
  // the native file button speaks the browser's language: a Chinese button opens it instead
  const file = h("input", { type: "file", accept: "image/*", class: "file-input", test: "scan-file" });
  const pick = h("label", { class: "btn block ghost", test: "scan-pick" }, "拍照 / 选择二维码图片", file);
  const submit = h("button", { class: "block", type: "submit", test: "scan-submit" }, "提交");
  const log = (item, data, err) => {
    history.querySelector("[data-test=no-scans]")?.remove();
    history.prepend(h("li", { test: err ? "scan-fail" : "scan-ok" },
      err ? errorBox(err) : ok(resultText(data)),
      item.scanned_at ? h("div", { class: "muted" }, "离线扫码于 ", fmtTime(item.scanned_at)) : null));
    // the "saved offline" note above is out of date once the queue has gone
    if (out.querySelector("[data-test=queued]")) out.replaceChildren(h("div", { class: "muted" }, "离线扫码已上传，结果见下方记录"));
  };

  const renderQueue = () => {
    const q = queued();
    queueBox.replaceChildren(...(q.length ? [
      h("h2", {}, `待上传的离线扫码（${q.length}）`),
      h("ul", { class: "list" }, q.map((i) => h("li", { test: "queued-item" }, fmtTime(i.scanned_at), h("div", { class: "muted" }, i.code.slice(0, 24) + "…")))),
      h("button", { class: "block ghost", test: "flush", onclick: (e) => busy(e.target, null, flush) }, "立即上传"),
    ] : [h("div", { class: "muted" }, "没有待上传的离线扫码")]));
  };
  const flush = async () => { await flushQueue(log); renderQueue(); };

  const scan = async (code) => {
    code = code.trim();
    if (!code) throw new Error("请先粘贴二维码内容或上传二维码图片");
    const item = { code, ...(await position()) };
    const at = new Date(serverNow()).toISOString();
    if (!navigator.onLine) return enqueue(item, at);
    try {
      const { status, data } = await send(item);
      out.replaceChildren(ok(resultText(data) + (status === 200 ? "（已记录过）" : "")));
      log({}, data, null);
      text.value = "";
    } catch (e) {
      if (e.network) return enqueue(item, at);
      out.replaceChildren(errorBox(e));
    }
  };
  const enqueue = (item, at) => {
    saveQueue([...queued(), { ...item, scanned_at: at, id: at + Math.random() }]);
    out.replaceChildren(h("div", { class: "success", test: "queued" }, "当前离线，扫码已保存，联网后自动上传"));
    text.value = "";
    renderQueue();
  };

  file.addEventListener("change", () => {
    if (!file.files[0]) return;
    busy(submit, out, async () => {
      const code = await decodeImage(file.files[0]);
      text.value = code;
      file.value = "";
      await scan(code);
    });
  });
  const form = h("form", { onsubmit: (e) => { e.preventDefault(); busy(submit, out, () => scan(text.value)); } },
    h("label", {}, "扫一扫（模拟微信扫一扫：选择二维码的照片或截图）"), pick,
    h("label", {}, "或粘贴二维码内容"), text, submit, out);

  window.addEventListener("online", flush);
  onLeave(() => window.removeEventListener("online", flush));
  view.append(
    h("div", { class: "card" }, h("p", { class: "muted" }, "到达服务地点后，扫社区工作者出示的签到码；结束时扫签退码。"), form),
    h("div", { class: "card" }, queueBox),
    h("div", { class: "card" }, h("h2", {}, "本次记录"), history),
  );
  renderQueue();
  flush();
}, { name: "scan" });
