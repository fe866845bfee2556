// The console's calls to the API, and small DOM helpers shared by its modules.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
    this.code = (problem && problem.code) || "";
    this.errors = (problem && problem.errors) || [];
  }
}

let token = "";

export function setToken(value) {
  token = value;
}

/** Call /api/v1; resolves to the JSON body (null for 204) or throws ApiError. */
export async function api(path, { method = "GET", body, timeoutMs = 15000 } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: abort.signal,
    });
  } catch {
    throw new ApiError(0, null);
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The problem's own (bilingual) detail, or a plain fallback. */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return "サーバーに接続できません (cannot reach the server)";
    if (error.problem && error.problem.detail) return error.problem.detail;
    if (error.problem && error.problem.title) return error.problem.title;
    return `エラーが発生しました (error ${error.status})`;
  }
  return `エラーが発生しました (unexpected error: ${error && error.message})`;
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
};

export const ROLE = {
  operator: ["入力オペレーター", "Operator"],
  reviewer: ["審査担当", "Reviewer"],
  supervisor: ["監督者", "Supervisor"],
};
