// Entry: every page module registers its routes; the header, tab bar and auth guard live here.
import { me } from "./api.js";
import { $, configure, go, h, start } from "./core.js";
import { currentMode, loggedIn, MODE_NAME } from "./session.js";
import "./member.js";
import "./mine.js";
import "./tasks.js";
import "./scan.js";
import "./points.js";
import "./staff.js";
import "./staff_task.js";
import "./staff_records.js";
import "./unit.js";
import "./street.js";
import "./admin.js";
import "./orgs.js";
import "./ledger.js";
import "./partywork.js";

const TABS = {
  member: [["#/me", "首", "首页"], ["#/tasks", "任", "任务"], ["#/scan", "扫", "扫码"], ["#/points", "分", "积分"]],
  staff: [["#/staff", "社", "工作台"], ["#/staff/new-task", "+", "发布任务"], ["#/identity", "我", "身份"]],
  unit: [["#/unit", "单", "本单位"], ["#/identity", "我", "身份"]],
  street: [["#/street", "街", "看板"], ["#/identity", "我", "身份"]],
};

configure({
  async beforeRender(r) {
    if (!r.public && !loggedIn()) { go("#/login"); return false; }
    return true;
  },
  async chrome(r) {
    const tabs = $("#tabs");
    const back = $("#back");
    const who = $("#who");
    back.hidden = !r.back;
    back.onclick = () => history.back();
    if (r.public) { tabs.hidden = true; who.hidden = true; return; }
    let user;
    try { user = await me(); } catch (e) { return; }
    const mode = currentMode(user);
    who.hidden = false;
    who.textContent = (user.name || user.nickname || "我") + " · " + MODE_NAME[mode];
    who.dataset.test = "who";
    who.onclick = () => go("#/identity");
    const here = location.hash.split("?")[0];
    tabs.hidden = false;
    tabs.replaceChildren(...TABS[mode].map(([href, icon, text]) =>
      h("a", { href, class: here === href ? "on" : "" }, h("span", { class: "i" }, icon), text)));
  },
});

window.addEventListener("hashchange", start);
window.addEventListener("auth-lost", () => { if (location.hash !== "#/login") go("#/login"); });
start();
