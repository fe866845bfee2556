// The console's calls to the API (through /web-common/api.js), and small DOM helpers shared by its modules.

import { ApiError, api as callApi, errorText } from "/web-common/api.js";

export { ApiError, errorText };

// The console works by the session cookie (HttpOnly: no script here can read it). Requests that
// change anything echo the session's CSRF token, which the cookie alone cannot provide.
let csrf = "";
let onSignedOut = () => {};

export function setCsrf(value) {
  csrf = value;
}

/** Called when the server says the session has ended (expired, idle, revoked). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Call /api/v1 with the console's session; resolves to the JSON body (null for 204) or throws ApiError. */
export async function api(path, { timeoutMs = 15000, method = "GET", ...options } = {}) {
  const headers = method === "GET" ? {} : { "X-Madoguchi-CSRF": csrf };
  try {
    return await callApi(path, { ...options, method, headers, timeoutMs });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && !path.startsWith("/auth/")) onSignedOut();
    throw error;
  }
}

/** Build an element: h("td", {class: "x", dataset: {path}}, child, "text"). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Japanese with English alongside: <span class="ja">…</span><span class="en">…</span>. */
export function bi(ja, en, cls = "") {
  return h("span", { class: `bi ${cls}`.trim() }, h("span", { class: "ja" }, ja), h("span", { class: "en" }, en));
}

export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

const TIME = new Intl.DateTimeFormat("ja-JP", {
  timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const DATETIME = new Intl.DateTimeFormat("ja-JP", {
  timeZone: "Asia/Tokyo", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

export function timeText(date = new Date()) {
  return TIME.format(date);
}

export function dateTimeText(value) {
  return value ? DATETIME.format(new Date(value)) : "";
}

/** 95 → "1:35", 4000 → "1:06:40". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** Today in Tokyo as YYYY-MM-DD (due dates are Tokyo business days). */
export function tokyoToday() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Tokyo" }).format(new Date());
}

export const KIND = {
  entry: ["入力", "Entry"],
  verify: ["照合", "Verify"],
  settle: ["確定", "Settle"],
  review: ["審査", "Review"],
};

export const STATUS = {
  entry: ["入力待ち", "entry"],
  verify: ["照合待ち", "verify"],
  settle: ["確定待ち", "settle"],
  review: ["審査待ち", "review"],
  approved: ["承認済み", "approved"],
  rejected: ["却下", "rejected"],
  withdrawn: ["取下げ", "withdrawn"],
};

export const ROLE = {
  operator: ["入力オペレーター", "Operator"],
  reviewer: ["審査担当", "Reviewer"],
  supervisor: ["監督者", "Supervisor"],
  vendor_manager: ["管理責任者", "Vendor's manager"],
};
