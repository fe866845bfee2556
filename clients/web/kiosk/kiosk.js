// Kiosk: pick a language and a category, take a numbered ticket, see the number, the estimate
// and a QR code of the status page (and print it); the start screen comes back after a few
// seconds, in Japanese. Every text comes from the message catalogues (/web-common/i18n/).

import { api, categoryColour, clockText, errorText, h, newKey, query, setText } from "/web-common/api.js";
import { applyCatalogue, catalogue, fill, languages, text } from "/web-common/i18n.js";

const OFFICE = query.get("office") || "";
const TOKEN = query.get("token") || "";
const RESET_S = Math.min(120, Math.max(3, Number(query.get("reset")) || 20));
// print=auto: print every ticket at once (Chromium with --kiosk-printing prints without asking);
// print=button (the default): a print button; print=off: neither.
const PRINT = ["auto", "button", "off"].includes(query.get("print")) ? query.get("print") : "button";
const PAPER = query.get("paper") === "58" ? "58" : "80";
const REFRESH_MS = 30000;

const $ = (id) => document.getElementById(id);
const screens = { start: $("start"), checkin: $("checkin"), issued: $("issued") };
const list = $("categories");
const priority = $("priority");
const errorBox = $("error");
const notifyTo = $("notify-to");

let categories = [];
const buttons = new Map(); // category id → {button, primary, secondary, meta, waiting, estimate}
let cat = null; // the catalogue in use
let busy = false;
let countdownTimer = 0;
let secondsLeft = 0;
let office = null;
let shown = null; // the ticket on the issued screen

function showError(value) {
  errorBox.hidden = !value;
  setText(errorBox, value || "");
}

function setBusy(value) {
  busy = value;
  document.body.toggleAttribute("data-busy", value);
  for (const { button } of buttons.values()) button.disabled = value;
}

/** Names in the chosen language first: Japanese for ja and ja-easy, English otherwise. */
function names(q) {
  return cat.lang === "ja" ? [q.name_ja, q.name_en] : [q.name_en, q.name_ja];
}

function categoryButton(q) {
  const entry = {
    waiting: h("b", { class: "num" }),
    estimate: h("b", { class: "num" }),
    primary: h("span", { class: "primary" }),
    secondary: h("span", { class: "secondary" }),
    meta: h("span", { class: "meta" }),
    idle: h("span", { class: "meta idle" }),
  };
  entry.button = h(
    "button",
    { type: "button", class: "category", role: "listitem", "data-category": q.category_id, style: `--cat: ${categoryColour(q.prefix)}` },
    h("span", { class: "badge prefix" }, q.prefix),
    h("span", { class: "names" }, entry.primary, entry.secondary),
    entry.meta,
    entry.idle,
  );
  entry.button.addEventListener("click", () => issue(q.category_id));
  return entry;
}

function renderCategories(queues) {
  const ids = queues.map((q) => q.category_id).join(",");
  if (ids !== categories.map((q) => q.category_id).join(",")) {
    list.replaceChildren();
    buttons.clear();
    for (const q of queues) {
      const entry = categoryButton(q);
      buttons.set(q.category_id, entry);
      list.append(entry.button);
    }
  }
  categories = queues;
  for (const q of queues) {
    const entry = buttons.get(q.category_id);
    const [primary, secondary] = names(q);
    setText(entry.primary, primary);
    setText(entry.secondary, secondary);
    setText(entry.waiting, q.waiting);
    setText(entry.estimate, q.estimate_min);
    fill(entry.meta, cat, "kiosk.waiting", { waiting: entry.waiting, minutes: entry.estimate });
    setText(entry.idle, text(cat, "kiosk.no_wait"));
    entry.button.toggleAttribute("data-idle", q.waiting === 0);
    entry.button.disabled = busy;
  }
}

async function loadCategories() {
  try {
    const lobby = await api(`/offices/${encodeURIComponent(OFFICE)}/lobby`, { token: TOKEN });
    office = lobby.office;
    renderOffice();
    renderCategories(lobby.queues);
    if (!busy) showError("");
  } catch (error) {
    if (!categories.length) showError(`${text(cat, "kiosk.load_error")}: ${errorText(error)}`);
  }
}

/** The office's LINE/SMS gateway ("sms", "line" or null, from the lobby snapshot): the field
 * for the near-turn notice, a mobile number on a numeric keypad or a LINE id; none without. */
function renderNotify() {
  const channel = (office && office.gateway) || "";
  $("notify").hidden = !channel;
  if (!channel) {
    showNotifyError("");
    return;
  }
  setText($("notify-to-label"), text(cat, `status.notify.${channel}_label`));
  const sms = channel === "sms";
  notifyTo.type = sms ? "tel" : "text";
  notifyTo.inputMode = sms ? "tel" : "text";
  notifyTo.maxLength = sms ? 32 : 128;
  notifyTo.autocapitalize = "off";
}

function showNotifyError(value) {
  $("notify-error").hidden = !value;
  setText($("notify-error"), value || "");
  if (value) notifyTo.setAttribute("aria-invalid", "true");
  else notifyTo.removeAttribute("aria-invalid");
}

/** The notice's field of the ticket request: {phone} or {line}, nothing when left empty. */
function notifyField() {
  const channel = (office && office.gateway) || "";
  if (!channel || $("notify").hidden || !notifyTo.value.trim()) return {};
  return { [channel === "line" ? "line" : "phone"]: notifyTo.value };
}

function renderOffice() {
  renderNotify();
  if (!office) return;
  const [primary, secondary] = cat.lang === "ja" ? [office.name_ja, office.name_en] : [office.name_en, office.name_ja];
  setText($("office-ja"), primary);
  setText($("office-en"), secondary);
  setText($("print-office"), primary);
}

async function issue(categoryId) {
  if (busy) return;
  setBusy(true);
  showError("");
  showNotifyError("");
  try {
    const ticket = await api(`/offices/${encodeURIComponent(OFFICE)}/tickets`, {
      token: TOKEN,
      method: "POST",
      body: { category: categoryId, is_priority: priority.checked, language: cat.code, ...notifyField() },
      idempotencyKey: newKey(),
    });
    notifyTo.value = "";
    showIssued(ticket);
  } catch (error) {
    // A number or LINE id refused (422, by field): its reason under the field, no ticket taken.
    const reasons = (error.errors || []).filter((e) => /(^|\.)(phone|line)$/.test(e.field || ""));
    if (reasons.length) {
      showNotifyError(reasons.map((e) => e.message).join(" "));
      notifyTo.focus();
    } else {
      showError(`${errorText(error)} — ${text(cat, "kiosk.retry")}`);
    }
  } finally {
    setBusy(false);
  }
}

// 予約の方: the confirmation code, typed (a scanner that types what it reads works the same),
// becomes a ticket of the booking's category through the check-in endpoint. 転入予約の方: the
// reservation number of a move announced on マイナポータル (or its QR code) becomes the
// 住民異動 ticket, and the 転入届 is filed from the reservation.
const CHECK_IN = {
  appointment: { prompt: "kiosk.appointment_prompt", label: "kiosk.appointment_code", path: "appointments", field: "code" },
  move_in: { prompt: "kiosk.move_in_prompt", label: "kiosk.move_in_number", path: "move-in-reservations", field: "number" },
};
let checkInKind = CHECK_IN.appointment;

function showCheckIn(kind) {
  if (busy) return;
  checkInKind = kind;
  for (const [id, key] of [["checkin-prompt", kind.prompt], ["checkin-label", kind.label]]) {
    $(id).dataset.i18n = key;
    setText($(id), text(cat, key));
  }
  showError("");
  $("checkin-error").hidden = true;
  $("checkin-code").value = "";
  screens.start.hidden = true;
  screens.checkin.hidden = false;
  $("checkin-code").focus();
}

async function checkIn(event) {
  event.preventDefault();
  const code = $("checkin-code").value.trim();
  if (!code || busy) return;
  setBusy(true);
  $("checkin-submit").disabled = true;
  $("checkin-error").hidden = true;
  try {
    const kind = checkInKind;
    const ticket = await api(`/offices/${encodeURIComponent(OFFICE)}/${kind.path}/check-in`, {
      token: TOKEN,
      method: "POST",
      body: { [kind.field]: code, language: cat.code },
    });
    screens.checkin.hidden = true;
    showIssued(ticket);
  } catch (error) {
    setText($("checkin-error"), `${errorText(error)} — ${text(cat, "kiosk.retry")}`);
    $("checkin-error").hidden = false;
  } finally {
    $("checkin-submit").disabled = false;
    setBusy(false);
  }
}

function renderIssued() {
  const ticket = shown;
  if (!ticket) return;
  const category = categories.find((q) => q.category_id === ticket.category_id);
  setText($("ticket-number"), ticket.number);
  setText($("ticket-category"), category ? names(category)[0] : "");
  $("ticket-priority").hidden = !ticket.is_priority;
  setText($("ticket-ahead"), ticket.ahead);
  fill($("ticket-ahead-text"), cat, "kiosk.people", { n: $("ticket-ahead") });
  setText($("ticket-estimate"), ticket.estimate_min);
  fill($("ticket-estimate-text"), cat, "kiosk.minutes", { n: $("ticket-estimate") });
  setText($("ticket-time"), clockText(new Date(ticket.issued_at)));
}

function showIssued(ticket) {
  shown = ticket;
  renderIssued();
  const qr = $("ticket-qr");
  qr.src = `/api/v1/tickets/${encodeURIComponent(ticket.id)}/qr.svg?key=${encodeURIComponent(ticket.public_key)}&office=${encodeURIComponent(ticket.office_id)}`;
  screens.start.hidden = true;
  screens.issued.hidden = false;
  // The office's receipt printer (paper: null where there is none): printed, it is the paper;
  // failed, the resident is told and the browser's print path is offered instead.
  const paper = ticket.paper || null;
  const paperFailed = paper !== null && !paper.printed;
  setText($("paper-notice"), paperFailed ? paper.notice || "" : "");
  $("paper-notice").hidden = !paperFailed;
  $("print").hidden = PRINT !== "button" && !paperFailed;
  if (PRINT === "auto" && !(paper && paper.printed)) {
    // Print once the QR code has loaded, so that it is on the paper.
    const printNow = () => window.print();
    if (qr.complete && qr.naturalWidth > 0) printNow();
    else qr.addEventListener("load", printNow, { once: true });
  }
  secondsLeft = RESET_S;
  showCountdown();
  if (countdownTimer) clearInterval(countdownTimer);
  countdownTimer = setInterval(() => {
    secondsLeft -= 1;
    showCountdown();
    if (secondsLeft <= 0) backToStart();
  }, 1000);
}

function showCountdown() {
  const seconds = h("span", { class: "num", id: "countdown-s" }, Math.max(0, secondsLeft));
  fill($("countdown"), cat, "kiosk.countdown", { n: seconds });
}

async function backToStart() {
  if (countdownTimer) clearInterval(countdownTimer);
  countdownTimer = 0;
  shown = null;
  screens.issued.hidden = true;
  screens.checkin.hidden = true;
  screens.start.hidden = false;
  $("ticket-qr").removeAttribute("src");
  priority.checked = false;
  notifyTo.value = ""; // the next resident never sees this one's number
  showNotifyError("");
  await setLanguage("ja");
  loadCategories();
}

async function setLanguage(code) {
  try {
    cat = await catalogue(code);
  } catch {
    if (cat) return; // not reachable now: the kiosk stays in the language it shows
    throw new Error("the message catalogue cannot be loaded");
  }
  applyCatalogue(cat, "kiosk.title");
  // The appointment button says it in English too (in Japanese on the English screen).
  const other = await catalogue(cat.code === "en" ? "ja" : "en").catch(() => null);
  for (const [id, key] of [["appointment-en", "kiosk.appointment"], ["move-in-en", "kiosk.move_in"]]) {
    setText($(id), other ? text(other, key) : "");
    $(id).lang = other ? other.lang : "";
  }
  for (const button of document.querySelectorAll(".lang")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === cat.code));
  }
  renderOffice();
  if (categories.length) renderCategories(categories);
  renderIssued();
}

async function buildLanguageButtons() {
  const group = $("languages");
  group.replaceChildren();
  for (const l of await languages()) {
    const button = h("button", { type: "button", class: "btn lang", "data-lang": l.code, lang: l.lang, "aria-pressed": "false" }, l.name);
    button.addEventListener("click", () => setLanguage(l.code));
    group.append(button);
  }
}

function tick() {
  setText($("clock"), clockText());
}

async function start() {
  $("paper").href = `paper-${PAPER}.css`;
  document.documentElement.dataset.paper = PAPER;
  $("done").addEventListener("click", backToStart);
  $("appointment").addEventListener("click", () => showCheckIn(CHECK_IN.appointment));
  $("move-in").addEventListener("click", () => showCheckIn(CHECK_IN.move_in));
  $("checkin-form").addEventListener("submit", checkIn);
  $("checkin-back").addEventListener("click", backToStart);
  $("print").addEventListener("click", () => window.print());
  for (;;) {
    try {
      await buildLanguageButtons();
      await setLanguage("ja");
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5000)); // the server is not there yet
    }
  }
  tick();
  setInterval(tick, 1000);
  if (!OFFICE || !TOKEN) {
    showError(text(cat, "kiosk.setup"));
    return;
  }
  loadCategories();
  setInterval(() => {
    if (screens.issued.hidden && !busy) loadCategories();
  }, REFRESH_MS);
}

start();
