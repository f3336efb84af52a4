// The live check-in QR a staff member holds up (tasks: 签到码/签退码; meetings: 签到码 only).
// Codes rotate: the panel fetches the next one when the API says (refresh_after), before the
// shown one expires, and counts down by the server's clock.
import { blob, get, serverNow } from "./api.js";
import { errorBox, every, h, later, onLeave } from "./core.js";

const LABEL = { in: "签到码", out: "签退码" };

// codePath: "/tasks/7/checkin-code"; actions: ["in", "out"] shows a switch, ["in"] does not.
export function qrPanel(codePath, actions = ["in", "out"]) {
  let action = actions[0];
  const img = h("img", { alt: "签到二维码", test: "qr-image" });
  const code = h("code", { test: "qr-code" });
  const countdown = h("div", { class: "muted", test: "qr-countdown" }, "正在获取二维码…");
  const status = h("div");
  let objectUrl = null;
  let expiresAt = 0;
  let refreshTimer = null;
  onLeave(() => { clearTimeout(refreshTimer); if (objectUrl) URL.revokeObjectURL(objectUrl); });

  const tick = () => {
    if (!expiresAt) return;
    const s = Math.max(0, Math.round((expiresAt - serverNow()) / 1000));
    countdown.textContent = s > 0 ? `${LABEL[action]} ${s} 秒后失效，会自动刷新` : "二维码已失效，正在刷新…";
    img.classList.toggle("stale", s <= 0);
  };

  const load = async () => {
    clearTimeout(refreshTimer);
    try {
      const c = await get(codePath, actions.length > 1 ? { action } : null);
      try { // the PNG may sit behind the token, so fetch it rather than <img src>
        const png = await blob(c.image_url, null, true);
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = URL.createObjectURL(png.blob);
        img.src = objectUrl;
        status.replaceChildren();
      } catch (e) {
        status.replaceChildren(errorBox(e)); // the code below can still be typed in
      }
      code.textContent = c.code;
      code.dataset.action = action;
      img.dataset.code = c.code;
      expiresAt = Date.parse(c.expires_at);
      tick();
      // the next code is issued after refresh_after seconds; the shown one stays valid past that
      const left = c.refresh_after != null ? c.refresh_after * 1000 : (expiresAt - serverNow()) * 0.5;
      refreshTimer = later(Math.max(1000, left), load);
    } catch (e) {
      status.replaceChildren(errorBox(e, load));
      refreshTimer = later(10000, load);
    }
  };
  every(1000, tick);

  const tabs = actions.map((a) => h("button", { class: "small" + (a === action ? "" : " ghost"), test: "qr-" + a,
    onclick: () => switchTo(a) }, LABEL[a]));
  const switchTo = (a) => {
    action = a;
    tabs.forEach((b, i) => { b.className = "small" + (actions[i] === a ? "" : " ghost"); });
    load();
  };
  load();
  return h("div", { class: "qr" }, actions.length > 1 ? h("div", { class: "row", style: "justify-content:center" }, tabs) : null,
    h("p", {}, img), countdown, code, status);
}
