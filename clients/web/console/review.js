// The reviewer's screen: the keyed values against the OCR readings, the validator's problems,
// the applicant, the history, and the decision (approve / return with a reason / reject).

import { bi, dateTimeText, h, STATUS } from "./api.js";
import { displayValue, getPath, isAlert, problemList } from "./form.js";
import { readDate } from "./wareki.js";

const ACTION = {
  "entry.keyed": ["入力完了", "keyed"],
  "verify.matched": ["照合一致", "verified: match"],
  "verify.mismatched": ["照合不一致", "verified: mismatch"],
  "settle.settled": ["不一致を確定", "settled"],
  "review.approve": ["承認", "approved"],
  "review.return": ["差戻し", "returned"],
  "review.reject": ["却下", "rejected"],
  "review.correct": ["審査担当が訂正", "corrected by the reviewer"],
  "application.withdraw": ["取下げ", "withdrawn"],
  "application.reopen": ["承認後の訂正を開始", "reopened for correction"],
  receive: ["受付", "received"],
};

function normalised(value, fold = true) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  const text = (fold ? String(value).normalize("NFKC") : String(value)).replace(/\s+/g, "");
  const date = readDate(text);
  return date && date.iso ? date.iso : text;
}

/** "same", "notation" (only width or spacing differs: 全角/半角) or "differs". */
function compareOcr(ocrValue, keyed) {
  if (normalised(ocrValue, false) === normalised(keyed, false)) return "same";
  return normalised(ocrValue) === normalised(keyed) ? "notation" : "differs";
}

function leaves(specs, values, prefix, out, depth = 0) {
  for (const spec of specs) {
    const path = prefix + spec.key;
    const value = values ? values[spec.key] : undefined;
    if (spec.type === "group") {
      const items = Array.isArray(value) ? value : [];
      out.push({ group: spec, count: items.length, depth });
      items.forEach((item, i) => {
        out.push({ item: `${spec.label_ja} ${i + 1}`, itemEn: `${spec.label_en} ${i + 1}`, depth: depth + 1 });
        leaves(spec.fields, item, `${path}[${i}].`, out, depth + 1);
      });
    } else {
      out.push({ spec, path, value, depth });
    }
  }
  return out;
}

export class ReviewView {
  constructor(ctx, form) {
    this.ctx = ctx;
    this.form = form;
    this.procedure = ctx.catalogue.get(ctx.procedureCode);
    this.cells = new Map();
    this.root = h("div", { class: "review" });
    this.render(form.values || {});
  }

  render(values) {
    const problems = this.form.problems || [];
    const ocr = this.form.ocr || {};
    const body = h("tbody");
    let differing = 0;
    for (const entry of leaves(this.procedure.fields, values, "", [])) {
      if (entry.group) {
        body.append(h("tr", { class: "grp" }, h("th", { colspan: "5" }, bi(entry.group.label_ja, entry.group.label_en), ` ${entry.count}件`)));
        continue;
      }
      if (entry.item) {
        body.append(h("tr", { class: "itm" }, h("th", { colspan: "5" }, entry.item, h("span", { class: "en" }, entry.itemEn))));
        continue;
      }
      const { spec, path, value } = entry;
      const read = ocr[path];
      const mine = problems.filter((p) => p.field === path);
      const blank = value === undefined || value === null || value === "";
      if (blank && !read && !mine.length && spec.requirement !== "required") continue;
      const comparison = read && read.value !== undefined && read.value !== null && !String(read.value).startsWith("*")
        ? compareOcr(read.value, value) : "same";
      const differs = comparison === "differs";
      if (differs) differing += 1;
      const keyed = h("td", { class: "keyed" }, displayValue(spec, value));
      if (spec.type === "wareki_date" || spec.type === "date") {
        const date = readDate(typeof value === "string" ? value : "");
        if (date && date.iso) keyed.append(h("span", { class: "date-view" }, h("b", {}, date.iso), "／", h("b", {}, date.wareki)));
      }
      this.cells.set(path, keyed);
      const low = read && typeof read.confidence === "number" && read.confidence < this.ctx.threshold;
      const errors = mine.filter((p) => !isAlert(p));
      const tr = h("tr", { class: [errors.length ? "has-problem" : mine.length ? "has-alert" : "", differs ? "differs" : "", low ? "low-conf" : "", blank ? "blank" : ""].join(" ").trim(), dataset: { path } },
        h("th", { class: "lbl", style: `padding-left:${8 + entry.depth * 14}px` }, h("span", { class: "ja" }, spec.label_ja), h("span", { class: "en" }, spec.label_en)),
        keyed,
        h("td", { class: "ocrv" }, read ? (read.unreadable ? "判読不能" : read.value ?? "") : ""),
        h("td", { class: "confv num" }, read && typeof read.confidence === "number" ? `${Math.round(read.confidence * 100)}%` : ""),
        h("td", { class: "check" }, differs ? h("span", { class: "flag warn" }, "OCRと相違 differs from OCR") : null,
          comparison === "notation" ? h("span", { class: "flag note" }, "表記ゆれ（全角・半角） width differs") : null,
          problemList(mine)));
      body.append(tr);
    }
    const table = h("table", { class: "compare" },
      h("thead", {}, h("tr", {}, h("th", {}, bi("項目", "Field")), h("th", {}, bi("入力値", "Keyed")), h("th", {}, bi("OCR読取", "OCR")),
        h("th", {}, bi("確信度", "Conf.")), h("th", {}, bi("確認事項", "Checks")))),
      body);
    const errorCount = problems.filter((p) => !isAlert(p)).length;
    const alertCount = problems.length - errorCount;
    const summary = h("div", { class: "review-summary" },
      h("span", { class: `pill ${errorCount ? "bad" : "ok"}` }, `要修正 ${errorCount}件 errors`),
      h("span", { class: `pill ${alertCount ? "warn" : "ok"}` }, `要確認 ${alertCount}件 alerts`),
      h("span", { class: `pill ${differing ? "warn" : "ok"}` }, `OCR相違 ${differing}件 differ from OCR`));
    this.root.replaceChildren(summary, table);
  }

  /** After a deliberate, logged reveal. */
  reveal(values) {
    for (const [path, cell] of this.cells) {
      const spec = this.ctx.catalogue.specAt(this.ctx.procedureCode, path);
      if (spec && spec.type === "my_number") {
        const real = getPath(values, path);
        if (real) {
          cell.textContent = real;
          cell.classList.add("revealed");
        }
      }
    }
  }
}

export function applicantBlock(applicant) {
  const a = applicant || {};
  const rows = [
    ["氏名", "Name", [a.family_name, a.given_name].filter(Boolean).join(" ")],
    ["フリガナ", "Kana", [a.family_name_kana, a.given_name_kana].filter(Boolean).join(" ")],
    ["生年月日", "Born", a.birth_date],
    ["住所", "Address", a.address],
    ["電話", "Phone", a.phone],
    ["世帯", "Household", a.household_ref],
  ].filter((r) => r[2]);
  return h("dl", { class: "kv" }, rows.map(([ja, en, v]) => [h("dt", {}, ja, h("span", { class: "en" }, en)), h("dd", {}, v)]));
}

export function historyBlock(history) {
  if (!history || !history.length) return h("p", { class: "muted" }, "履歴なし (no history)");
  return h("ol", { class: "history" }, history.map((e) => {
    const [ja, en] = ACTION[e.action] || [e.action, ""];
    const to = e.to_status && STATUS[e.to_status] ? STATUS[e.to_status][0] : e.to_status || "";
    const detail = e.detail || {};
    const notes = [
      detail.reason ? `理由 reason: ${detail.reason}` : null,
      detail.submitted_with_problems ? `問題ありで送信 sent with problems: ${detail.submitted_with_problems.join(", ")}` : null,
      detail.acknowledged && detail.acknowledged.length ? `警告確認 acknowledged: ${detail.acknowledged.join(", ")}` : null,
      detail.corrected ? `訂正 corrected: ${detail.corrected.join(", ")}` : null,
    ].filter(Boolean);
    return h("li", {}, h("span", { class: "when num" }, dateTimeText(e.at)), h("span", { class: "what" }, ja, h("span", { class: "en" }, en)),
      to ? h("span", { class: "to" }, `→ ${to}`) : null, e.actor_role ? h("span", { class: "role" }, e.actor_role) : null,
      notes.length ? h("span", { class: "detail" }, notes.join(" / ")) : null);
  }));
}
