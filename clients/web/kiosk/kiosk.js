// Kiosk: pick a category, take a numbered ticket, see the number, the estimate and a QR code of
// the status page; the start screen comes back after a few seconds.

import { api, categoryColour, clockText, errorText, h, newKey, query, setText } from "/web-common/api.js";

const OFFICE = query.get("office") || "";
const TOKEN = query.get("token") || "";
const RESET_S = Math.min(120, Math.max(3, Number(query.get("reset")) || 20));
const REFRESH_MS = 30000;

const $ = (id) => document.getElementById(id);
const screens = { start: $("start"), issued: $("issued") };
const list = $("categories");
const priority = $("priority");
const errorBox = $("error");

let categories = [];
const buttons = new Map(); // category id → {button, waiting, estimate, waitingEn, estimateEn}
let language = "ja";
let busy = false;
let countdownTimer = 0;
let secondsLeft = 0;

function showError(text) {
  errorBox.hidden = !text;
  setText(errorBox, text || "");
}

function setBusy(value) {
  busy = value;
  document.body.toggleAttribute("data-busy", value);
  for (const { button } of buttons.values()) button.disabled = value;
}

function categoryButton(q) {
  const waiting = h("b", { class: "num" });
  const estimate = h("b", { class: "num" });
  const waitingEn = h("span");
  const button = h(
    "button",
    { type: "button", class: "category", role: "listitem", "data-category": q.category_id, style: `--cat: ${categoryColour(q.prefix)}` },
    h("span", { class: "badge prefix" }, q.prefix),
    h("span", { class: "names" }, h("span", { class: "ja" }, q.name_ja), h("span", { class: "en" }, q.name_en)),
    h(
      "span",
      { class: "meta" },
      h("span", { class: "ja" }, "待ち ", waiting, " 人・約 ", estimate, " 分"),
      h("span", { class: "en" }, waitingEn),
    ),
    h("span", { class: "meta idle" }, h("span", { class: "ja" }, "待ち時間なし"), h("span", { class: "en" }, "No wait")),
  );
  button.addEventListener("click", () => issue(q.category_id));
  return { button, waiting, estimate, waitingEn };
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
    setText(entry.waiting, q.waiting);
    setText(entry.estimate, q.estimate_min);
    setText(entry.waitingEn, `${q.waiting} waiting · ~${q.estimate_min} min`);
    entry.button.toggleAttribute("data-idle", q.waiting === 0);
    entry.button.disabled = busy;
  }
}

async function loadCategories() {
  try {
    const lobby = await api(`/offices/${encodeURIComponent(OFFICE)}/lobby`, { token: TOKEN });
    setText($("office-ja"), lobby.office.name_ja);
    setText($("office-en"), lobby.office.name_en);
    renderCategories(lobby.queues);
    if (!busy) showError("");
  } catch (error) {
    if (!categories.length) showError(`受付区分を読み込めません (cannot load the categories): ${errorText(error)}`);
  }
}

async function issue(categoryId) {
  if (busy) return;
  setBusy(true);
  showError("");
  try {
    const ticket = await api(`/offices/${encodeURIComponent(OFFICE)}/tickets`, {
      token: TOKEN,
      method: "POST",
      body: { category: categoryId, is_priority: priority.checked, language },
      idempotencyKey: newKey(),
    });
    showIssued(ticket);
  } catch (error) {
    showError(`${errorText(error)} — もう一度お試しください / Please try again`);
  } finally {
    setBusy(false);
  }
}

function showIssued(ticket) {
  const category = categories.find((q) => q.category_id === ticket.category_id);
  setText($("ticket-number"), ticket.number);
  setText($("ticket-category"), category ? `${category.name_ja} / ${category.name_en}` : "");
  $("ticket-priority").hidden = !ticket.is_priority;
  setText($("ticket-ahead"), ticket.ahead);
  setText($("ticket-estimate"), ticket.estimate_min);
  $("ticket-qr").src = `/api/v1/tickets/${encodeURIComponent(ticket.id)}/qr.svg?key=${encodeURIComponent(ticket.public_key)}&office=${encodeURIComponent(ticket.office_id)}`;
  screens.start.hidden = true;
  screens.issued.hidden = false;
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
  const left = Math.max(0, secondsLeft);
  setText($("countdown"), left);
  setText($("countdown-en"), left);
}

function backToStart() {
  if (countdownTimer) clearInterval(countdownTimer);
  countdownTimer = 0;
  screens.issued.hidden = true;
  screens.start.hidden = false;
  $("ticket-qr").removeAttribute("src");
  priority.checked = false;
  setLanguage("ja");
  loadCategories();
}

function setLanguage(value) {
  language = value;
  document.documentElement.lang = value;
  for (const button of document.querySelectorAll(".lang")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === value));
  }
}

function tick() {
  setText($("clock"), clockText());
}

function start() {
  for (const button of document.querySelectorAll(".lang")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  $("done").addEventListener("click", backToStart);
  tick();
  setInterval(tick, 1000);
  if (!OFFICE || !TOKEN) {
    showError("URL に office と token を指定してください (open as /kiosk/?office=ID&token=TOKEN)");
    return;
  }
  loadCategories();
  setInterval(() => {
    if (screens.issued.hidden && !busy) loadCategories();
  }, REFRESH_MS);
}

start();
