// The only way the pages talk to the backend: the public /api/v1 contract, with the bearer token.
const TOKEN_KEY = "mock.token";
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
  get network() { return this.status === 0; }
}

export const token = () => localStorage.getItem(TOKEN_KEY);
export const setToken = (t) => (t ? localStorage.setItem(TOKEN_KEY, t) : localStorage.removeItem(TOKEN_KEY));

// The server's clock, learnt from the Date header: rotating codes expire by the server's time,
// and a phone's clock may be wrong.
let skewMs = 0;
export const serverNow = () => Date.now() + skewMs;

// API paths are relative to /api/v1 ("/me"); URLs the server hands out (image_url,
// result_url) are used as given: pass them with { abs: true }.
function url(path, query, abs) {
  const u = new URL(abs ? path : BASE + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u.href;
}

async function send(method, path, { body, query, headers, abs } = {}) {
  const h = { Accept: "application/json", ...(headers || {}) };
  if (token()) h.Authorization = "Bearer " + token();
  if (body !== undefined) h["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url(path, query, abs), { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "NETWORK", "网络连接失败，请检查网络后重试");
  }
  const date = resp.headers.get("Date");
  if (date) skewMs = Date.parse(date) + 500 - Date.now();
  if (resp.status === 401 && path !== "/auth/login") {
    setToken(null);
    window.dispatchEvent(new CustomEvent("auth-lost"));
  }
  return resp;
}

async function fail(resp) {
  let err = {};
  try { err = (await resp.json()).error || {}; } catch (e) { /* not JSON */ }
  const fallback = resp.status === 404 ? "接口暂不可用或对象不存在" : `请求失败（${resp.status}）`;
  return new ApiError(resp.status, err.code || "HTTP_" + resp.status, err.message || fallback, err.details);
}

// JSON in, JSON out; throws ApiError with the API's Chinese `error.message`.
export async function api(method, path, opts = {}) {
  const resp = await send(method, path, opts);
  if (!resp.ok) throw await fail(resp);
  if (resp.status === 204) return null;
  const data = await resp.json();
  if (opts.withStatus) return { status: resp.status, data };
  return data;
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body, headers) => api("POST", path, { body: body ?? {}, headers });

// A file behind the token (PDF certificate, xlsx export, QR PNG): a Blob and the server's filename.
export async function blob(path, query, abs = false) {
  const resp = await send("GET", path, { query, abs, headers: { Accept: "*/*" } });
  if (!resp.ok) throw await fail(resp);
  const cd = resp.headers.get("Content-Disposition") || "";
  const m = cd.match(/filename\*=UTF-8''([^;]+)/i) || cd.match(/filename="?([^";]+)"?/i);
  return { blob: await resp.blob(), type: resp.headers.get("Content-Type") || "", filename: m ? decodeURIComponent(m[1]) : null };
}

export const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
// A create form's POST under one Idempotency-Key until it gets its answer: submitting again after
// a lost answer creates the thing once and shows it; the next thing gets a fresh key.
export function keyedPost(path) {
  let key = newKey();
  return async (body) => {
    const res = await post(path, body, { "Idempotency-Key": key });
    key = newKey();
    return res;
  };
}

let meCache = null;
export async function me(force = false) {
  if (!meCache || force) meCache = await get("/me");
  return meCache;
}
export const forgetMe = () => { meCache = null; };
