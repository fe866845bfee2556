// Small helpers shared by the kiosk, the counter terminal and the resident's status page.
// No build step: plain ES modules served from /web-common/.

export class ApiError extends Error {
  constructor(status, problem, retryAfterS) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
    this.code = (problem && problem.code) || "";
    this.errors = (problem && problem.errors) || []; // field-level reasons of a 422
    this.retryAfterS = retryAfterS;
  }
}

export const query = new URLSearchParams(location.search);

/** Call the API; resolves to the JSON body (null for 204) or throws ApiError with the problem. */
export async function api(path, { token, method = "GET", body, idempotencyKey, timeoutMs = 10000, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json, application/problem+json", ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
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
  if (!response.ok) {
    const retry = Number(response.headers.get("retry-after"));
    throw new ApiError(response.status, data, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return data;
}

/** What to show for a failed call: the problem's detail (already bilingual), or a fallback. */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return "サーバーに接続できません (cannot reach the server)";
    if (error.problem && error.problem.detail) return error.problem.detail;
    if (error.problem && error.problem.title) return error.problem.title;
    return `エラーが発生しました (error ${error.status})`;
  }
  return "エラーが発生しました (unexpected error)";
}

/** A fresh Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const STATUS = {
  waiting: ["お待ちください", "Waiting"],
  called: ["呼出中", "Called"],
  serving: ["受付中", "Being served"],
  done: ["完了", "Done"],
  no_show: ["不在", "Not present"],
  cancelled: ["取消", "Cancelled"],
  held: ["保留中", "On hold"],
};

/** "3" → ["3番窓口", "Counter 3"]; other labels are used as they are. */
export function counterName(label) {
  if (/^\d+$/.test(label)) return [`${label}番窓口`, `Counter ${label}`];
  return [label.endsWith("窓口") ? label : `${label}窓口`, `Counter ${label}`];
}

const CATEGORY_COLOURS = ["#2f7dd1", "#12a37a", "#e07b00", "#c2418f", "#7b5cd6", "#00a0b0", "#8c9a1c", "#d4493b"];

/** The colour of a category, by its prefix: the same on every screen of the office. */
export function categoryColour(prefix) {
  const n = CATEGORY_COLOURS.length;
  const code = ((prefix || "?").codePointAt(0) || 0) - 65;
  return CATEGORY_COLOURS[((code % n) + n) % n];
}

/** Set text only when it changed (no needless DOM work on every refresh). */
export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** Build an element: h("li", {class: "x"}, child, "text"). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    // Through the CSSOM: the pages' Content-Security-Policy refuses inline style attributes.
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const timeFormat = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const secondsFormat = new Intl.DateTimeFormat("ja-JP", {
  timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

export function clockText(date = new Date()) {
  return timeFormat.format(date);
}

export function timeWithSeconds(date = new Date()) {
  return secondsFormat.format(date);
}

/**
 * Follow an office's lobby channel and call onMessage for every message (a hint to refresh).
 * Reconnects with exponential backoff and full jitter (0.5 s → 30 s).
 */
export function watchLobby(officeId, token, onMessage, onState) {
  let socket = null;
  let attempt = 0;
  let timer = 0;
  let stopped = false;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/api/v1/ws/offices/${encodeURIComponent(officeId)}/lobby?token=${encodeURIComponent(token)}`;

  function open() {
    timer = 0;
    const ws = new WebSocket(url);
    socket = ws;
    ws.onmessage = (event) => {
      attempt = 0;
      onState("live");
      onMessage(event.data);
    };
    ws.onclose = () => {
      ws.onmessage = null;
      ws.onclose = null;
      if (socket === ws) socket = null;
      onState("offline");
      if (!stopped) schedule();
    };
  }

  function schedule() {
    const cap = Math.min(30000, 500 * 2 ** attempt);
    attempt += 1;
    timer = setTimeout(open, Math.random() * cap);
  }

  open();
  return {
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}
