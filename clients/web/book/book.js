// The public booking page (来庁予約): choose a category and a day, see the free slots, book with
// a name initial and an optional contact; the confirmation code is shown once with its QR code.
// The code alone looks a booking up, moves it to another slot or cancels it. No account.

import { api, errorText, h, query, setText } from "/web-common/api.js";

const OFFICE = query.get("office") || "";
const $ = (id) => document.getElementById(id);
const TIME = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const DAY = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", year: "numeric", month: "long", day: "numeric", weekday: "short" });
const STATUS = {
  booked: "予約中 (booked)",
  checked_in: "受付済み (checked in)",
  cancelled: "取消済み (cancelled)",
  missed: "来庁なし (missed)",
};

let categories = [];
let found = null; // {code, appointment} being looked up

function say(text, kind = "error") {
  const box = $("message");
  box.hidden = !text;
  box.dataset.kind = kind;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  setText(box, text || "");
}

/** The problem's detail and its field-level reasons. */
function problemText(error) {
  const main = errorText(error);
  const reasons = (error.errors || []).map((e) => e.message || e.detail).filter((m) => m && m !== main);
  return [main, ...reasons].join(" — ");
}

function tokyoDay(date = new Date()) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Tokyo" }).format(date);
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function categoryName(id) {
  const c = categories.find((x) => x.category_id === id);
  return c ? `${c.prefix} ${c.name_ja} (${c.name_en})` : "";
}

function describe(a) {
  const when = new Date(a.starts_at);
  return `${categoryName(a.category_id)} — ${DAY.format(when)} ${TIME.format(when)} — ${a.initial} 様 — ${STATUS[a.status] || a.status}`;
}

async function slotsOf(categoryId, day) {
  const params = new URLSearchParams({ category: categoryId, day });
  return api(`/public/offices/${encodeURIComponent(OFFICE)}/appointment-slots?${params}`);
}

async function loadSlots() {
  const box = $("slots");
  box.replaceChildren();
  setText($("slots-note"), "");
  const categoryId = $("category").value;
  const day = $("day").value;
  if (!categoryId || !day) return;
  document.body.dataset.state = "loading-slots";
  try {
    const slots = await slotsOf(categoryId, day);
    for (const slot of slots) {
      const id = `slot-${slot.starts_at}`;
      const full = slot.free <= 0;
      const input = h("input", { type: "radio", name: "slot", id, value: slot.starts_at, disabled: full, required: true });
      const label = h("label", { for: id },
        h("b", { class: "num" }, TIME.format(new Date(slot.starts_at))), " ",
        full ? "満員 (full)" : `残り ${slot.free} (${slot.free} free)`);
      box.append(h("span", { class: "slot", "data-full": full }, input, label));
    }
    const free = slots.filter((s) => s.free > 0).length;
    setText($("slots-note"), slots.length === 0
      ? "この日は予約できません (no appointments on this day)"
      : `空き ${free} 枠 (${free} times free)`);
    say("");
  } catch (error) {
    say(problemText(error));
  } finally {
    document.body.dataset.state = "ready";
  }
}

async function book(event) {
  event.preventDefault();
  const chosen = document.querySelector("input[name=slot]:checked");
  if (!chosen) {
    say("時間帯を選んでください (choose a time)");
    return;
  }
  const initial = $("initial").value.trim();
  if (!initial) {
    say("お名前の頭文字を入力してください (type the initial of your name)");
    $("initial").focus();
    return;
  }
  const contact = $("contact").value.trim();
  $("book").disabled = true;
  try {
    const booked = await api("/public/appointments", {
      method: "POST",
      body: {
        office_id: OFFICE,
        category_id: $("category").value,
        starts_at: chosen.value,
        initial,
        ...(contact ? { contact } : {}),
      },
    });
    setText($("booked-code"), booked.code);
    setText($("booked-what"), describe(booked));
    $("booked-qr").src = `/api/v1/public/appointments/${encodeURIComponent(booked.code)}/qr.svg`;
    $("booked").hidden = false;
    $("booked").scrollIntoView({ block: "start" });
    say("予約しました (booked)", "info");
    await loadSlots();
  } catch (error) {
    say(problemText(error));
    await loadSlots();
  } finally {
    $("book").disabled = false;
  }
}

async function fillMoveSlots() {
  const select = $("move-slot");
  select.replaceChildren();
  if (!found || !$("move-day").value) return;
  try {
    const slots = await slotsOf(found.appointment.category_id, $("move-day").value);
    for (const slot of slots.filter((s) => s.free > 0)) {
      select.append(h("option", { value: slot.starts_at }, `${TIME.format(new Date(slot.starts_at))} (残り ${slot.free} / ${slot.free} free)`));
    }
  } catch (error) {
    say(problemText(error));
  }
}

function showFound(code, appointment) {
  found = { code, appointment };
  $("found").hidden = false;
  setText($("found-what"), describe(appointment));
  const changeable = appointment.status === "booked";
  $("move-row").hidden = !changeable;
  if (changeable && !$("move-day").value) $("move-day").value = tokyoDay(new Date(appointment.starts_at));
  if (changeable) fillMoveSlots();
}

async function lookUp(event) {
  event.preventDefault();
  const code = $("lookup-code").value.trim();
  if (!code) return;
  try {
    showFound(code, await api(`/public/appointments/${encodeURIComponent(code)}`));
    say("");
  } catch (error) {
    $("found").hidden = true;
    found = null;
    say(problemText(error));
  }
}

async function change(step) {
  if (!found) return;
  const path = `/public/appointments/${encodeURIComponent(found.code)}/${step}`;
  try {
    const body = step === "move" ? { starts_at: $("move-slot").value } : undefined;
    if (step === "move" && !body.starts_at) {
      say("新しい時間帯を選んでください (choose a new time)");
      return;
    }
    showFound(found.code, await api(path, { method: "POST", body }));
    say(step === "move" ? "予約を変更しました (moved)" : "予約を取り消しました (cancelled)", "info");
    await loadSlots();
  } catch (error) {
    say(problemText(error));
  }
}

async function start() {
  if (!OFFICE) {
    say("URL に office を指定してください (/book/?office=ID)");
    return;
  }
  try {
    const office = await api(`/public/offices/${encodeURIComponent(OFFICE)}/appointment-categories`);
    categories = office.categories;
    setText($("office"), `${office.name_ja} (${office.name_en})`);
    document.title = `来庁予約 (Book a visit) — ${office.name_ja}`;
    const today = tokyoDay();
    for (const input of [$("day"), $("move-day")]) {
      input.min = today;
      input.max = addDays(today, office.book_days_ahead);
    }
    $("day").value = query.get("day") || today;
    $("category").replaceChildren(...categories.map((c) =>
      h("option", { value: c.category_id }, `${c.prefix} ${c.name_ja} (${c.name_en})`)));
    if (!categories.length) say("この窓口は予約を受け付けていません (this office takes no appointments)");
  } catch (error) {
    say(problemText(error));
    document.body.dataset.state = "error";
    return;
  }
  $("category").addEventListener("change", loadSlots);
  $("day").addEventListener("change", loadSlots);
  $("move-day").addEventListener("change", fillMoveSlots);
  $("book-form").addEventListener("submit", book);
  $("lookup-form").addEventListener("submit", lookUp);
  $("move").addEventListener("click", () => change("move"));
  $("cancel").addEventListener("click", () => change("cancel"));
  if (query.get("code")) $("lookup-code").value = query.get("code");
  await loadSlots();
}

start();
