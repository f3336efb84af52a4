// 积分流水 of the community (its staff): earnings issued, redemptions, expiries and reversals,
// newest first, page after page; a wrong earning or redemption is reversed with a reason (冲正).
import { get, newKey, post } from "./api.js";
import { busy, field, fmtTime, h, ok, reasonFirst, route, say, section } from "./core.js";
import { KIND } from "./points.js";
import { staffCommunity } from "./staff.js";

const ACCOUNT = { issuance: "发放", rewards: "兑换", expiry: "过期" };

function row(t, reload) {
  const out = h("div");
  const reason = h("input", { name: "reason", placeholder: "冲正原因（必填）", test: "reverse-reason", hidden: true });
  const sign = t.direction === "out" ? "+" : "−";
  const actions = [];
  if (t.kind !== "reverse" && t.reversed_by == null) {
    const b = h("button", { class: "small ghost", test: "reverse", onclick: reasonFirst(reason, () => busy(b, out, async () => {
      if (!reason.value.trim()) { reason.focus(); throw say("请填写冲正原因"); }
      await post(`/transfers/${t.id}/reversal`, { reason: reason.value.trim() }, { "Idempotency-Key": newKey() });
      out.replaceChildren(ok("已冲正"));
      reload();
    })) }, "冲正");
    actions.push(b);
  }
  return h("li", { test: "transfer", "data-id": t.id }, h("div", { class: "row" }, h("div", { class: "grow" },
    h("h3", {}, t.name || (t.user_id ? `用户${t.user_id}` : "社区账户"), " · ", KIND[t.kind] || t.kind),
    h("div", { class: "muted" }, fmtTime(t.created_at), ` · ${ACCOUNT[t.account] || t.account}账户`, t.memo ? ` · ${t.memo}` : ""),
    t.reversed_by != null ? h("div", { class: "muted", test: "reversed" }, `已冲正（流水 ${t.reversed_by}）`) : null,
    t.reverses_id != null ? h("div", { class: "muted" }, `冲正流水 ${t.reverses_id}`) : null),
  h("b", { test: "amount" }, `${sign}${t.amount}`), ...actions), reason, out);
}

route("/staff/transfers", "积分流水", async (view) => {
  const cid = await staffCommunity();
  const kind = h("select", { name: "kind", test: "transfer-kind" }, h("option", { value: "" }, "全部"),
    ["earn", "redeem", "reverse", "expire"].map((k) => h("option", { value: k }, KIND[k])));
  const list = h("ul", { class: "list", test: "transfers" });
  const more = h("button", { class: "block ghost", test: "more", hidden: true }, "加载更多");
  const box = h("div");
  let cursor = null;
  const page = async () => {
    const res = await get(`/communities/${cid}/transfers`, { kind: kind.value || null, limit: 20, cursor });
    list.append(...res.items.map((t) => row(t, load)));
    cursor = res.next_cursor;
    more.hidden = !cursor;
    return list.children.length ? [list, more] : h("div", { class: "empty", test: "no-transfers" }, "暂无流水");
  };
  const load = () => { cursor = null; list.replaceChildren(); return section(box, page); };
  more.addEventListener("click", () => busy(more, null, page));
  kind.addEventListener("change", load);
  view.append(h("div", { class: "card" }, field("类型", kind)), h("div", { class: "card" }, box));
  await load();
}, { back: true, name: "staff-transfers" });
