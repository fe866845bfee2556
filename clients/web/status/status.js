// The resident's status page (/status/?office=O&ticket=ID&key=K): position, estimate, and the
// counter to go to once called, in the language chosen at the kiosk (the ticket's language; the
// page starts in Japanese until the ticket is read). Polls the public endpoint gently: every 10 s
// while the page is visible, every 30 s in the background, never again once the ticket is
// finished. That endpoint is rate-limited per address (2/s, bursts of 30), and a whole lobby may
// share one address.

import { api, errorText, query, setText, timeWithSeconds } from "/web-common/api.js";
import { applyCatalogue, catalogue, counterText, fill, text } from "/web-common/i18n.js";

const TICKET = query.get("ticket") || "";
const KEY = query.get("key") || "";
// Links issued before the office was added to them carry none; the server then skips that check.
const OFFICE = query.get("office") || "";
const POLL_MS = 10000;
const BACKGROUND_POLL_MS = 30000;
const FINISHED = new Set(["done", "cancelled"]);
const MESSAGES = new Set(["waiting", "done", "no_show", "cancelled", "held"]);

const $ = (id) => document.getElementById(id);
let timer = 0;
let inFlight = false;
let lastFetchAt = 0;
let lastStatus = "";
let stopped = false;
let cat = null;
// Near-turn: the page alerts once (title, vibration, a short tone) for those without e-mail.
let nearAlerted = false;
let notifySaved = false;
let gatewayChannel = "";

function tone() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const beep = audio.createOscillator();
    beep.frequency.value = 880;
    beep.connect(audio.destination);
    beep.start();
    beep.stop(audio.currentTime + 0.3);
  } catch {
    // No audio (or not allowed before a tap): the title and vibration remain.
  }
}

function showError(value) {
  $("error").hidden = !value;
  setText($("error"), value || "");
}

async function render(ticket) {
  if (!cat || cat.code !== ticket.language) {
    cat = await catalogue(ticket.language);
    applyCatalogue(cat, "status.title");
  }
  document.body.dataset.status = ticket.status;
  const [office, other] = cat.lang === "ja"
    ? [ticket.office_name_ja, ticket.office_name_en] : [ticket.office_name_en, ticket.office_name_ja];
  setText($("office"), office);
  setText($("office-sub"), other);
  setText($("number"), ticket.number);
  const state = text(cat, `status.state.${ticket.status}`);
  setText($("status"), state);

  // A plan of stops: where the ticket waits or is served now, then the stops still to come.
  const stops = ticket.next_stops || [];
  const stopName = (s) => (cat.lang === "ja" ? s.name_ja : s.name_en);
  $("stops").hidden = !stops.length || !ticket.stop || FINISHED.has(ticket.status);
  if (!$("stops").hidden) setText($("stops"), [ticket.stop, ...stops].map(stopName).join(" → "));

  const counter = ticket.counter_label ? counterText(cat, ticket.counter_label) : "";
  const called = ticket.status === "called";
  $("call").hidden = !called;
  if (called) setText($("call-text"), text(cat, "status.go_to", { counter }));

  const waiting = ticket.status === "waiting";
  $("figures").hidden = !waiting;
  if (waiting) {
    setText($("position"), ticket.position);
    fill($("position-text"), cat, "status.position_value", { n: $("position") });
    setText($("ahead"), ticket.ahead);
    fill($("ahead-text"), cat, "status.ahead", { n: $("ahead") });
    setText($("estimate"), ticket.estimate_min);
    fill($("estimate-some"), cat, "status.minutes", { n: $("estimate") });
    $("estimate-some").hidden = ticket.estimate_min === 0;
    $("estimate-none").hidden = ticket.estimate_min !== 0;
  }

  const near = waiting && ticket.near;
  $("near").hidden = !near;
  $("notify").hidden = !waiting || notifySaved;
  // The office's LINE/SMS gateway, when it has one: a mobile number (sms) or a LINE id (line).
  gatewayChannel = ticket.gateway || "";
  $("notify-gateway").hidden = !waiting || notifySaved || !gatewayChannel;
  if (gatewayChannel) {
    setText($("notify-to-label"), text(cat, `status.notify.${gatewayChannel}_label`));
    const sms = gatewayChannel === "sms";
    $("notify-to").type = sms ? "tel" : "text";
    $("notify-to").autocomplete = sms ? "tel" : "off";
    $("notify-to").maxLength = sms ? 32 : 128;
  }
  if (near && !nearAlerted) {
    nearAlerted = true;
    if (!notifySaved) {
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
      tone();
    }
  }

  let message = MESSAGES.has(ticket.status) ? text(cat, `status.message.${ticket.status}`) : "";
  if (ticket.status === "serving") message = text(cat, "status.message.serving", { counter });
  $("message").hidden = !message;
  setText($("message"), message);

  document.title = called
    ? text(cat, "status.called_title", { number: ticket.number, counter })
    : near ? text(cat, "status.near_title", { number: ticket.number }) : `${ticket.number} ${state}`;
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
    await render(ticket);
    showError("");
    if (FINISHED.has(ticket.status)) stopped = true;
    else if (ticket.status === "no_show") delay = BACKGROUND_POLL_MS;
  } catch (error) {
    if (error.status === 404) {
      showError(text(cat, "status.not_found"));
      stopped = true;
    } else if (error.status === 429) {
      delay = Math.max(delay, (error.retryAfterS || 30) * 1000);
    } else {
      showError(`${errorText(error)} — ${text(cat, "status.retrying")}`);
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

async function askNotice(contact) {
  try {
    await api(`/tickets/${encodeURIComponent(TICKET)}/public/notify`, {
      method: "POST",
      body: { key: KEY, ...contact, ...(OFFICE ? { office: OFFICE } : {}) },
    });
    notifySaved = true;
    $("notify").hidden = true;
    $("notify-gateway").hidden = true;
    $("notify-saved").hidden = false;
    showError("");
  } catch (error) {
    showError(errorText(error));
  }
}

$("notify").addEventListener("submit", (event) => {
  event.preventDefault();
  askNotice({ email: $("notify-email").value });
});

$("notify-gateway").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = gatewayChannel === "line" ? "line" : "phone";
  askNotice({ [field]: $("notify-to").value });
});

async function start() {
  for (;;) {
    try {
      cat = await catalogue("ja");
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5000)); // the server is not there yet
    }
  }
  applyCatalogue(cat, "status.title");
  if (!TICKET || !KEY) {
    showError(text(cat, "status.open_from_qr"));
    document.body.dataset.status = "error";
  } else {
    refresh();
  }
}

start();
