// 表示端末 for supervisors and administrators: send the test announcement (試験放送) to one
// display or all of an office's displays, and set the office's quiet hours (静音時間).

import { api, ApiError, errorText, h, setCsrf, setText } from "./api.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let office = "";

function say(text) {
  $("message").hidden = !text;
  setText($("message"), text || "");
}

/** The problem's field-level reasons, one per line, after its detail. */
function problemText(error) {
  const errors = error instanceof ApiError && error.problem && Array.isArray(error.problem.errors) ? error.problem.errors : [];
  return [errorText(error), ...errors.map((e) => `${e.field}: ${e.message}`)].join("\n");
}

function rangeRow(index, range = { start: "", end: "" }) {
  const start = `quiet-start-${index}`;
  const end = `quiet-end-${index}`;
  const row = h("li", { class: "quiet-row", dataset: { index: String(index) } },
    h("label", { for: start }, "開始 / From"),
    h("input", { id: start, type: "time", class: "quiet-start", value: range.start, required: true }),
    h("label", { for: end }, "終了 / To"),
    h("input", { id: end, type: "time", class: "quiet-end", value: range.end === "24:00" ? "23:59" : range.end, required: true }),
  );
  row.append(h("button", { type: "button", class: "btn small", onclick: () => row.remove() }, "削除 / Remove"));
  return row;
}

let rows = 0;
function showRanges(ranges) {
  $("quiet-list").replaceChildren(...ranges.map((r) => rangeRow(rows++, r)));
}

async function load(event) {
  if (event) event.preventDefault();
  office = $("office-id").value.trim();
  if (!office) return;
  history.replaceState(null, "", `${location.pathname}?office=${encodeURIComponent(office)}`);
  document.body.dataset.state = "loading";
  try {
    const me = await api("/auth/me");
    setCsrf(me.csrf_token);
    const info = await api(`/admin/offices/${encodeURIComponent(office)}/displays`);
    $("test-target").replaceChildren(
      h("option", { value: "" }, "すべての表示端末 / All displays"),
      ...info.displays.map((d) => h("option", { value: d.id }, d.name)),
    );
    showRanges(info.quiet_hours);
    say("");
    document.body.dataset.state = "ready";
  } catch (error) {
    say(error instanceof ApiError && error.status === 401
      ? "サインインしてください (sign in first): 業務コンソールへ戻ってください (back to the console)"
      : errorText(error));
    document.body.dataset.state = "error";
  }
}

async function sendTest(event) {
  event.preventDefault();
  const button = $("test-send");
  button.disabled = true;
  try {
    const display = $("test-target").value || null;
    const sent = await api(`/admin/offices/${encodeURIComponent(office)}/test-announcement`, { method: "POST", body: { display } });
    setText($("test-result"), `送信しました / Sent: ${sent.announcements.map((a) => a.text).join(" / ")}`);
  } catch (error) {
    setText($("test-result"), problemText(error));
  } finally {
    // One test at a time: the server refuses another for a few seconds anyway.
    setTimeout(() => { button.disabled = false; }, 3000);
  }
}

async function saveQuiet(event) {
  event.preventDefault();
  const ranges = [...document.querySelectorAll(".quiet-row")].map((row) => ({
    start: row.querySelector(".quiet-start").value,
    end: row.querySelector(".quiet-end").value,
  }));
  try {
    const saved = await api(`/admin/offices/${encodeURIComponent(office)}/quiet-hours`, { method: "PUT", body: { ranges } });
    showRanges(saved.quiet_hours);
    setText($("quiet-result"), "保存しました / Saved");
  } catch (error) {
    setText($("quiet-result"), problemText(error));
  }
}

$("office-id").value = params.get("office") || "";
$("office-form").addEventListener("submit", load);
$("test-form").addEventListener("submit", sendTest);
$("quiet-form").addEventListener("submit", saveQuiet);
$("quiet-add").addEventListener("click", () => $("quiet-list").append(rangeRow(rows++)));
if ($("office-id").value) load();
else document.body.dataset.state = "ready";
