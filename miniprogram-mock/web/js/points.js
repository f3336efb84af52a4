// The time bank seen from a phone: my points and statement, rewards, donate, my certificate.
import { api, blob, get, keyedPost, me, newKey, post } from "./api.js";
import { busy, field, fmtDay, fmtTime, h, isoToLocal, minutesText, num, ok, route, section } from "./core.js";
import { staffCommunity } from "./staff.js";
import { myCommunityId } from "./member.js";

export const KIND = { earn: "服务奖励", redeem: "积分兑换", donate: "积分转赠", reverse: "冲正", expire: "积分过期", adjust: "调整", close: "注销" };

async function accountCard() {
  const a = await get("/me/account");
  return h("div", { class: "stats", test: "account" },
    h("div", { class: "stat" }, "当前积分", h("b", { test: "balance" }, a.balance)),
    h("div", { class: "stat" }, "服务时长", h("b", { test: "service-minutes" }, minutesText(a.service_minutes))),
    h("div", { class: "stat" }, "累计获得", h("b", {}, a.earned_total)),
    h("div", { class: "stat" }, "累计使用", h("b", {}, a.spent_total)));
}

route("/points", "我的积分", async (view) => {
  const account = h("div");
  const box = h("div");
  const more = h("div");
  const list = h("ul", { class: "list", test: "statement" });
  let cursor = null;
  const load = async () => {
    const page = await get("/me/transfers", { cursor });
    list.append(...page.items.map((t) => h("li", { class: "row", test: "transfer" },
      h("div", { class: "grow" }, h("div", {}, KIND[t.kind] || t.kind, t.memo ? " · " + t.memo : ""),
        h("div", { class: "muted" }, fmtTime(t.created_at), " · 余额 ", t.balance_after)),
      h("b", { class: "amount " + (t.amount >= 0 ? "plus" : "minus") }, (t.amount > 0 ? "+" : "") + t.amount))));
    if (!list.children.length) list.append(h("li", { class: "empty" }, "还没有积分记录"));
    cursor = page.next_cursor;
    more.replaceChildren(cursor ? h("button", { class: "block ghost", onclick: (e) => busy(e.target, null, load) }, "加载更多") : "");
  };
  view.append(h("div", { class: "card" }, h("h2", {}, "公益积分"), account),
    h("div", { class: "card" }, h("h2", {}, "积分明细"), box, more),
    h("div", { class: "row" }, h("a", { class: "btn grow", href: "#/rewards" }, "去兑换"), h("a", { class: "btn ghost grow", href: "#/donate" }, "转赠")));
  section(account, accountCard);
  await section(box, async () => { await load(); return list; });
}, { name: "points" });

// 爱心超市 redemptions: what waits at the shelf (with its pickup code), handed over or cancelled.
export const PICKUP = { pending: ["待领取", "warn"], handed_over: ["已领取", "ok"], cancelled: ["已取消", "grey"] };
const pickupBadge = (s) => h("span", { class: "badge " + (PICKUP[s] || [s, "grey"])[1], test: "status" }, (PICKUP[s] || [s])[0]);

function redemptionItem(r, reload, { staff = false } = {}) {
  const cancel = h("button", { class: "small ghost", test: "cancel-redemption", onclick: () => busy(cancel, null, async () => {
    if (!confirm(staff ? "取消后积分退回兑换人、礼品回到货架，确定吗？" : "取消后积分退回、礼品回到货架，确定吗？")) return;
    await post(`/redemptions/${r.id}/cancel`);
    reload();
  }) }, "取消兑换");
  return h("li", { test: "redemption", "data-id": r.id },
    h("div", { class: "row" }, h("h3", { class: "grow" }, r.reward_name), pickupBadge(r.status)),
    h("div", { class: "muted" }, [staff ? r.user_name || `用户 ${r.user_id}` : null, `${r.points} 积分`, "兑换于 " + fmtTime(r.created_at),
      r.handed_over_at ? "领取于 " + fmtTime(r.handed_over_at) : null].filter(Boolean).join(" · ")),
    r.status === "pending" && r.pickup_code ? h("div", { class: "row" }, h("div", { class: "grow muted" }, "到社区出示领取码"),
      h("b", { test: "pickup-code", style: "font-size:22px;letter-spacing:3px" }, r.pickup_code)) : null,
    r.status === "pending" ? h("div", { class: "row", style: "margin-top:6px" }, cancel) : null);
}

route("/rewards", "积分兑换", async (view) => {
  const user = await me();
  const cid = myCommunityId(user);
  const account = h("div");
  const box = h("div");
  const mine = h("div", { test: "my-redemptions" });
  const loadMine = () => section(mine, async () => {
    const page = await get("/me/redemptions", { limit: 20 });
    return page.items.length ? h("ul", { class: "list" }, page.items.map((r) => redemptionItem(r, reload)))
      : h("div", { class: "empty" }, "还没有兑换记录");
  });
  const reload = () => { loadMine(); section(account, accountCard); };
  view.append(h("div", { class: "card" }, account), h("div", { class: "card" }, h("h2", {}, "社区礼品"), box),
    h("div", { class: "card" }, h("h2", {}, "我的兑换"), mine));
  section(account, accountCard);
  loadMine();
  if (!cid) return box.replaceChildren(h("div", { class: "empty" }, "报到通过后可兑换所在社区的礼品"));
  await section(box, async () => {
    const page = await get(`/communities/${cid}/rewards`);
    if (!page.items.length) return h("div", { class: "empty" }, "暂无可兑换的礼品");
    return h("ul", { class: "list" }, page.items.map((r) => {
      const out = h("div");
      const cost = r.points ?? r.cost ?? r.price;
      // a fresh Idempotency-Key per click: a retried request of the same click moves nothing twice
      const b = h("button", { class: "small", test: "redeem", onclick: () => busy(b, out, async () => {
        const res = await api("POST", `/rewards/${r.id}/redemptions`, { body: {}, headers: { "Idempotency-Key": newKey() } });
        out.replaceChildren(ok("兑换成功" + (res && res.pickup_code ? "，领取码 " + res.pickup_code : "") + "，请到社区出示领取"));
        if (r.stock > 0) stock.textContent = `${cost} 积分 · 剩余 ${--r.stock}`;
        reload();
      }) }, "兑换");
      const stock = h("div", { class: "muted" }, `${cost} 积分 · 剩余 ${r.stock ?? "—"}`);
      return h("li", { test: "reward" }, h("div", { class: "row" },
        h("div", { class: "grow" }, h("h3", {}, r.name || r.title), stock), b), out);
    }));
  });
}, { back: true, name: "rewards" });

route("/staff/shelf", "爱心超市", async (view) => {
  const cid = await staffCommunity();
  const out = h("div", { test: "handover-result" });
  const code = h("input", { name: "pickup_code", inputmode: "numeric", maxlength: 8, placeholder: "居民出示的 8 位领取码", test: "pickup-input" });
  const submit = h("button", { class: "block", type: "submit", test: "handover-submit" }, "核销并发放");
  const waiting = h("div", { test: "waiting-redemptions" });
  const loadWaiting = () => section(waiting, async () => {
    const page = await get(`/communities/${cid}/redemptions`, { status: "pending", limit: 50 });
    return page.items.length ? h("ul", { class: "list" }, page.items.map((r) => redemptionItem(r, loadWaiting, { staff: true })))
      : h("div", { class: "empty" }, "没有待领取的兑换");
  });
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const r = await post(`/communities/${cid}/redemptions/handover`, { pickup_code: code.value.trim() });
      out.replaceChildren(ok(`已发放：${r.reward_name} · ${r.user_name || "用户 " + r.user_id}`));
      code.value = "";
      loadWaiting();
    }, form);
  } }, field("领取码", code), submit, out);
  const shelf = h("div");
  const loadShelf = () => section(shelf, async () => {
    const page = await get(`/communities/${cid}/rewards`, { include_inactive: true, limit: 100 });
    return page.items.length ? h("ul", { class: "list", test: "shelf" }, page.items.map((r) => shelfItem(r, loadShelf)))
      : h("div", { class: "empty" }, "货架上还没有礼品");
  });
  view.append(h("div", { class: "card" }, h("h2", {}, "爱心超市核销"), form), h("div", { class: "card" }, h("h2", {}, "待领取"), waiting),
    h("div", { class: "card" }, h("h2", {}, "货架"), shelf), h("div", { class: "card" }, h("h2", {}, "上架礼品"), rewardForm(cid, loadShelf)));
  loadWaiting();
  loadShelf();
}, { back: true, name: "shelf" });

// A reward on the shelf: restock it, take it off the shelf or put it back (PATCH /rewards/{id}).
function shelfItem(r, reload) {
  const out = h("div");
  const change = (b, body) => busy(b, out, async () => { await api("PATCH", `/rewards/${r.id}`, { body }); reload(); });
  const stock = h("input", { name: "stock", type: "number", min: 0, value: r.stock, style: "width:90px", test: "shelf-stock" });
  const save = h("button", { class: "small ghost", test: "shelf-restock", onclick: () => change(save, { stock: Number(stock.value) }) }, "改库存");
  const toggle = h("button", { class: "small ghost", test: "shelf-toggle", onclick: () => change(toggle, { active: !r.active }) },
    r.active ? "下架" : "重新上架");
  return h("li", { test: "shelf-reward" },
    h("h3", {}, r.name, r.active ? "" : h("span", { class: "badge grey", test: "off-shelf" }, "已下架")),
    h("div", { class: "muted" }, `${r.points} 积分 · 库存 ${r.stock}`, r.description ? ` · ${r.description}` : ""),
    h("div", { class: "row" }, stock, save, toggle), out);
}

function rewardForm(cid, reload) {
  const f = {
    name: h("input", { name: "name", placeholder: "例如：洗衣液 1 瓶", test: "reward-name" }),
    description: h("input", { name: "description", placeholder: "说明（可选）", test: "reward-description" }),
    points: h("input", { name: "points", type: "number", min: 1, value: 50, test: "reward-points" }),
    stock: h("input", { name: "stock", type: "number", min: 0, value: 10, test: "reward-stock" }),
  };
  const out = h("div", { test: "reward-result" });
  const submit = h("button", { class: "block", type: "submit", test: "reward-submit" }, "上架");
  const send = keyedPost(`/communities/${cid}/rewards`); // submitted again after a lost answer: on the shelf once
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const r = await send({ name: f.name.value.trim(), description: f.description.value.trim(), points: num(f.points), stock: num(f.stock) });
      out.replaceChildren(ok(`已上架：${r.name}`));
      f.name.value = f.description.value = "";
      reload();
    }, form);
  } }, field("礼品名称", f.name), f.description, field("所需积分", f.points), field("库存", f.stock), submit, out);
  return form;
}

route("/donate", "积分转赠", async (view) => {
  const account = h("div");
  const out = h("div", { test: "donate-result" });
  const to = h("input", { name: "to_user_id", type: "number", min: 1, placeholder: "对方的用户编号", test: "donate-to" });
  const amount = h("input", { name: "amount", type: "number", min: 1, step: 1, test: "donate-amount" });
  const memo = h("input", { name: "memo", placeholder: "例如：送给社区困难老人", test: "donate-memo" });
  const submit = h("button", { class: "block", type: "submit", test: "donate-submit" }, "确认转赠");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const body = { to_user_id: Number(to.value), amount: Number(amount.value), memo: memo.value.trim() };
      await api("POST", "/transfers", { body, headers: { "Idempotency-Key": newKey() } });
      out.replaceChildren(ok(`已转赠 ${body.amount} 积分`));
      section(account, accountCard);
    }, form);
  } }, field("转赠给（用户编号，对方可在顶栏姓名 → 切换身份页查看）", to), field("积分", amount), field("留言", memo), submit, out);
  view.append(h("div", { class: "card" }, account), h("div", { class: "card" }, h("h2", {}, "把积分赠给他人"), form));
  section(account, accountCard);
}, { back: true, name: "donate" });

route("/certificate", "服务证明", async (view) => {
  const year = isoToLocal(Date.now()).slice(0, 4);
  const from = h("input", { type: "date", name: "from", value: `${year}-01-01`, test: "cert-from" });
  const to = h("input", { type: "date", name: "to", value: isoToLocal(Date.now()).slice(0, 10), test: "cert-to" });
  const out = h("div", { test: "cert-result" });
  const submit = h("button", { class: "block", type: "submit", test: "cert-submit" }, "生成证明");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const file = await blob("/me/certificate", { from: from.value, to: to.value });
      const href = URL.createObjectURL(new Blob([file.blob], { type: "application/pdf" }));
      const name = file.filename || `志愿服务记录证明-${from.value}-${to.value}.pdf`;
      out.replaceChildren(ok(`证明已生成（${fmtDay(from.value)} 至 ${fmtDay(to.value)}）`),
        h("a", { class: "btn block", href, target: "_blank", test: "cert-open", "data-type": file.type }, "打开 PDF"),
        h("a", { class: "btn block ghost", href, download: name }, "保存到手机"));
      window.open(href, "_blank");
    }, form);
  } }, field("开始日期", from), field("结束日期", to), submit, out);
  view.append(h("div", { class: "card" }, h("h2", {}, "志愿服务记录证明"),
    h("p", { class: "muted" }, "证明上有验证码，单位可凭验证码在线核验。"), form));
}, { back: true, name: "certificate" });

// Anyone (a unit's HR, without logging in) checks a 志愿服务记录证明 by the code printed on it.
route("/verify", "证明核验", async (view, _params, query) => {
  const code = h("input", { name: "code", value: query.get("code") || "", placeholder: "证明上的 12 位验证码", autocomplete: "off", test: "verify-code" });
  const out = h("div", { test: "verify-cert-result" });
  const submit = h("button", { class: "block", type: "submit", test: "verify-submit" }, "核验");
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const v = await get(`/certificates/${encodeURIComponent(code.value.trim().toUpperCase())}`);
      out.replaceChildren(v.valid
        ? h("div", { class: "success", test: "success" }, h("b", {}, "证明有效"), h("div", {}, `编号 ${v.number} · ${v.name} · ${v.community}`),
          h("div", {}, `${fmtDay(v.from)} 至 ${fmtDay(v.to)}：服务 ${v.services} 次，共 ${minutesText(v.total_minutes)}`),
          h("div", { class: "muted" }, "开具于 ", fmtTime(v.issued_at)))
        : h("div", { class: "error", test: "error" }, "证明无效或已作废"));
    }, form);
  } }, field("验证码", code), submit, out);
  view.append(h("div", { class: "card" }, h("p", { class: "muted" }, "输入证明上的验证码，核对持证人的志愿服务记录。"), form));
}, { public: true, back: true, name: "verify" });
