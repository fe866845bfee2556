// 窓口統計 for supervisors: the day's figures per office, category and counter (GET
// /lobby-stats), links to the same as CSV and XLSX, and an SVG chart of the waits per category
// (median and 90th percentile over all counters), drawn here: no chart library, no CDN. Below,
// the estimate report (GET /lobby-stats/estimates): each wait model's errors, with a chart of
// the MAE by hour of issue per model.

import { api, ApiError, errorText, h, setText, tokyoToday } from "./api.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);

function say(text) {
  $("message").hidden = !text;
  setText($("message"), text || "");
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** Seconds → "m:ss" (blank when there is no figure). */
function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function share(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

function query(format) {
  const q = new URLSearchParams({ day: $("stats-day").value });
  const office = $("stats-office").value.trim();
  if (office) q.set("office", office);
  if (format) q.set("format", format);
  return q;
}

function renderTable(rows) {
  const body = $("stats-body");
  body.replaceChildren(...rows.map((r) => h("tr", { dataset: { category: r.category, counter: r.counter } },
    h("td", {}, h("code", {}, r.office_id)),
    h("td", {}, r.category),
    h("td", {}, r.counter === "*" ? "＊ 全体 (all)" : r.counter),
    ...[r.tickets, r.served, r.no_shows, r.cancelled, r.transfers].map((n) => h("td", { class: "num" }, n)),
    ...[r.wait_median_s, r.wait_p90_s, r.wait_max_s, r.service_median_s, r.service_p90_s]
      .map((s) => h("td", { class: "num" }, minutes(s))),
    h("td", { class: "num" }, r.appointments_kept),
    h("td", { class: "num" }, r.appointments_missed),
    h("td", { class: "num" }, minutes(r.estimate_mae_s)),
    h("td", { class: "num" }, share(r.estimate_within_5min)),
  )));
  $("stats-empty").hidden = rows.length > 0;
}

/** Horizontal bars, one pair per category: median (dark) and p90 (light), in minutes. */
function renderChart(rows) {
  const totals = rows.filter((r) => r.counter === "*");
  const box = $("chart");
  if (!totals.length) {
    box.replaceChildren(h("p", { class: "muted" }, "表示する待ち時間はありません (no waits to show)"));
    return;
  }
  const several = new Set(totals.map((r) => r.office_id)).size > 1;
  const label = (r) => (several ? `${r.category} ${r.office_id.slice(0, 6)}` : r.category);
  const top = Math.max(60, ...totals.map((r) => r.wait_p90_s || 0));
  const scaleMax = Math.ceil(top / 300) * 300; // whole 5 minutes
  const left = several ? 110 : 50;
  const width = 640;
  const plot = width - left - 70;
  const rowH = 34;
  const height = 30 + totals.length * rowH + 24;
  const x = (s) => left + (plot * (s || 0)) / scaleMax;
  const title = "区分ごとの待ち時間 中央値と90パーセンタイル (waits per category: median and p90)";
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-svg-title", width, height },
    svg("title", { id: "chart-svg-title" }, title));
  const steps = scaleMax / 300;
  for (let i = 0; i <= steps; i += 1) {
    const at = x(i * 300);
    chart.append(svg("line", { x1: at, x2: at, y1: 20, y2: height - 22, class: "axis", "stroke-dasharray": i ? "2 3" : "" }),
      svg("text", { x: at, y: height - 6, "text-anchor": "middle" }, `${i * 5}`));
  }
  chart.append(svg("text", { x: width - 4, y: 14, "text-anchor": "end" }, "分 (min)"));
  totals.forEach((r, i) => {
    const y = 26 + i * rowH;
    const g = svg("g", { "data-category": r.category, "data-wait-median-s": r.wait_median_s ?? "", "data-wait-p90-s": r.wait_p90_s ?? "" },
      svg("text", { x: left - 8, y: y + 16, "text-anchor": "end" }, label(r)),
      svg("rect", { x: left, y, width: Math.max(0, x(r.wait_p90_s) - left), height: 24, class: "bar-p90" },
        svg("title", {}, `p90 ${minutes(r.wait_p90_s)}`)),
      svg("rect", { x: left, y: y + 5, width: Math.max(0, x(r.wait_median_s) - left), height: 14, class: "bar-median" },
        svg("title", {}, `中央値 (median) ${minutes(r.wait_median_s)}`)),
      svg("text", { x: x(Math.max(r.wait_p90_s || 0, r.wait_median_s || 0)) + 6, y: y + 16 },
        `${minutes(r.wait_median_s)} / ${minutes(r.wait_p90_s)}`));
    chart.append(g);
  });
  box.replaceChildren(chart);
}

/** Seconds → signed "+m:ss" / "−m:ss". */
function signed(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return `${seconds < 0 ? "−" : "+"}${minutes(Math.abs(seconds))}`;
}

function renderEstimateTable(report) {
  const labels = Object.fromEntries(report.models.map((m) => [m.name, m.label]));
  $("estimates-body").replaceChildren(...report.rows.map((r) => h("tr",
    { dataset: { category: r.category, model: r.model, inUse: String(r.in_use) } },
    h("td", {}, h("code", {}, r.office_id)),
    h("td", {}, r.category === "*" ? "＊ 全体 (all)" : r.category),
    h("td", {}, `${labels[r.model] || r.model}${r.in_use ? " ★ 表示中 (shown)" : ""}`),
    h("td", { class: "num" }, r.estimates),
    h("td", { class: "num" }, minutes(r.estimate_mae_s)),
    h("td", { class: "num" }, signed(r.estimate_bias_s)),
    h("td", { class: "num" }, share(r.estimate_within_5min)),
    h("td", { class: "num" }, share(r.estimate_within_10min)),
  )));
  $("estimates-empty").hidden = report.rows.length > 0;
}

/** One line per model: the mean absolute error (minutes) by hour of issue. */
function renderEstimateChart(report) {
  const box = $("estimates-chart");
  const points = report.hours.filter((p) => p.estimate_mae_s !== null);
  if (!points.length) {
    box.replaceChildren(h("p", { class: "muted" }, "表示する予測誤差はありません (no estimate errors to show)"));
    return;
  }
  const hours = points.map((p) => p.hour);
  const first = Math.min(...hours);
  const last = Math.max(first + 1, ...hours);
  const top = Math.ceil(Math.max(300, ...points.map((p) => p.estimate_mae_s)) / 300) * 300;
  const width = 640;
  const left = 50;
  const plotW = width - left - 20;
  const plotTop = 24;
  const plotH = 200;
  const legendY = plotTop + plotH + 40;
  const height = legendY + report.models.length * 18 + 8;
  const x = (hour) => left + (plotW * (hour - first)) / (last - first);
  const y = (s) => plotTop + plotH - (plotH * s) / top;
  const title = "予測モデル別 時間帯ごとの平均絶対誤差 (MAE by hour of issue, per model)";
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "estimates-svg-title", width, height },
    svg("title", { id: "estimates-svg-title" }, title));
  for (let s = 0; s <= top; s += 300) {
    chart.append(svg("line", { x1: left, x2: width - 20, y1: y(s), y2: y(s), class: "axis", "stroke-dasharray": s ? "2 3" : "" }),
      svg("text", { x: left - 6, y: y(s) + 4, "text-anchor": "end" }, `${s / 60}`));
  }
  for (let hour = first; hour <= last; hour += 1) {
    chart.append(svg("text", { x: x(hour), y: plotTop + plotH + 16, "text-anchor": "middle" }, `${hour}時`));
  }
  chart.append(svg("text", { x: 4, y: 14 }, "分 (min)"));
  report.models.forEach((model, index) => {
    const mine = points.filter((p) => p.model === model.name);
    const group = svg("g", { class: `model model-${index}`, "data-model": model.name });
    if (mine.length) {
      group.append(svg("polyline", {
        points: mine.map((p) => `${x(p.hour)},${y(p.estimate_mae_s)}`).join(" "), class: "line",
      }));
      for (const p of mine) {
        group.append(svg("circle", { cx: x(p.hour), cy: y(p.estimate_mae_s), r: 3.5, "data-hour": p.hour, "data-mae-s": p.estimate_mae_s },
          svg("title", {}, `${model.name} ${p.hour}時: ${minutes(p.estimate_mae_s)} (${p.estimates})`)));
      }
    }
    const ly = legendY + index * 18;
    group.append(svg("line", { x1: left, x2: left + 24, y1: ly - 4, y2: ly - 4, class: "line" }),
      svg("text", { x: left + 30, y: ly }, `${model.label}${model.in_use ? " ★" : ""}`));
    chart.append(group);
  });
  box.replaceChildren(chart);
}

async function load(event) {
  if (event) event.preventDefault();
  const q = query();
  history.replaceState(null, "", `${location.pathname}?${q}`);
  $("download-csv").href = `/api/v1/lobby-stats?${query("csv")}`;
  $("download-xlsx").href = `/api/v1/lobby-stats?${query("xlsx")}`;
  $("download-estimates-csv").href = `/api/v1/lobby-stats/estimates?${query("csv")}`;
  $("download-estimates-xlsx").href = `/api/v1/lobby-stats/estimates?${query("xlsx")}`;
  document.body.dataset.state = "loading";
  try {
    const [stats, report] = await Promise.all([
      api(`/lobby-stats?${q}`), api(`/lobby-stats/estimates?${q}`),
    ]);
    renderTable(stats.rows);
    renderChart(stats.rows);
    renderEstimateTable(report);
    renderEstimateChart(report);
    say("");
    document.body.dataset.state = "ready";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      say("サインインしてください (sign in first): 業務コンソールへ戻ってください (back to the console)");
    } else {
      say(errorText(error));
    }
    document.body.dataset.state = "error";
  }
}

$("stats-day").value = params.get("day") || tokyoToday();
$("stats-office").value = params.get("office") || "";
$("stats-form").addEventListener("submit", load);
load();
