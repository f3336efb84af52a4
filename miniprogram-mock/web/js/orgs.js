// Organisations and who acts for them: a street admin (or the platform admin) opens communities and
// registers units in the street, grants staff / unit_admin / street_admin roles by a person's
// 用户编号 (shown on their 我的 page) and takes them away; a community's staff keep their own
// colleagues and grids.
import { api, get, keyedPost, me, post } from "./api.js";
import { busy, field, fmtDate, h, num, ok, route, say, section } from "./core.js";
import { roleScope } from "./session.js";
import { staffCommunity } from "./staff.js";

const ROLE_NAME = { staff: "社区工作者", unit_admin: "单位管理员", street_admin: "街道管理员", admin: "平台管理员" };

// The holders of one scope's role ({community_id} | {unit_id} | {street_id}), each with 撤销
// (asked once more); one's own row has none: someone else takes a role away.
export function holders(scope, selfId) {
  const box = h("div", { test: "holders" });
  const load = () => section(box, async () => {
    const page = await get("/roles", { ...scope, limit: 100 });
    if (!page.items.length) return h("div", { class: "empty", test: "no-holders" }, "暂无人员");
    return h("ul", { class: "list" }, page.items.map((g) => {
      const out = h("div");
      const b = g.user_id === selfId ? h("span", { class: "muted" }, "本人") : h("button", { class: "small ghost", test: "revoke", onclick: () => {
        if (b.dataset.sure !== "1") { b.dataset.sure = "1"; b.textContent = "确认撤销"; return; }
        busy(b, out, async () => { await api("DELETE", `/roles/${g.id}`); load(); });
      } }, "撤销");
      return h("li", { test: "holder", "data-user": g.user_id }, h("div", { class: "row" }, h("div", { class: "grow" },
        h("h3", {}, g.name || `用户${g.user_id}`), h("div", { class: "muted" }, `编号 ${g.user_id} · ${ROLE_NAME[g.role] || g.role} · ${fmtDate(g.granted_at)} 起`)), b), out);
    }));
  });
  load();
  return { box, load };
}

// 授予：a 用户编号 and the role; `scopeOf()` names where ({community_id} | {unit_id} | {street_id}).
function grantForm(roles, scopeOf, done) {
  const who = h("input", { name: "user_id", type: "number", min: 1, placeholder: "对方“我的”页面上的用户编号", test: "grant-user" });
  const role = h("select", { name: "role", test: "grant-role" }, roles.map((r) => h("option", { value: r }, ROLE_NAME[r])));
  const out = h("div");
  const submit = h("button", { type: "submit", class: "block", test: "grant" }, "授予");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const userId = num(who);
      if (!userId) throw say("请填写用户编号");
      await post("/roles", { user_id: userId, role: role.value, ...scopeOf(role.value) });
      out.replaceChildren(ok(`已授予用户 ${userId}：${ROLE_NAME[role.value]}`));
      who.value = "";
      done(role.value);
    }, form);
  } }, field("用户编号", who), roles.length > 1 ? field("角色", role) : null, submit, out);
  return form;
}

// A create form: named inputs, one POST under one Idempotency-Key until answered, then `done(created)`.
function createForm(path, inputs, body, label, test, done) {
  const send = keyedPost(path);
  const out = h("div");
  const submit = h("button", { type: "submit", class: "block", test }, label);
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const created = await send(body());
      out.replaceChildren(ok(`已创建：${created.name}`));
      inputs.forEach(([, input]) => { input.value = ""; });
      done(created);
    }, form);
  } }, ...inputs.map(([label_, input]) => field(label_, input)), submit, out);
  return form;
}

route("/orgs", "组织与角色", async (view, _params, query) => {
  const user = await me(true);
  const admin = (user.roles || []).some((r) => r.role === "admin");
  let streetId = Number(query.get("street")) || roleScope(user, "street_admin", "street_id");
  if (!admin && !streetId) throw new Error("仅街道或平台管理员可用");
  const top = h("div", { class: "card" });
  if (admin) {
    const streets = (await get("/streets")).items;
    if (!streets.length) throw new Error("还没有街道");
    streetId = streetId || streets[0].id;
    const pick = h("select", { test: "org-street" }, streets.map((s) => h("option", { value: s.id, selected: s.id === streetId }, s.name)));
    pick.addEventListener("change", () => { streetId = Number(pick.value); redraw(); });
    top.append(field("街道", pick));
  }
  const body = h("div");
  view.append(...(admin ? [top] : []), body);  // a street admin has one street: nothing to pick

  const redraw = () => section(body, draw);
  // the page's cards for the street (section() puts them in `body`)
  async function draw() {
    const [communities, units] = await Promise.all([
      get("/communities", { street_id: streetId, limit: 100 }), get("/units", { street_id: streetId, limit: 100 })]);
    // where the role list and the grant point: one community, one unit, or the street itself
    const scopes = [...communities.items.map((c) => ["staff", { community_id: c.id }, `社区 · ${c.name}`]),
      ...units.items.map((u) => ["unit_admin", { unit_id: u.id }, `单位 · ${u.name}`]),
      ["street_admin", { street_id: streetId }, "本街道"]];
    const scopePick = h("select", { test: "role-scope" }, scopes.map(([, , label], i) => h("option", { value: i }, label)));
    const listBox = h("div");
    const show = () => {
      const [role, scope] = scopes[Number(scopePick.value)];
      const list = holders(scope, user.id);
      listBox.replaceChildren(list.box, grantForm([role], () => scope, list.load));
    };
    scopePick.addEventListener("change", show);
    show();
    const name = h("input", { name: "name", placeholder: "例如 幸福里社区", test: "community-name" });
    const district = h("input", { name: "district", placeholder: "所在区（可不填）", test: "community-district" });
    const unitName = h("input", { name: "unit_name", placeholder: "单位全称", test: "unit-name" });
    const kind = h("input", { name: "kind", placeholder: "企业 / 机关 / 事业单位 / 学校…", test: "unit-kind" });
    return [
      h("div", { class: "card" }, h("h2", {}, "人员与角色"), field("范围", scopePick), listBox),
      h("div", { class: "card" }, h("h2", {}, `社区（${communities.items.length}）`),
        h("ul", { class: "list", test: "communities" }, communities.items.map((c) => h("li", {}, c.name, h("span", { class: "muted" }, ` · 编号 ${c.id}`)))),
        createForm("/communities", [["社区名称", name], ["所在区", district]],
          () => ({ name: name.value.trim(), district: district.value.trim(), street_id: streetId }), "新建社区", "create-community", redraw)),
      h("div", { class: "card" }, h("h2", {}, `共建单位（${units.items.length}）`),
        h("ul", { class: "list", test: "units" }, units.items.map((u) => h("li", {}, u.name, h("span", { class: "muted" }, ` · ${u.kind || "单位"}`)))),
        createForm("/units", [["单位名称", unitName], ["类型", kind]],
          () => ({ name: unitName.value.trim(), kind: kind.value.trim(), street_id: streetId }), "登记单位", "create-unit", redraw))];
  }
  await redraw();
}, { back: true, name: "orgs" });

// A community's staff keep their colleagues (staff may grant staff in their own community) and grids.
route("/staff/team", "工作人员与网格", async (view) => {
  const cid = await staffCommunity();
  const user = await me();
  const list = holders({ community_id: cid }, user.id);
  const grids = h("div", { test: "grids" });
  const loadGrids = () => section(grids, async () => {
    const page = await get(`/communities/${cid}/grids`);
    return page.items.length ? h("ul", { class: "list" }, page.items.map((g) => h("li", { test: "grid" }, g.name)))
      : h("div", { class: "empty" }, "还没有网格");
  });
  const gridName = h("input", { name: "grid", placeholder: "例如 第一网格", test: "grid-name" });
  view.append(
    h("div", { class: "card" }, h("h2", {}, "社区工作者"), list.box, grantForm(["staff"], () => ({ community_id: cid }), list.load)),
    h("div", { class: "card" }, h("h2", {}, "网格"), grids,
      createForm(`/communities/${cid}/grids`, [["网格名称", gridName]], () => ({ name: gridName.value.trim() }), "添加网格", "create-grid", loadGrids)));
  loadGrids();
}, { back: true, name: "staff-team" });
