// The resident's status page (/status/?office=O&ticket=ID&key=K): position, estimate, and the counter to
// go to once called. Polls the public endpoint gently: every 10 s while the page is visible,
// every 30 s in the background, never again once the ticket is finished. That endpoint is
// rate-limited per address (2/s, bursts of 30), and a whole lobby may share one address.

import { STATUS, api, counterName, errorText, query, setText, timeWithSeconds } from "/web-common/api.js";

const TICKET = query.get("ticket") || "";
const KEY = query.get("key") || "";
// Links issued before the office was added to them carry none; the server then skips that check.
const OFFICE = query.get("office") || "";
const POLL_MS = 10000;
const BACKGROUND_POLL_MS = 30000;
const FINISHED = new Set(["done", "cancelled"]);

const $ = (id) => document.getElementById(id);
let timer = 0;
let inFlight = false;
let lastFetchAt = 0;
let lastStatus = "";
let stopped = false;

const MESSAGES = {
  waiting: ["番号が呼ばれるまで、しばらくお待ちください。", "Please wait until your number is called."],
  done: ["ご来庁ありがとうございました。", "Thank you for visiting."],
  no_show: ["お呼びした際にいらっしゃいませんでした。窓口の職員にお声がけください。", "You were not there when called. Please speak to a member of staff."],
  cancelled: ["この番号札は取り消されました。", "This ticket has been cancelled."],
};

function showError(text) {
  $("error").hidden = !text;
  setText($("error"), text || "");
}

function render(ticket) {
  document.body.dataset.status = ticket.status;
  setText($("office-ja"), ticket.office_name_ja);
  setText($("office-en"), ticket.office_name_en);
  setText($("number"), ticket.number);
  const [ja, en] = STATUS[ticket.status] || [ticket.status, ticket.status];
  setText($("status-ja"), ja);
  setText($("status-en"), en);

  const label = ticket.counter_label || "";
  const [counterJa, counterEn] = label ? counterName(label) : ["", ""];
  const called = ticket.status === "called";
  $("call").hidden = !called;
  if (called) {
    setText($("call-ja"), `${counterJa}へお越しください`);
    setText($("call-en"), `Please go to ${counterEn}`);
  }

  const waiting = ticket.status === "waiting";
  $("figures").hidden = !waiting;
  if (waiting) {
    setText($("position"), ticket.position);
    setText($("ahead"), ticket.ahead);
    setText($("ahead-en"), ticket.ahead === 1 ? "1 person" : `${ticket.ahead} people`);
    setText($("estimate"), ticket.estimate_min);
    $("estimate-some").hidden = ticket.estimate_min === 0;
    $("estimate-none").hidden = ticket.estimate_min !== 0;
  }

  let message = MESSAGES[ticket.status] || null;
  if (ticket.status === "serving") {
    message = [`${counterJa}で受付中です。`, `Being served at ${counterEn}.`];
  }
  $("message").hidden = !message;
  if (message) {
    setText($("message-ja"), message[0]);
    setText($("message-en"), message[1]);
  }

  document.title = called ? `【呼出中】${ticket.number} ${counterJa}` : `${ticket.number} ${ja} / ${en}`;
  if (called && lastStatus && lastStatus !== "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  lastStatus = ticket.status;
  setText($("updated"), timeWithSeconds());
}

async function refresh() {
  timer = 0;
  if (inFlight || stopped) return;
  inFlight = true;
  lastFetchAt = Date.now();
  let delay = document.hidden ? BACKGROUND_POLL_MS : POLL_MS;
  try {
    const office = OFFICE ? `&office=${encodeURIComponent(OFFICE)}` : "";
    const ticket = await api(`/tickets/${encodeURIComponent(TICKET)}/public?key=${encodeURIComponent(KEY)}${office}`);
    render(ticket);
    showError("");
    if (FINISHED.has(ticket.status)) stopped = true;
    else if (ticket.status === "no_show") delay = BACKGROUND_POLL_MS;
  } catch (error) {
    if (error.status === 404) {
      showError("番号札が見つかりません。QR コードを読み取り直してください (ticket not found: scan the QR code again)");
      stopped = true;
    } else if (error.status === 429) {
      delay = Math.max(delay, (error.retryAfterS || 30) * 1000);
    } else {
      showError(`${errorText(error)} — 自動で再試行します / retrying`);
    }
  } finally {
    inFlight = false;
  }
  if (!stopped) timer = setTimeout(refresh, delay);
}

document.addEventListener("visibilitychange", () => {
  // Back on screen after a while: refresh now rather than at the next slow tick.
  if (!document.hidden && !stopped && !inFlight && Date.now() - lastFetchAt > 5000) {
    if (timer) clearTimeout(timer);
    refresh();
  }
});

if (!TICKET || !KEY) {
  showError("QR コードからこのページを開いてください (open this page from the QR code)");
  document.body.dataset.status = "error";
} else {
  refresh();
}
