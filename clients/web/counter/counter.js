// Counter terminal: the counter's current ticket, the lifecycle buttons (with keyboard shortcuts
// that work with the Japanese IME on), the held and absent tickets and the waiting lists. The board is reloaded after every action, whenever the lobby channel
// reports a change, and every 15 s in any case.

import {
  STATUS, api, categoryColour, clockText, errorText, h, query, setText, watchLobby,
} from "/web-common/api.js";

const COUNTER = query.get("counter") || "";
const TOKEN = query.get("token") || "";
const REFRESH_MS = 15000;
const SETTLE_MS = 250;

const $ = (id) => document.getElementById(id);
const buttons = new Map([...document.querySelectorAll("[data-action]")].map((b) => [b.dataset.action, b]));
const transferTo = $("transfer-to");
const callNumber = $("call-number");
const addStopTo = $("add-stop-to");

let board = null;
let busy = false;
let lobby = null;
let refreshTimer = 0;
let settleTimer = 0;

// The API's allowed_actions use TicketAction values; the buttons use the route names.
const ACTION_OF_BUTTON = {
  recall: "recall", start: "start", finish: "finish", "no-show": "no_show", transfer: "transfer",
  hold: "hold", "undo-call": "undo_call", cancel: "cancel", "skip-stop": "skip_stop",
  "add-stop": "add_stop",
};
// Actions after which the resident loses their place: asked for confirmation first.
const CONFIRM = {
  "no-show": (n) => `${n} を不在にします。よろしいですか？ (mark ${n} as not present?)`,
  cancel: (n) => `${n} を取り消します。よろしいですか？ (cancel ticket ${n}?)`,
};

function say(text, kind = "error") {
  const box = $("message");
  box.hidden = !text;
  box.dataset.kind = kind;
  setText(box, text || "");
}

function updateButtons() {
  const current = board && board.current;
  const allowed = new Set(current ? current.allowed_actions : []);
  const paused = Boolean(board && board.counter.paused);
  buttons.get("call-next").disabled = busy || !board || Boolean(current) || paused;
  buttons.get("call").disabled = busy || !board || Boolean(current) || paused;
  callNumber.disabled = busy || !board || Boolean(current) || paused;
  buttons.get("pause").disabled = busy || !board;
  for (const button of document.querySelectorAll("[data-parked]")) {
    button.disabled = busy || Boolean(current) || paused;
  }
  for (const [name, action] of Object.entries(ACTION_OF_BUTTON)) {
    buttons.get(name).disabled = busy || !current || !allowed.has(action);
  }
  const transferable = current && allowed.has("transfer") && transferTo.options.length > 0;
  transferTo.disabled = busy || !transferable;
  if (!transferable) buttons.get("transfer").disabled = true;
  const addable = current && allowed.has("add_stop") && addStopTo.options.length > 0;
  addStopTo.disabled = busy || !addable;
  if (!addable) buttons.get("add-stop").disabled = true;
}

// The ticket's remaining stops (a plan: 住民異動 → 国保 → 児童手当), by the office's category names.
function renderPlan(current) {
  const stops = current ? current.next_stops : [];
  const byId = new Map(board.queues.map((q) => [q.category_id, q]));
  $("plan").hidden = stops.length === 0;
  $("plan-stops").replaceChildren(
    ...stops.map((id) => {
      const q = byId.get(id);
      return h(
        "li",
        { "data-category": id },
        h("span", { class: "badge", style: `--cat: ${categoryColour(q ? q.prefix : "?")}` }, q ? q.prefix : "?"),
        q ? q.name_ja : id,
        q ? h("span", { class: "en" }, q.name_en) : null,
      );
    }),
  );
  // The ticket's move (a life event): the departments with open follow-ups, never names.
  const departments = current ? board.follow_up_departments || [] : [];
  $("life-event").hidden = departments.length === 0;
  $("life-event-departments").replaceChildren(
    ...departments.map((d) => h(
      "li",
      { "data-department": d.department },
      `${d.name_ja}（${d.open} 件）`,
      h("span", { class: "en" }, `${d.name_en} (${d.open})`),
    )),
  );
  // Stops that may be added: every category not current and not planned yet.
  const planned = new Set([current ? current.category_id : "", ...stops]);
  const options = board.queues.filter((q) => !planned.has(q.category_id));
  const key = options.map((q) => q.category_id).join(",");
  if (addStopTo.dataset.key !== key) {
    addStopTo.dataset.key = key;
    addStopTo.replaceChildren(
      ...options.map((q) => h("option", { value: q.category_id }, `${q.prefix} ${q.name_ja} / ${q.name_en}`)),
    );
  }
}

function renderCurrent() {
  const current = board.current;
  const ticket = $("ticket");
  ticket.dataset.status = current ? current.status : "none";
  renderPlan(current);
  if (!current) {
    setText($("number"), "");
    return;
  }
  const queue = board.queues.find((q) => q.category_id === current.category_id);
  const [ja, en] = STATUS[current.status] || [current.status, ""];
  setText($("number"), current.number);
  setText($("status"), `${ja} ${en}`);
  setText($("category-badge"), queue ? queue.prefix : "");
  $("category-badge").style.setProperty("--cat", categoryColour(queue ? queue.prefix : "?"));
  setText($("category"), queue ? `${queue.name_ja} / ${queue.name_en}` : "");
  $("priority").hidden = !current.is_priority;
  setText($("call-count"), current.recall_count > 0 ? `再呼出 ${current.recall_count} 回 / recalled ${current.recall_count}×` : "");

  // Transfer targets: every other category of the office.
  const targets = board.queues.filter((q) => q.category_id !== current.category_id);
  const key = targets.map((q) => q.category_id).join(",");
  if (transferTo.dataset.key !== key) {
    transferTo.dataset.key = key;
    transferTo.replaceChildren(
      ...targets.map((q) => h("option", { value: q.category_id }, `${q.prefix} ${q.name_ja} / ${q.name_en}`)),
    );
  }
}

function renderQueues() {
  const served = new Set(board.counter.category_ids);
  const byCategory = new Map();
  for (const t of board.waiting) {
    if (!byCategory.has(t.category_id)) byCategory.set(t.category_id, []);
    byCategory.get(t.category_id).push(t);
  }
  const queues = [...board.queues].sort((a, b) => Number(served.has(b.category_id)) - Number(served.has(a.category_id)));
  const sections = queues.map((q) => {
    const tickets = byCategory.get(q.category_id) || [];
    const mine = served.has(q.category_id);
    const chips = tickets.map((t) => {
      const forUs = t.target_counter_id === board.counter.id;
      const elsewhere = t.target_counter_id && !forUs;
      return h(
        "li",
        { class: `chip${t.is_priority ? " is-priority" : ""}${forUs ? " is-ours" : ""}${elsewhere ? " is-elsewhere" : ""}`, title: t.is_priority ? "優先 / Priority" : null },
        h("span", { class: "num" }, t.number),
        t.is_priority ? h("span", { class: "tag" }, "優先") : null,
        forUs ? h("span", { class: "tag" }, "本窓口") : null,
      );
    });
    return h(
      "section",
      { class: `queue${mine ? " is-mine" : ""}`, style: `--cat: ${categoryColour(q.prefix)}`, "data-category": q.category_id },
      h(
        "header",
        {},
        h("span", { class: "badge" }, q.prefix),
        h("span", { class: "queue-name" }, q.name_ja, " ", h("span", { class: "en" }, q.name_en)),
        h("span", { class: "queue-figures" }, h("b", { class: "num" }, q.waiting), " 人 · 約 ", h("b", { class: "num" }, q.estimate_min), " 分"),
      ),
      chips.length
        ? h("ol", { class: "chips" }, ...chips)
        : h("p", { class: "empty" }, "お待ちの方はいません ", h("span", { class: "en" }, "Nobody waiting")),
    );
  });
  $("queues").replaceChildren(...sections);
}

function renderParked() {
  const items = board.parked.map((t) => {
    const held = t.status === "held";
    const [ja, en] = STATUS[t.status] || [t.status, ""];
    return h(
      "li",
      { "data-ticket": t.id, "data-number": t.number },
      h("span", { class: "num" }, t.number),
      h("span", { class: "state" }, `${ja} / ${en}`),
      h(
        "button",
        { type: "button", class: "btn", "data-parked": held ? "resume" : "recall" },
        h("span", { class: "ja" }, held ? "再開" : "再呼出"),
        " ",
        h("span", { class: "en" }, held ? "Resume" : "Recall"),
      ),
    );
  });
  $("parked").replaceChildren(
    ...(items.length ? items : [h("li", { class: "empty" }, "なし ", h("span", { class: "en" }, "None"))]),
  );
}

function render() {
  const [ja, en] = [board.counter.name_ja, board.counter.name_en];
  setText($("counter-ja"), ja);
  setText($("counter-en"), en);
  document.title = `${ja} / ${en}`;
  const paused = Boolean(board.counter.paused);
  $("paused").hidden = !paused;
  document.body.dataset.paused = String(paused);
  setText($("pause-ja"), paused ? "再開" : "一時停止");
  setText($("pause-en"), paused ? "Resume counter" : "Pause counter");
  renderCurrent();
  renderParked();
  renderQueues();
  updateButtons();
}

let refreshes = 0;

async function refresh() {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = 0;
  const mine = ++refreshes;
  try {
    const next = await api(`/counters/${encodeURIComponent(COUNTER)}`, { token: TOKEN });
    if (mine !== refreshes) return; // a newer refresh started meanwhile: its answer wins
    board = next;
    render();
    if (!lobby) lobby = watchLobby(board.counter.office_id, TOKEN, onLobbyMessage, onLobbyState);
  } catch (error) {
    if (mine === refreshes) say(errorText(error));
  } finally {
    if (mine === refreshes) {
      if (refreshTimer) clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refresh, REFRESH_MS);
    }
  }
}

function onLobbyMessage(text) {
  // Heartbeats change nothing; any other message may change the board.
  if (text.includes('"type":"heartbeat"')) return;
  if (settleTimer) clearTimeout(settleTimer);
  settleTimer = setTimeout(() => {
    settleTimer = 0;
    if (!busy) refresh();
  }, SETTLE_MS);
}

function onLobbyState(state) {
  document.body.dataset.connection = state;
  setText($("conn-ja"), state === "live" ? "リアルタイム更新中" : "再接続しています…");
  setText($("conn-en"), state === "live" ? "Live" : "Reconnecting…");
}

async function run(action) {
  if (busy || !board) return;
  const button = buttons.get(action);
  if (!button || button.disabled) return;
  const current = board.current;
  const counterPath = `/counters/${encodeURIComponent(COUNTER)}`;
  let path;
  let body;
  if (action === "call-next") {
    path = `${counterPath}/call-next`;
  } else if (action === "call") {
    const wanted = callNumber.value.trim();
    if (!wanted) {
      callNumber.focus();
      return;
    }
    path = `${counterPath}/call`;
    body = { ticket: wanted };
  } else if (action === "pause") {
    path = `${counterPath}/${board.counter.paused ? "resume" : "pause"}`;
  } else if (action === "transfer") {
    path = `/tickets/${encodeURIComponent(current.id)}/transfer`;
    body = { category: transferTo.value };
  } else if (action === "add-stop") {
    path = `/tickets/${encodeURIComponent(current.id)}/stops`;
    body = { category: addStopTo.value };
  } else {
    if (CONFIRM[action] && !window.confirm(CONFIRM[action](current.number))) return;
    path = `/tickets/${encodeURIComponent(current.id)}/${action}`;
  }
  await send(path, body, (ticket) => {
    if (action === "call-next" || action === "call") {
      if (action === "call") callNumber.value = "";
      return ticket ? `${ticket.number} を呼び出しました (called ${ticket.number})` : "お待ちの方はいません (nobody is waiting)";
    }
    if (action === "skip-stop") return `${ticket.number} の次の窓口を省略しました (next stop of ${ticket.number} skipped)`;
    if (action === "add-stop") return `${ticket.number} に窓口を追加しました (stop added to ${ticket.number})`;
    if (action === "undo-call") return `${ticket.number} の呼出を取り消しました (call of ${ticket.number} undone)`;
    return "";
  });
}

async function send(path, body, message) {
  busy = true;
  updateButtons();
  try {
    const answer = await api(path, { token: TOKEN, method: "POST", body });
    const text = message(answer);
    say(text, "info");
  } catch (error) {
    say(errorText(error));
  } finally {
    busy = false;
  }
  await refresh();
}

function onParked(event) {
  const button = event.target.closest("[data-parked]");
  if (!button || button.disabled || busy) return;
  const item = button.closest("[data-ticket]");
  const id = encodeURIComponent(item.dataset.ticket);
  const resume = button.dataset.parked === "resume";
  const path = `/tickets/${id}/${resume ? "resume" : "recall"}`;
  send(path, resume ? { counter: COUNTER } : undefined, (ticket) => `${ticket.number} を呼び出しました (called ${ticket.number})`);
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  // Mid-composition keys belong to the IME. A key the IME swallows arrives as key "Process"
  // (keyCode 229): the physical key (event.code) still says which shortcut it was.
  if (event.isComposing) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
  const selectKeys = ["KeyT", "KeyD"];
  if (target instanceof HTMLSelectElement && !selectKeys.includes(event.code) && event.key.length === 1) return;
  const code = event.code;
  for (const [action, button] of buttons) {
    if (button.dataset.key === code) {
      event.preventDefault();
      run(action);
      return;
    }
  }
}

function start() {
  for (const [action, button] of buttons) {
    if (action !== "call") button.addEventListener("click", () => run(action));
  }
  $("call-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run("call");
  });
  $("parked").addEventListener("click", onParked);
  document.addEventListener("keydown", onKey);
  setText($("clock"), clockText());
  setInterval(() => setText($("clock"), clockText()), 1000);
  updateButtons();
  if (!COUNTER || !TOKEN) {
    say("URL に counter と token を指定してください (open as /counter/?counter=ID&token=TOKEN)");
    return;
  }
  refresh();
}

start();
