// 人員試算 for supervisors: POST /whatif with the target share, the source (the default profile
// scaled to a population, or the city's own event log), the population and the seed; the
// per-month table pooled vs separate, the two plots (PNG from the same plot code as the
// command) and, for the event log, what was fitted and what kept the profile's default.

import { api, ApiError, errorText, h, setCsrf, setText } from "./api.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function say(text) {
  $("message").hidden = !text;
  setText($("message"), text || "");
}

const percent = (share) => `${(share * 100).toFixed(1)}%`;
const plan = (operators, reviewers) => `${operators} / ${reviewers}`;

function renderMonths(result) {
  const rows = result.months.map((m) => h("tr", { dataset: { month: m.month } },
    h("td", { class: "num" }, `${m.month}月`),
    h("td", { class: "num" }, m.received.toLocaleString("ja-JP")),
    h("td", { class: "num" }, plan(m.pooled_operators, m.pooled_reviewers)),
    h("td", { class: "num" }, percent(m.pooled_within_due)),
    h("td", { class: "num" }, plan(m.separate_operators, m.separate_reviewers)),
    h("td", { class: "num" }, percent(m.separate_within_due)),
    h("td", { class: "num" }, m.people_saved),
  ));
  const sum = (key) => result.months.reduce((total, m) => total + m[key], 0);
  rows.push(h("tr", { class: "total", dataset: { month: "year" } },
    h("td", { class: "num" }, "計 (person-months)"),
    h("td", { class: "num" }, result.cases.toLocaleString("ja-JP")),
    h("td", { class: "num" }, sum("pooled_operators") + sum("pooled_reviewers")),
    h("td", { class: "num" }, percent(result.pooled_within_due)),
    h("td", { class: "num" }, sum("separate_operators") + sum("separate_reviewers")),
    h("td", { class: "num" }, ""),
    h("td", { class: "num" }, sum("people_saved")),
  ));
  $("whatif-body").replaceChildren(...rows);
}

function renderSummary(result) {
  const items = [
    ["プロファイル (profile)", result.profile],
    ["入力 (source)", result.source === "log" ? "事象ログ (event log)" : "既定プロファイル (default profile)"],
    ["人口 (population)", result.population.toLocaleString("ja-JP")],
    ["目標 (target)", percent(result.target)],
    ["乱数シード (seed)", String(result.seed)],
    ["入力の指紋 (input hash)", result.input_key.slice(0, 16)],
    ["所要 (run time)", result.cached ? "保存済みの結果 (cached result)" : `${result.seconds} 秒 (s)`],
  ];
  $("whatif-summary").replaceChildren(...items.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  $("whatif-summary").dataset.seed = String(result.seed);
}

function renderFit(result) {
  $("fit-panel").hidden = result.source !== "log";
  $("fit-body").replaceChildren(...result.fit.map((f) => h("tr", { dataset: { procedure: f.procedure, item: f.item, source: f.source } },
    h("td", {}, f.procedure),
    h("td", {}, f.item),
    h("td", {}, f.source === "fitted" ? "推定 (fitted)" : "既定 (default)"),
    h("td", { class: "num" }, f.samples.toLocaleString("ja-JP")),
    h("td", { class: "num" }, f.value.toLocaleString("ja-JP", { maximumFractionDigits: 1 })),
    h("td", { class: "num" }, f.spread === null ? "" : f.spread.toFixed(2)),
  )));
}

async function run(event) {
  if (event) event.preventDefault();
  const body = {
    target: Number($("whatif-target").value),
    seed: Number($("whatif-seed").value),
    source: $("whatif-source").value,
    population: Number($("whatif-population").value),
  };
  history.replaceState(null, "", `${location.pathname}?${new URLSearchParams(body)}`);
  document.body.dataset.state = "loading";
  $("whatif-run").disabled = true;
  $("whatif-running").hidden = false;
  try {
    const result = await api("/whatif", {
      method: "POST", body, timeoutMs: 300000,
    });
    renderSummary(result);
    renderMonths(result);
    renderFit(result);
    $("plot-staff").src = `data:image/png;base64,${result.plots.staff}`;
    $("plot-depth").src = `data:image/png;base64,${result.plots.depth}`;
    for (const id of ["summary-panel", "months-panel", "plots-panel"]) $(id).hidden = false;
    say("");
    document.body.dataset.state = "ready";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      say("サインインしてください (sign in first): 業務コンソールへ戻ってください (back to the console)");
    } else {
      say(errorText(error));
    }
    document.body.dataset.state = "error";
  } finally {
    $("whatif-run").disabled = false;
    $("whatif-running").hidden = true;
  }
}

for (const name of ["target", "seed", "source", "population"]) {
  if (params.has(name)) $(`whatif-${name}`).value = params.get(name);
}
$("whatif-form").addEventListener("submit", run);
$("whatif-run").disabled = true;
// The session's CSRF token, which a POST echoes (the cookie alone cannot give it).
try {
  setCsrf((await api("/auth/me")).csrf_token);
  $("whatif-run").disabled = false;
} catch (error) {
  say(error instanceof ApiError && error.status === 401
    ? "サインインしてください (sign in first): 業務コンソールへ戻ってください (back to the console)"
    : errorText(error));
}
