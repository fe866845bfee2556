// Keying forms built from the procedure catalogue (GET /procedures): entry (the whole form, with
// repeating groups), verify (blind: only the listed fields, empty, with their image references)
// and settle (both keyings side by side). Every input carries data-nav for Enter navigation.

import { bi, h } from "./api.js";
import { checkMyNumber, readDate } from "./wareki.js";

export const UNREADABLE = "●"; // what the server (and OCR products) read as "could not read"
// Alerts need a reviewer's acknowledgement; every other problem code is an error to correct
// (the server's ALERT_CODES, app/domain/validators).
const ALERT_CODES = new Set(["not_cp932", "variation_sequence", "needs_identification", "account_holder_mismatch"]);
// The server says each problem's level; the code list is the fallback for older answers.
export const isAlert = (problem) => (problem.level ? problem.level === "warning" : ALERT_CODES.has(problem.code));

// ---- the catalogue ---------------------------------------------------------------------------

export class Catalogue {
  constructor(list) {
    this.list = list;
    this.byCode = new Map(list.map((p) => [p.code, p]));
  }

  get(code) {
    return this.byCode.get(code) || { code, name_ja: code, name_en: code, fields: [] };
  }

  /** The spec of a concrete path such as "members[1].birth_date". */
  specAt(code, path) {
    let specs = this.get(code).fields;
    let spec = null;
    for (const part of path.split(".")) {
      const key = part.replace(/\[\d+\]$/, "");
      spec = (specs || []).find((f) => f.key === key);
      if (!spec) return null;
      specs = spec.fields || [];
    }
    return spec;
  }

  /** ["異動者 2 › 生年月日", "Persons moving 2 › Date of birth"] for a concrete path. */
  labelOf(code, path) {
    let specs = this.get(code).fields;
    const ja = [];
    const en = [];
    for (const part of path.split(".")) {
      const match = /^(.*?)(?:\[(\d+)\])?$/.exec(part);
      const spec = (specs || []).find((f) => f.key === match[1]);
      if (!spec) return [path, path];
      const n = match[2] !== undefined ? ` ${Number(match[2]) + 1}` : "";
      ja.push(spec.label_ja + n);
      en.push(spec.label_en + n);
      specs = spec.fields || [];
    }
    return [ja.join(" › "), en.join(" › ")];
  }
}

// ---- conditions: the catalogue's small Python subset ("a == 'x'", "a in ('x', 'y')", and/or/not)

const conditionCache = new Map();
const TOKEN = /\s*(?:(\(|\)|,)|(==|!=)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([A-Za-z_]\w*))/y;

function tokenize(text) {
  const out = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`cannot read ${text}`);
    if (m[1] || m[2]) out.push({ op: m[1] || m[2] });
    else if (m[3]) out.push({ value: m[3].slice(1, -1) });
    else if (m[4]) out.push({ value: Number(m[4]) });
    else if (m[5] === "True" || m[5] === "False" || m[5] === "None") {
      out.push({ value: m[5] === "True" ? true : m[5] === "False" ? false : null });
    } else if (["and", "or", "not", "in"].includes(m[5])) out.push({ op: m[5] });
    else out.push({ name: m[5] });
  }
  return out;
}

const truthy = (v) => !(v === null || v === undefined || v === false || v === "" ||
  (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v && !Array.isArray(v) && Object.keys(v).length === 0));

function compile(text) {
  const tokens = tokenize(text);
  let i = 0;
  const peek = (op) => tokens[i] && tokens[i].op === op;
  const take = (op) => {
    if (!peek(op)) throw new Error(`expected ${op} in ${text}`);
    i += 1;
  };
  const constant = () => {
    const t = tokens[i++];
    if (!t || !("value" in t)) throw new Error(`expected a constant in ${text}`);
    return t.value;
  };
  function atom() {
    if (peek("(")) {
      take("(");
      const inner = or();
      take(")");
      return inner;
    }
    const t = tokens[i++];
    if (!t || !t.name) throw new Error(`expected a name in ${text}`);
    const key = t.name;
    if (peek("==") || peek("!=")) {
      const equal = tokens[i++].op === "==";
      const value = constant();
      return (scope) => (scope(key) === value) === equal;
    }
    if (peek("in")) {
      take("in");
      take("(");
      const options = [constant()];
      while (peek(",")) {
        take(",");
        if (peek(")")) break;
        options.push(constant());
      }
      take(")");
      return (scope) => options.includes(scope(key));
    }
    return (scope) => truthy(scope(key));
  }
  function not() {
    if (peek("not")) {
      take("not");
      const inner = not();
      return (scope) => !inner(scope);
    }
    return atom();
  }
  function and() {
    const parts = [not()];
    while (peek("and")) {
      take("and");
      parts.push(not());
    }
    return (scope) => parts.every((p) => p(scope));
  }
  function or() {
    const parts = [and()];
    while (peek("or")) {
      take("or");
      parts.push(and());
    }
    return (scope) => parts.some((p) => p(scope));
  }
  const test = or();
  if (i !== tokens.length) throw new Error(`unexpected tail in ${text}`);
  return test;
}

function condition(text) {
  if (!conditionCache.has(text)) {
    try {
      conditionCache.set(text, compile(text));
    } catch {
      conditionCache.set(text, null);
    }
  }
  return conditionCache.get(text);
}

// ---- controls --------------------------------------------------------------------------------

let serial = 0;
const nextId = () => `f${(serial += 1)}`;
const NUMERIC = new Set([
  "my_number", "postal_code", "municipality_code", "integer", "resident_code", "address_code",
]);
const BOOLEAN_OPTIONS = [["true", "1 はい・有", "Yes"], ["false", "0 いいえ・無", "No"]];
const ACCOUNT_TYPES = [["ordinary", "1 普通", "Ordinary"], ["current", "2 当座", "Current"]];

function asText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return value.written || value.iso || JSON.stringify(value);
  return String(value);
}

function textControl(spec, value) {
  const input = h("input", {
    id: nextId(), type: "text", class: `in t-${spec.type}`, autocomplete: "off", spellcheck: "false",
    "data-nav": "", lang: NUMERIC.has(spec.type) ? "en" : "ja",
    inputmode: NUMERIC.has(spec.type) ? "numeric" : null,
  });
  input.value = asText(value);
  return {
    el: input,
    input,
    get: () => input.value,
    set: (v) => { input.value = asText(v); },
    unreadable(target) {
      if (input.value === UNREADABLE) input.value = input.dataset.before || "";
      else {
        input.dataset.before = input.value;
        input.value = UNREADABLE;
      }
      return target;
    },
  };
}

function booleanValue(value) {
  if (value === true || value === false) return String(value);
  const text = String(value ?? "").normalize("NFKC").trim().toLowerCase();
  if (["true", "1", "yes", "はい", "有", "あり", "○", "〇"].includes(text)) return "true";
  if (["false", "0", "no", "いいえ", "無", "なし", "×"].includes(text)) return "false";
  return text;
}

function selectControl(spec, options, value, convert) {
  const select = h("select", { id: nextId(), class: "in", "data-nav": "" },
    h("option", { value: "" }, "— 未記入 (blank)"),
    options.map(([code, ja, en]) => h("option", { value: code }, `${ja}  ${en}`)));
  const known = new Set(options.map((o) => o[0]));
  const raw = (text) => {
    // A value that is none of the choices stays visible as written, for the operator to fix.
    if (text && !known.has(text) && ![...select.options].some((o) => o.value === text)) {
      select.append(h("option", { value: text, class: "raw" }, `原文「${text}」 (as written)`));
    }
    select.value = text;
  };
  raw(value === null || value === undefined ? "" : String(value));
  return {
    el: select,
    input: select,
    get: () => (select.value === "" ? "" : convert(select.value)),
    set: (v) => raw(v === null || v === undefined ? "" : String(v)),
    unreadable(target) {
      raw(select.value === UNREADABLE ? "" : UNREADABLE);
      return target;
    },
  };
}

function choiceControl(spec, value) {
  const options = spec.choices.map((c, i) => [c.code, `${i + 1} ${c.label_ja}`, c.label_en]);
  let initial = value;
  if (typeof value === "string" && !spec.choices.some((c) => c.code === value)) {
    const text = value.normalize("NFKC").trim();
    const found = spec.choices.find((c) => c.label_ja.normalize("NFKC") === text || c.label_en.toLowerCase() === text.toLowerCase());
    if (found) initial = found.code;
  }
  return selectControl(spec, options, initial, (v) => v);
}

function booleanControl(spec, value) {
  const control = selectControl(spec, BOOLEAN_OPTIONS, value === null || value === undefined ? "" : booleanValue(value),
    (v) => (v === "true" ? true : v === "false" ? false : v));
  const set = control.set;
  control.set = (v) => set(v === null || v === undefined || v === "" ? "" : booleanValue(v));
  return control;
}

/** "ordinary" for "ordinary", "普通" or "1"; "" when blank or unknown. */
function accountTypeCode(value) {
  const text = String(value ?? "").normalize("NFKC").trim();
  if (!text) return "";
  const found = ACCOUNT_TYPES.find(([code, ja]) => text === code || ja.split(" ").includes(text));
  return found ? found[0] : "";
}

function bankControl(spec, value) {
  const v = value && typeof value === "object" ? value : {};
  const yucho = "yucho_symbol" in v || "yucho_number" in v;
  const kind = h("select", { id: nextId(), class: "in bank-kind", "data-nav": "", title: "口座の種類 (bank or Japan Post Bank)" },
    h("option", { value: "bank" }, "銀行等 Bank"), h("option", { value: "yucho" }, "ゆうちょ JP Bank"));
  const part = (name, ja, size) => {
    const input = h("input", { type: "text", class: "in bank-part", "data-nav": "", "data-part": name, autocomplete: "off",
      inputmode: "numeric", size: String(size), placeholder: ja, title: ja, lang: "en" });
    input.value = v[name] ?? "";
    return input;
  };
  const accountType = h("select", { class: "in bank-type", "data-nav": "", title: "預金種目 (account type)" },
    h("option", { value: "" }, "種目 —"), ACCOUNT_TYPES.map(([code, ja, en]) => h("option", { value: code }, `${ja} ${en}`)));
  accountType.value = accountTypeCode(v.account_type);
  const bank = [part("bank_code", "金融機関 4桁", 5), part("branch_code", "支店 3桁", 4), accountType, part("account_number", "口座番号 7桁", 9)];
  const post = [part("yucho_symbol", "記号 5桁", 6), part("yucho_number", "番号 8桁", 9)];
  const bankBox = h("span", { class: "bank-set" }, bank);
  const postBox = h("span", { class: "bank-set" }, post);
  const el = h("span", { class: "bank" }, kind, bankBox, postBox);
  const show = () => {
    const isPost = kind.value === "yucho";
    bankBox.hidden = isPost;
    postBox.hidden = !isPost;
    for (const node of bank) node.disabled = isPost;
    for (const node of post) node.disabled = !isPost;
  };
  kind.value = yucho ? "yucho" : "bank";
  kind.addEventListener("change", show);
  show();
  const fill = (val) => {
    const o = val && typeof val === "object" ? val : {};
    kind.value = "yucho_symbol" in o ? "yucho" : "bank";
    for (const node of [...bank, ...post]) if (node.dataset.part) node.value = o[node.dataset.part] ?? "";
    accountType.value = accountTypeCode(o.account_type);
    show();
  };
  return {
    el,
    input: kind,
    get() {
      const parts = kind.value === "yucho" ? post : bank;
      const out = {};
      for (const node of parts) out[node.dataset.part || "account_type"] = node.value;
      return Object.values(out).every((x) => !x) ? null : out;
    },
    set: fill,
    unreadable(target) {
      if (target && target.tagName === "INPUT") target.value = target.value === UNREADABLE ? "" : UNREADABLE;
      return target;
    },
  };
}

export function makeControl(spec, value) {
  if (spec.type === "choice") return choiceControl(spec, value);
  if (spec.type === "boolean") return booleanControl(spec, value);
  if (spec.type === "bank_account") return bankControl(spec, value);
  return textControl(spec, value);
}

// ---- what is shown next to a field -------------------------------------------------------------

const URLISH = /^(https?:\/\/|\/|data:image\/|blob:)/;

function imageRef(ref) {
  if (!ref) return null;
  if (URLISH.test(ref)) return h("img", { class: "crop", src: ref, alt: "記入欄の画像 (field image)", loading: "lazy" });
  return h("span", { class: "crop-ref", title: "画像の参照 (image reference)" }, "画像", h("code", {}, ref));
}

function ocrView(read, threshold, { blind = false } = {}) {
  if (!read) return null;
  const parts = [];
  if (!blind && read.value !== undefined && read.value !== null) {
    parts.push(h("span", { class: "ocr-tag" }, "OCR"), h("span", { class: "ocr-value" }, read.value || "（空）"));
  }
  if (!blind && typeof read.confidence === "number") {
    const low = read.confidence < threshold;
    parts.push(h("span", { class: `conf${low ? " low" : ""}`, title: "OCR 確信度 (confidence)" },
      `${Math.round(read.confidence * 100)}%`));
  }
  if (!blind && read.unreadable) parts.push(h("span", { class: "flag bad" }, "判読不能 unreadable"));
  if (!blind && read.verify) {
    parts.push(h("span", { class: "flag verify", title: "OCR は信頼できない欄です (the engine is not trusted on this field)" },
      "二重入力 keyed twice"));
  }
  const image = imageRef(read.image);
  if (image) parts.push(image);
  return parts.length ? h("span", { class: "ocr" }, parts) : null;
}

export function problemList(problems) {
  return problems.map((p) => h("div", { class: `problem${isAlert(p) ? " alert" : ""}` },
    h("span", { class: "icon", "aria-hidden": "true" }, "!"), p.message, h("code", {}, p.code)));
}

/** The live reading of a date or My Number box, next to it. */
function liveCheck(spec, control) {
  if (spec.type === "date" || spec.type === "wareki_date") {
    const view = h("span", { class: "chk-live date-view" });
    const update = () => {
      const read = readDate(control.get());
      view.className = "chk-live date-view";
      if (!read) view.textContent = "";
      else if (read.unreadable) {
        view.classList.add("warn");
        view.textContent = "判読不能として送信 (sent as unreadable)";
      } else if (read.error) {
        view.classList.add("bad");
        view.textContent = read.error;
      } else if (read.partial) {
        view.classList.add("warn");
        view.textContent = "不詳・部分的な日付 (partial: checked on submit)";
      } else {
        view.replaceChildren(h("b", { class: "iso" }, read.iso), h("span", { class: "sep" }, "／"), h("b", { class: "jp" }, read.wareki));
      }
    };
    control.input.addEventListener("input", update);
    update();
    view.refresh = update;
    return view;
  }
  if (spec.type === "my_number") {
    const view = h("span", { class: "chk-live mn-view" });
    const update = () => {
      const state = checkMyNumber(control.get());
      view.className = `chk-live mn-view ${state === "ok" ? "ok" : state === "masked" || !state ? "" : "bad"}`;
      view.textContent = {
        ok: "検査用数字 OK (check digit ok)",
        masked: "マスク表示 (masked: kept unless retyped)",
        format: "12桁の数字です (12 digits)",
        check_digit: "検査用数字が合いません (check digit)",
      }[state] || "";
    };
    control.input.addEventListener("input", update);
    update();
    view.refresh = update;
    return view;
  }
  return null;
}

function tags(spec, { required } = {}) {
  const out = [];
  if (required) out.push(h("span", { class: "tag req" }, "必須"));
  if (spec.risk === "high") out.push(h("span", { class: "tag risk", title: "重要項目: 必ず2人で入力 (always double-keyed)" }, "重要"));
  if (spec.source === "staff") out.push(h("span", { class: "tag staff", title: "職員が記入 (filled in by staff)" }, "職員"));
  return out;
}

// ---- one row -----------------------------------------------------------------------------------

function row({ spec, path, labelJa, labelEn, control, aside = [], problems = [], lowConfidence = false, unreadable = false }) {
  const live = liveCheck(spec, control);
  const label = h("label", { class: "lbl", for: control.input.id },
    h("span", { class: "ja" }, labelJa), h("span", { class: "en" }, labelEn),
    h("span", { class: "tags" }, tags(spec, { required: spec.requirement === "required" })));
  const node = h("div", { class: "row", dataset: { path, type: spec.type } },
    label,
    h("div", { class: "ctl" }, control.el),
    h("div", { class: "aside" }, live, aside),
    h("div", { class: "msg" }, problemList(problems)));
  if (problems.length) node.classList.add(problems.every(isAlert) ? "has-alert" : "has-problem");
  if (lowConfidence) node.classList.add("low-conf");
  if (unreadable) node.classList.add("unreadable");
  for (const el of node.querySelectorAll("[data-nav]")) el.dataset.path = path;
  node.live = live;
  return node;
}

function annotate(ctx, path) {
  const read = (ctx.ocr || {})[path];
  const problems = (ctx.problems || []).filter((p) => p.field === path);
  const low = Boolean(read && typeof read.confidence === "number" && read.confidence < ctx.threshold);
  return { read, problems, low, unreadable: Boolean(read && read.unreadable) };
}

// ---- the forms ---------------------------------------------------------------------------------

class FormView {
  constructor(ctx) {
    this.ctx = ctx;
    this.controls = new Map();
    this.rows = new Map();
    this.root = h("div", { class: "form" });
  }

  register(path, control, node) {
    this.controls.set(path, control);
    this.rows.set(path, node);
  }

  navigables() {
    return [...this.root.querySelectorAll("[data-nav]")].filter((el) => !el.disabled && el.offsetParent !== null);
  }

  controlFor(element) {
    const path = element && element.dataset && element.dataset.path;
    return path ? this.controls.get(path) : null;
  }

  /** Show the server's [{field, code, message}] against the rows they name. */
  markErrors(errors) {
    for (const node of this.rows.values()) node.classList.remove("has-error");
    for (const node of this.root.querySelectorAll(".problem.server")) node.remove();
    let first = null;
    for (const error of errors || []) {
      const node = this.rows.get(error.field);
      if (!node) continue;
      node.classList.add("has-error");
      node.querySelector(".msg").append(h("div", { class: "problem server" }, h("span", { class: "icon" }, "!"), error.message, h("code", {}, error.code)));
      first = first || node;
    }
    return first;
  }

  setDisabled(disabled) {
    for (const el of this.root.querySelectorAll("input, select, textarea, button")) {
      if (disabled) {
        if (!el.disabled) el.dataset.lock = "1";
        el.disabled = true;
      } else if (el.dataset.lock) {
        delete el.dataset.lock;
        el.disabled = false;
      }
    }
    this.root.classList.toggle("locked", disabled);
  }
}

/** The whole form, pre-filled (OCR or the first keying), with its repeating groups. */
export class EntryForm extends FormView {
  constructor(ctx, values) {
    super(ctx);
    this.procedure = ctx.catalogue.get(ctx.procedureCode);
    this.groups = new Map();
    const known = new Set(this.procedure.fields.map((f) => f.key));
    // Keys the catalogue does not know are passed through untouched (the server reports them).
    this.extra = Object.fromEntries(Object.entries(values || {}).filter(([k]) => !known.has(k)));
    for (const spec of this.procedure.fields) {
      if (spec.type === "group") this.root.append(this.groupBlock(spec, values ? values[spec.key] : null));
      else this.root.append(this.fieldRow(spec, spec.key, values ? values[spec.key] : undefined, spec.key));
    }
    if (Object.keys(this.extra).length) {
      this.root.append(h("div", { class: "extra" }, bi("フォームにない項目", "Not in this form"),
        h("code", {}, Object.keys(this.extra).join(", "))));
    }
    this.root.addEventListener("input", () => this.refreshConditions());
    this.root.addEventListener("change", () => this.refreshConditions());
    this.refreshConditions();
  }

  fieldRow(spec, path, value, annotationPath) {
    const control = makeControl(spec, value);
    const note = annotationPath ? annotate(this.ctx, annotationPath) : { problems: [] };
    const node = row({
      spec, path, labelJa: spec.label_ja, labelEn: spec.label_en, control,
      aside: [ocrView(note.read, this.ctx.threshold)], problems: note.problems,
      lowConfidence: note.low, unreadable: note.unreadable,
    });
    if (spec.condition) node.dataset.condition = spec.condition;
    this.register(path, control, node);
    return node;
  }

  groupBlock(spec, value) {
    const items = (Array.isArray(value) ? value : []).map((v, i) => ({ values: v || {}, orig: i }));
    if (!items.length && (spec.min_items || 0) > 0) items.push({ values: {}, orig: null });
    const list = h("div", { class: "items" });
    const count = h("span", { class: "count" });
    // Reached with Tab (Enter moves between fields and never adds a row by accident).
    const add = h("button", { type: "button", class: "btn small add", title: "Tab で選んで Enter (Tab to it, then Enter)" },
      "＋ ", bi(`${spec.label_ja}を追加`, `Add ${spec.label_en.toLowerCase()}`));
    const groupProblems = (this.ctx.problems || []).filter((p) => p.field === spec.key);
    const block = h("div", { class: "group", role: "group", "aria-label": spec.label_ja, dataset: { group: spec.key } },
      h("div", { class: "group-title" }, h("span", { class: "ja" }, spec.label_ja), h("span", { class: "en" }, spec.label_en), count),
      h("div", { class: "msg" }, problemList(groupProblems)), list, add);
    const state = { spec, items, list, count, add };
    this.groups.set(spec.key, state);
    add.addEventListener("click", () => {
      this.addItem(spec.key);
    });
    this.renderGroup(state);
    return block;
  }

  renderGroup(state) {
    const { spec, items, list, count } = state;
    for (const path of [...this.controls.keys()]) {
      if (path.startsWith(`${spec.key}[`)) {
        this.controls.delete(path);
        this.rows.delete(path);
      }
    }
    list.replaceChildren(...items.map((item, index) => {
      const remove = h("button", { type: "button", class: "btn tiny remove", tabindex: "-1", title: "この行を削除 (remove)" }, "削除 ✕");
      remove.addEventListener("click", () => this.removeItem(spec.key, index));
      const box = h("div", { class: "item", dataset: { index: String(index) } },
        h("div", { class: "item-head" }, h("span", { class: "item-no" }, `${spec.label_ja} ${index + 1}`),
          h("span", { class: "en" }, `${spec.label_en} ${index + 1}`), remove));
      for (const sub of spec.fields) {
        const path = `${spec.key}[${index}].${sub.key}`;
        const orig = item.orig === null ? null : `${spec.key}[${item.orig}].${sub.key}`;
        box.append(this.fieldRow(sub, path, item.values[sub.key], orig));
      }
      return box;
    }));
    count.textContent = `${items.length}件`;
    state.add.disabled = spec.max_items !== undefined && spec.max_items !== null && items.length >= spec.max_items;
  }

  snapshotGroup(state) {
    state.items = state.items.map((item, index) => ({ values: this.collectLevel(state.spec.fields, `${state.spec.key}[${index}].`, true), orig: item.orig }));
  }

  addItem(key) {
    const state = this.groups.get(key);
    this.snapshotGroup(state);
    state.items.push({ values: {}, orig: null });
    this.renderGroup(state);
    this.refreshConditions();
    const first = state.list.lastElementChild && state.list.lastElementChild.querySelector("[data-nav]");
    if (first) first.focus();
  }

  removeItem(key, index) {
    const state = this.groups.get(key);
    this.snapshotGroup(state);
    state.items.splice(index, 1);
    this.renderGroup(state);
    this.refreshConditions();
  }

  collectLevel(specs, prefix, keepBlank = false) {
    const out = {};
    for (const spec of specs) {
      const path = prefix + spec.key;
      if (spec.type === "group") {
        const state = this.groups.get(spec.key);
        if (!state) continue;
        const items = state.items.map((_item, i) => this.collectLevel(spec.fields, `${spec.key}[${i}].`, keepBlank))
          .filter((item) => keepBlank || Object.keys(item).length);
        if (items.length || keepBlank) out[spec.key] = items;
        continue;
      }
      const control = this.controls.get(path);
      if (!control) continue;
      const value = control.get();
      if (keepBlank || (value !== "" && value !== null && value !== undefined)) out[spec.key] = value;
    }
    return out;
  }

  /** The values to submit: blanks left out, unknown keys passed through. */
  collect() {
    return { ...this.extra, ...this.collectLevel(this.procedure.fields, "") };
  }

  refreshConditions() {
    const top = this.collectLevel(this.procedure.fields.filter((f) => f.type !== "group"), "", true);
    for (const [path, node] of this.rows) {
      const text = node.dataset.condition;
      if (!text) continue;
      const test = condition(text);
      const match = /^(\w+)\[(\d+)\]\./.exec(path);
      let item = {};
      if (match) {
        const state = this.groups.get(match[1]);
        item = this.collectLevel(state.spec.fields.filter((f) => f.type !== "group"), `${match[1]}[${match[2]}].`, true);
      }
      const scope = (key) => (key in item ? item[key] : top[key]);
      const applies = test ? test(scope) : null;
      node.classList.toggle("na", applies === false);
      const tagsBox = node.querySelector(".tags");
      let tag = tagsBox.querySelector(".cond");
      if (!tag) {
        tag = h("span", { class: "tag cond", title: text });
        tagsBox.prepend(tag);
      }
      tag.textContent = applies === true ? "必須" : applies === false ? "該当なし" : "条件";
      tag.classList.toggle("req", applies === true);
    }
  }

  /** After a deliberate reveal: put the real numbers where the masked ones still stand. */
  reveal(values) {
    const filled = [];
    for (const [path, control] of this.controls) {
      const node = this.rows.get(path);
      if (node.dataset.type !== "my_number") continue;
      const real = getPath(values, path);
      if (typeof real === "string" && String(control.get()).startsWith("*")) {
        control.set(real);
        filled.push(path);
        if (node.live) node.live.refresh();
      }
    }
    return filled;
  }

  /** My Numbers still masked: kept as stored when sent back unchanged. */
  maskedPaths() {
    return [...this.controls].filter(([path, c]) => this.rows.get(path).dataset.type === "my_number" && String(c.get()).startsWith("*")).map(([p]) => p);
  }
}

export function getPath(values, path) {
  let node = values;
  for (const part of path.split(".")) {
    const m = /^(.*?)(?:\[(\d+)\])?$/.exec(part);
    node = node && typeof node === "object" ? node[m[1]] : undefined;
    if (m[2] !== undefined) node = Array.isArray(node) ? node[Number(m[2])] : undefined;
    if (node === undefined || node === null) return node;
  }
  return node;
}

/** Blind second keying: only the listed fields, empty, with nothing but their image reference. */
export class VerifyForm extends FormView {
  constructor(ctx, fieldKeys, values = {}) {
    super(ctx);
    for (const path of fieldKeys) {
      const spec = ctx.catalogue.specAt(ctx.procedureCode, path) || { key: path, type: "text", label_ja: path, label_en: path, requirement: "optional" };
      const [ja, en] = ctx.catalogue.labelOf(ctx.procedureCode, path);
      const control = makeControl(spec, values[path]);
      const node = row({
        spec: { ...spec, requirement: "optional" }, path, labelJa: ja, labelEn: en, control,
        aside: [ocrView((ctx.ocr || {})[path], ctx.threshold, { blind: true })],
      });
      this.register(path, control, node);
      this.root.append(node);
    }
  }

  collect() {
    const out = {};
    for (const [path, control] of this.controls) out[path] = control.get() ?? "";
    return out;
  }
}

function shown(spec, value) {
  if (value === null || value === undefined || value === "") return "（空欄 blank）";
  if (typeof value === "object" && ("iso" in value || "written" in value)) {
    return value.iso ? `${value.written}（${value.iso}）` : `${value.written}（日付不明 unreadable date）`;
  }
  if (typeof value === "object") {
    if ("yucho_symbol" in value) return `ゆうちょ ${value.yucho_symbol}-${value.yucho_number}`;
    const type = (ACCOUNT_TYPES.find(([c]) => c === value.account_type) || [null, value.account_type || ""])[1];
    return `${value.bank_code || "?"}-${value.branch_code || "?"} ${type} ${value.account_number || "?"}`;
  }
  if (value === true) return "はい Yes";
  if (value === false) return "いいえ No";
  if (spec && spec.type === "choice") {
    const choice = spec.choices.find((c) => c.code === value);
    if (choice) return `${choice.label_ja} (${choice.label_en})`;
  }
  return String(value);
}

export function displayValue(spec, value) {
  return shown(spec, value);
}

function editableOf(value) {
  if (value && typeof value === "object" && ("written" in value || "iso" in value)) return value.written || value.iso;
  return value;
}

/** A third operator decides a mismatch: both keyings (and OCR) beside an empty box. */
export class SettleForm extends FormView {
  constructor(ctx, fieldKeys, entryValues, verifyValues, values = {}) {
    super(ctx);
    this.entryValues = entryValues || {};
    this.verifyValues = verifyValues || {};
    for (const path of fieldKeys) {
      const spec = ctx.catalogue.specAt(ctx.procedureCode, path) || { key: path, type: "text", label_ja: path, label_en: path, requirement: "optional" };
      const [ja, en] = ctx.catalogue.labelOf(ctx.procedureCode, path);
      const control = makeControl(spec, values[path]);
      const first = h("button", { type: "button", class: "take", tabindex: "-1", title: "F3" },
        h("kbd", {}, "F3"), h("span", { class: "who" }, "1回目 First"), h("span", { class: "val" }, shown(spec, this.entryValues[path])));
      const second = h("button", { type: "button", class: "take", tabindex: "-1", title: "F7" },
        h("kbd", {}, "F7"), h("span", { class: "who" }, "照合 Verify"), h("span", { class: "val" }, shown(spec, this.verifyValues[path])));
      first.addEventListener("click", () => this.take(path, "entry"));
      second.addEventListener("click", () => this.take(path, "verify"));
      const node = row({
        spec: { ...spec, requirement: "optional" }, path, labelJa: ja, labelEn: en, control,
        aside: [h("span", { class: "takes" }, first, second), ocrView((ctx.ocr || {})[path], ctx.threshold)],
      });
      node.classList.add("mismatch");
      this.register(path, control, node);
      this.root.append(node);
    }
  }

  take(path, which) {
    const control = this.controls.get(path);
    if (!control) return;
    const source = which === "entry" ? this.entryValues : this.verifyValues;
    control.set(editableOf(source[path]));
    const node = this.rows.get(path);
    if (node.live) node.live.refresh();
    control.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  collect() {
    const out = {};
    for (const [path, control] of this.controls) out[path] = control.get() ?? "";
    return out;
  }
}
