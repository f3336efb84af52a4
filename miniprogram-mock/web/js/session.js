// Login (stands in for wx.login), the identity switcher and each role's home.
import { forgetMe, me, post, setToken, token } from "./api.js";
import { busy, go, h, ok, route } from "./core.js";

export const DEMOS = [
  ["demo-member", "党员张伟", "在职党员"],
  ["demo-resident", "居民刘阿姨", "居民"],
  ["demo-staff", "社区干事王芳", "社区工作者"],
  ["demo-unit", "单位联络员李强", "单位党组织"],
  ["demo-street", "街道书记", "街道党工委"],
  ["demo-admin", "平台管理员", "平台管理员"],
];

// The modes a person can use, from their roles: a member/resident home, staff, unit, street.
const MODE_OF = { staff: "staff", unit_admin: "unit", street_admin: "street", admin: "street", member: "member", resident: "member" };
const ORDER = ["street", "staff", "unit", "member"];
export const MODE_NAME = { member: "居民/党员", staff: "社区工作者", unit: "单位管理员", street: "街道/平台" };
export const HOME = { member: "#/me", staff: "#/staff", unit: "#/unit", street: "#/street" };

export function modesOf(user) {
  const set = new Set((user.roles || []).map((r) => MODE_OF[r.role]).filter(Boolean));
  return ORDER.filter((m) => set.has(m));
}

export function currentMode(user) {
  const modes = modesOf(user);
  const saved = localStorage.getItem("mock.mode");
  return modes.includes(saved) ? saved : modes[0] || "member";
}

export const setMode = (m) => localStorage.setItem("mock.mode", m);
export const roleScope = (user, role, key) => ((user.roles || []).find((r) => r.role === role) || {})[key];

export function logout() {
  setToken(null);
  forgetMe();
  localStorage.removeItem("mock.mode");
  go("#/login");
}

async function login(code) {
  const res = await post("/auth/login", { code });
  setToken(res.token);
  forgetMe();
  localStorage.removeItem("mock.mode");
  go("#/home");
  return res;
}

route("/login", "登录", (view) => {
  const out = h("div", { test: "login-error" });
  const codeInput = h("input", { name: "code", placeholder: "例如 demo-member", autocomplete: "off", test: "login-code" });
  const submit = h("button", { class: "block", type: "submit", test: "login-submit" }, "登录");
  const form = h("form", {
    onsubmit: (e) => { e.preventDefault(); busy(submit, out, () => login(codeInput.value.trim()), form); },
  }, h("label", {}, "或输入登录码（模拟 wx.login 得到的 code）"), codeInput, submit);
  const identities = DEMOS.map(([code, name, what]) => {
    const b = h("button", { class: "block ghost", type: "button", test: "demo-" + code.slice(5),
      onclick: () => busy(b, out, () => login(code)) }, `${name}（${what}）`);
    return b;
  });
  view.append(
    h("div", { class: "card" },
      h("h2", {}, "社区党建 · 双报到"),
      h("p", { class: "muted" }, "在职党员到居住社区报到、认领志愿服务、扫码签到、积累公益积分。"),
      h("p", { class: "muted" }, "这是微信小程序的浏览器模拟：选择一个演示身份登录。")),
    h("div", { class: "card identities" }, h("h2", {}, "演示身份"), identities),
    h("div", { class: "card" }, form, out),
    h("a", { class: "btn block ghost", href: "#/verify", test: "go-verify" }, "核验志愿服务记录证明"),
  );
}, { public: true, name: "login" });

route("/home", "首页", async () => {
  const user = await me(true);
  go(HOME[currentMode(user)]);
}, { name: "home" });

route("/identity", "切换身份", async (view) => {
  const user = await me();
  const mode = currentMode(user);
  const roleText = (r) => ({ resident: "居民", member: "党员", staff: "社区工作者", unit_admin: "单位管理员", street_admin: "街道管理员", admin: "平台管理员" }[r.role] || r.role);
  view.append(
    h("div", { class: "card" },
      h("h2", {}, user.name || user.nickname),
      h("p", { class: "muted", test: "roles" }, "角色：", (user.roles || []).map(roleText).join("、")),
      h("p", { class: "muted", test: "user-id" }, "用户编号：", user.id, "（他人向您转赠积分时填写）")),
    phoneCard(user),
    h("div", { class: "card" }, h("h2", {}, "切换到"),
      modesOf(user).map((m) => h("button", { class: "block" + (m === mode ? "" : " ghost"), test: "mode-" + m,
        onclick: () => { setMode(m); go(HOME[m]); } }, MODE_NAME[m]))),
    h("button", { class: "block ghost", test: "logout", onclick: logout }, "退出登录"),
  );
}, { name: "identity" });

// Stands in for <button open-type="getPhoneNumber">: WeChat hands the page a one-time code for
// the number the person picks; the fake platform reads "phone-<number>" as that number.
function phoneCard(user) {
  const out = h("div", { test: "phone-result" });
  const number = h("input", { type: "tel", placeholder: "微信绑定的手机号", test: "phone-number" });
  const b = h("button", { class: "block", test: "phone-verify", onclick: () => busy(b, out, async () => {
    const res = await post("/me/phone", { code: "phone-" + number.value.trim() });
    forgetMe();
    out.replaceChildren(ok(`已验证手机号 ${res.phone}`));
  }) }, "使用微信手机号验证");
  return h("div", { class: "card" }, h("h2", {}, "手机号"),
    h("p", { class: "muted", test: "phone-status" }, user.phone_verified ? `已验证：${user.phone}` : "未验证（报到时可直接使用已验证的手机号）"),
    number, b, out);
}

export const loggedIn = () => Boolean(token());
