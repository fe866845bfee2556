// The operator's and reviewer's desk: claim (F2), key, submit (F9 / Ctrl+Enter), release (F8).
// The lease counts down on screen and is extended by heartbeats only while the operator works;
// a lost lease locks the form, keeps what was typed in localStorage (by task id) for the next
// claim of the same task, and sends nothing. Keying sends nothing per field: claim, then submit.
// Drafts never hold a My Number (a keyed one is left out; the masked form stays), and signing
// out removes them all.

import { api, ApiError, bi, dateTimeText, duration, errorText, h, KIND, STATUS, setText, tokyoToday } from "./api.js";
import { EntryForm, getPath, isAlert, SettleForm, UNREADABLE, VerifyForm } from "./form.js";
import { applicantBlock, historyBlock, ReviewView } from "./review.js";

const DRAFT_PREFIX = "madoguchi.console.draft.";
const DRAFT_TTL_MS = 24 * 3600 * 1000;
const $ = (id) => document.getElementById(id);

const OUTCOME = {
  keyed: ["入力を送信しました", "entry sent"],
  matched: ["照合一致", "verification matched"],
  mismatched: ["照合不一致: 確定作業へ回りました", "mismatch: sent to settling"],
  settled: ["確定しました", "settled"],
  approve: ["承認しました", "approved"],
  return: ["差し戻しました", "returned for correction"],
  correct: ["訂正しました: 照合へ回りました", "corrected: sent to verification"],
  reject: ["却下しました", "rejected"],
};

function setPath(values, path, value) {
  const parts = path.split(".");
  let node = values;
  parts.forEach((part, i) => {
    const m = /^(.*?)(?:\[(\d+)\])?$/.exec(part);
    const last = i === parts.length - 1;
    if (m[2] === undefined) {
      if (last) node[m[1]] = value;
      else node = node[m[1]];
    } else if (last) node[m[1]][Number(m[2])] = value;
    else node = node[m[1]][Number(m[2])];
  });
}

/** Remove every draft kept on this terminal (sign-out). */
export function clearDrafts() {
  for (let i = localStorage.length - 1; i >= 0; i -= 1) {
    const key = localStorage.key(i);
    if (key && key.startsWith(DRAFT_PREFIX)) localStorage.removeItem(key);
  }
}

export function purgeOldDrafts() {
  const now = Date.now();
  for (let i = localStorage.length - 1; i >= 0; i -= 1) {
    const key = localStorage.key(i);
    if (!key || !key.startsWith(DRAFT_PREFIX)) continue;
    try {
      const draft = JSON.parse(localStorage.getItem(key));
      if (!draft || now - draft.saved_at > DRAFT_TTL_MS) localStorage.removeItem(key);
    } catch {
      localStorage.removeItem(key);
    }
  }
}

export class Desk {
  constructor({ me, catalogue, say }) {
    this.me = me;
    this.catalogue = catalogue;
    this.say = say;
    this.state = "idle"; // idle | claiming | working | sending | lost
    this.task = null;
    this.view = null;
    this.lease = null;
    this.lastActivity = 0;
    this.composing = false;
    this.pendingRelease = 0;
    this.pendingDecision = null;
    this.revealed = new Map();
    this.draftTimer = 0;
    this.beatEvery = Math.min(60, Math.max(1, me.lease_s / 3)) * 1000;
    this.isReviewer = me.role === "reviewer";
    this.buildFilters();
    $("claim").addEventListener("click", () => this.claim());
    $("submit").addEventListener("click", () => this.submit());
    $("submit-problems").addEventListener("click", () => this.submitWithProblems());
    $("release").addEventListener("click", () => this.release(true));
    $("unreadable").addEventListener("click", () => this.unreadable());
    $("reveal").addEventListener("click", () => this.askReveal());
    $("approve").addEventListener("click", () => this.decide("approve"));
    $("return").addEventListener("click", () => this.decide("return"));
    $("reject").addEventListener("click", () => this.decide("reject"));
    $("correct").addEventListener("click", () => this.correct());
    $("withdraw").addEventListener("click", () => this.withdraw());
    $("lost-claim").addEventListener("click", () => this.claim());
    $("reason").addEventListener("input", () => this.scheduleDraft());
    window.addEventListener("beforeunload", (event) => {
      if (this.state !== "working") return;
      this.saveDraft();
      event.preventDefault(); // the browser asks before a task in progress is left
    });
    $("reveal").hidden = !me.may_reveal_my_number;
    $("reveal-ok").addEventListener("click", () => {
      $("reveal-dialog").close("ok");
      this.reveal();
    });
    $("reveal-cancel").addEventListener("click", () => $("reveal-dialog").close(""));
    document.body.dataset.reveal = me.may_reveal_my_number ? "1" : "0";
    for (const type of ["keydown", "input", "pointerdown"]) {
      document.addEventListener(type, () => { this.lastActivity = Date.now(); }, true);
    }
    // A click places the caret; arriving by keyboard selects the box's text so typing replaces it.
    document.addEventListener("pointerdown", () => { this.byPointer = true; }, true);
    document.addEventListener("keydown", () => { this.byPointer = false; }, true);
    document.addEventListener("compositionstart", () => { this.composing = true; }, true);
    document.addEventListener("compositionend", () => { this.composing = false; }, true);
    document.addEventListener("keydown", (event) => this.onKey(event), true);
    document.addEventListener("focusin", (event) => this.onFocus(event));
    setInterval(() => this.tick(), 250);
    this.showIdle();
  }

  // ---- screens ------------------------------------------------------------------------------

  buildFilters() {
    const box = $("kinds");
    if (this.isReviewer) {
      box.replaceChildren(bi("審査の作業を取得します", "Claims review tasks"));
      return;
    }
    box.replaceChildren(h("span", { class: "lbl" }, bi("取得する作業", "Claim")),
      ...["entry", "verify", "settle"].map((kind) => h("label", { class: "chk" },
        h("input", { type: "checkbox", value: kind, checked: true, tabindex: "-1" }), bi(...KIND[kind]))));
  }

  showIdle(message = null, kind = "info") {
    this.state = "idle";
    this.task = null;
    this.view = null;
    this.lease = null;
    document.body.dataset.mode = "idle";
    this.unlock();
    $("lost").hidden = true;
    $("task").hidden = true;
    $("idle").hidden = false;
    this.renderLease();
    if (message) this.say(message, kind);
    $("claim").focus();
  }

  kinds() {
    if (this.isReviewer) return null;
    const chosen = [...$("kinds").querySelectorAll("input:checked")].map((i) => i.value);
    return chosen.length === 3 ? null : chosen;
  }

  // ---- claim --------------------------------------------------------------------------------

  async claim() {
    if (this.state === "claiming" || this.state === "sending") return;
    if (this.state === "working") {
      this.say("作業中です。送信（F9）か返却（F8）してください (finish or release the current task first)", "warn");
      return;
    }
    const kinds = this.kinds();
    if (kinds && !kinds.length) {
      this.say("取得する作業の種類を選んでください (choose at least one kind)", "warn");
      return;
    }
    this.state = "claiming";
    $("claim").disabled = true;
    const started = Date.now();
    try {
      const task = await api("/work/claim", { method: "POST", body: kinds ? { kinds } : {} });
      if (!task) {
        this.showIdle("現在、取得できる作業はありません (nothing to do right now)", "info");
        return;
      }
      await this.open(task, started);
    } catch (error) {
      this.showIdle(errorText(error), "error");
    } finally {
      $("claim").disabled = false;
    }
  }

  async open(task, started) {
    this.task = task;
    this.lease = { expires: started + this.me.lease_s * 1000, lastBeat: started, beating: false };
    this.revealed = new Map();
    this.pendingDecision = null;
    this.pendingWithdraw = 0;
    this.markDecision();
    this.unlock();
    this.correcting = false;
    delete document.body.dataset.correcting;
    setText($("correct-label"), "訂正");
    setText($("correct-label-en"), "Correct");
    $("submit-problems").hidden = true;
    this.state = "working";
    document.body.dataset.mode = task.kind;
    const ctx = {
      catalogue: this.catalogue, procedureCode: task.procedure, threshold: this.me.confidence_threshold,
      ocr: task.form.ocr || {}, problems: task.form.problems || [],
    };
    const draft = this.loadDraft();
    const saved = draft ? draft.values : null;
    if (task.kind === "entry") this.view = new EntryForm(ctx, saved || task.form.values);
    else if (task.kind === "verify") this.view = new VerifyForm(ctx, task.field_keys, saved || {});
    else if (task.kind === "settle") this.view = new SettleForm(ctx, task.field_keys, task.form.entry_values, task.form.verify_values, saved || {});
    else this.view = new ReviewView(ctx, task.form);
    this.renderTaskbar();
    this.renderSide(null);
    $("form-host").replaceChildren(this.view.root);
    $("form-host").scrollTop = 0;
    $("lost").hidden = true;
    $("banner").hidden = true;
    $("idle").hidden = true;
    $("task").hidden = false;
    $("reason").value = task.kind === "review" && draft ? draft.reason || "" : "";
    this.say(null);
    this.view.root.addEventListener("input", () => this.scheduleDraft());
    this.view.root.addEventListener("change", () => this.scheduleDraft());
    if (draft) {
      this.banner(`前回の入力を復元しました（${dateTimeText(draft.saved_at)} 保存）。内容を確認して送信してください。`,
        "Restored what you typed before the lease was lost; check it and submit.", "info");
    } else if (task.kind === "verify") {
      this.banner("ブラインド照合: 1回目の入力値とOCR結果は表示しません。用紙（画像）から入力してください。",
        "Blind verification: the first keying and the OCR text are hidden. Key from the paper or image.", "blind");
    } else if (task.kind === "settle") {
      this.banner("照合不一致: 2つの入力を見比べ、正しい値を入力してください（F3: 1回目を採用 / F7: 照合を採用）。",
        "Mismatch: compare both keyings and key the right value (F3 first keying, F7 verification).", "warn");
    } else if (task.note) {
      this.banner(`差戻し理由: ${task.note}`, "Returned for correction: see the reason.", "warn");
    }
    this.renderLease();
    if (task.kind === "review") {
      this.loadApplication();
      $("approve").focus();
    } else {
      const first = this.view.navigables()[0];
      if (first) first.focus();
    }
  }

  async loadApplication() {
    const task = this.task;
    try {
      const application = await api(`/applications/${encodeURIComponent(task.application_id)}`);
      if (this.task === task) this.renderSide(application);
    } catch (error) {
      if (this.task === task) this.say(errorText(error), "error");
    }
  }

  renderTaskbar() {
    const task = this.task;
    const [kindJa, kindEn] = KIND[task.kind] || [task.kind, ""];
    $("task-kind").dataset.kind = task.kind;
    setText($("task-kind-ja"), kindJa);
    setText($("task-kind-en"), kindEn);
    setText($("task-procedure-ja"), task.procedure_name_ja);
    setText($("task-procedure-en"), task.procedure_name_en);
    setText($("task-app"), task.application_id.slice(0, 8));
    $("task-app").title = task.application_id;
    const due = $("task-due");
    const today = tokyoToday();
    due.dataset.state = !task.due_on ? "" : task.due_on < today ? "overdue" : task.due_on === today ? "today" : "";
    setText($("task-due-date"), task.due_on || "—");
    setText($("task-due-flag"), due.dataset.state === "overdue" ? "期限超過 overdue" : due.dataset.state === "today" ? "本日期限 due today" : "");
    const count = this.view && this.view.controls ? this.view.controls.size : 0;
    setText($("task-fields"), task.kind === "review" ? "" : `${count}項目 fields`);
  }

  renderSide(application) {
    const task = this.task;
    const side = $("side");
    const parts = [];
    if (task.kind === "entry" || task.kind === "review") {
      parts.push(h("section", {}, h("h3", {}, bi("申請者", "Applicant")), applicantBlock(task.form.applicant)));
      const problems = task.form.problems || [];
      const errors = problems.filter((p) => !isAlert(p)).length;
      const warnings = problems.length - errors;
      const acknowledging = task.kind === "review" && warnings > 0;
      parts.push(h("section", { id: "problems" }, h("h3", {}, bi("検証結果", "Validator"),
        h("span", { class: `pill ${errors ? "bad" : problems.length ? "warn" : "ok"}`, title: "要修正 / 要確認 (errors / alerts)" }, `${errors} / ${warnings}`)),
        task.kind === "review" && errors
          ? h("p", { class: "open-errors" }, "未解決の問題があるため承認できません。差戻し（F3）してください",
            h("span", { class: "en" }, " Open problems: approval is refused; return it (F3)"))
          : null,
        acknowledging
          ? h("label", { class: "ack-all" }, h("input", { type: "checkbox", id: "ack-all" }),
            bi(`警告${warnings}件をすべて確認しました`, `I have checked all ${warnings} warnings`))
          : null,
        problems.length ? h("ul", { class: "plist" }, problems.map((p) => {
          const [ja] = this.catalogue.labelOf(task.procedure, p.field);
          const ack = acknowledging && isAlert(p)
            ? h("input", { type: "checkbox", class: "ack", tabindex: "-1", title: "確認 (acknowledge)", "aria-label": `${ja}: 確認 (acknowledge)`, dataset: { field: p.field, code: p.code } })
            : null;
          const item = h("li", { tabindex: "-1", class: isAlert(p) ? "alert" : "", dataset: { path: p.field, level: isAlert(p) ? "warning" : "error" } },
            h("b", {}, ack, ja), h("span", {}, p.message));
          item.addEventListener("click", (event) => { if (event.target !== ack) this.focusPath(p.field); });
          return item;
        })) : h("p", { class: "muted" }, "問題はありません (no problems)")));
      const attachments = task.form.attachments || [];
      if (attachments.length) {
        parts.push(h("section", {}, h("h3", {}, bi("添付", "Attachments")),
          h("ul", { class: "alist" }, attachments.map((a) => h("li", {}, a.name, h("span", { class: "muted" }, ` ${a.media_type}`))))));
      }
    }
    if (task.kind === "verify" || task.kind === "settle") {
      parts.push(h("section", {}, h("h3", {}, bi("この作業", "This task")),
        h("p", {}, `${task.field_keys.length}項目を入力します`, h("span", { class: "en" }, ` ${task.field_keys.length} fields to key`)),
        task.kind === "verify" ? h("p", { class: "blind-note" }, "1回目の入力・OCRは非表示 (first keying and OCR hidden)") : null));
    }
    if (task.kind === "review") {
      parts.push(h("section", {}, h("h3", {}, bi("履歴", "History")),
        application ? historyBlock(application.history) : h("p", { class: "muted" }, "読込中… (loading)")));
      if (application && application.return_reason) {
        parts.push(h("section", {}, h("h3", {}, bi("前回の差戻し理由", "Last return reason")), h("p", {}, application.return_reason)));
      }
    }
    parts.push(h("section", { class: "current-image" }, h("h3", {}, bi("記入欄の画像", "Field image")), h("div", { id: "image-view", class: "image-view" },
      h("span", { class: "muted" }, "項目を選ぶと表示します (select a field)"))));
    side.replaceChildren(...parts);
    const all = $("ack-all");
    if (all) {
      const boxes = () => [...side.querySelectorAll("input.ack")];
      all.addEventListener("change", () => { for (const box of boxes()) box.checked = all.checked; });
      for (const box of boxes()) box.addEventListener("change", () => { all.checked = boxes().every((b) => b.checked); });
    }
  }

  /** The warnings the reviewer ticked, by field and code (the approval names each one). */
  acknowledged() {
    return [...$("side").querySelectorAll("input.ack:checked")].map((box) => ({ field: box.dataset.field, code: box.dataset.code }));
  }

  unacknowledged() {
    return [...$("side").querySelectorAll("input.ack:not(:checked)")];
  }

  banner(ja, en, kind) {
    const box = $("banner");
    box.hidden = false;
    box.dataset.kind = kind;
    box.replaceChildren(h("span", { class: "ja" }, ja), h("span", { class: "en" }, en));
  }

  focusPath(path) {
    const el = this.view && this.view.root.querySelector(`[data-nav][data-path="${CSS.escape(path)}"]`);
    if (el) el.focus();
  }

  onFocus(event) {
    const target = event.target;
    if (!this.view || !this.view.root.contains(target)) return;
    for (const node of this.view.root.querySelectorAll(".row.current")) node.classList.remove("current");
    const rowNode = target.closest(".row");
    if (rowNode) {
      rowNode.classList.add("current");
      rowNode.scrollIntoView({ block: "nearest" });
      const image = rowNode.querySelector(".crop, .crop-ref");
      const view = $("image-view");
      if (view) view.replaceChildren(image ? image.cloneNode(true) : h("span", { class: "muted" }, "画像なし (no image)"));
    }
    if (target.tagName === "INPUT" && target.type === "text" && !this.byPointer) target.select();
  }

  // ---- lease --------------------------------------------------------------------------------

  tick() {
    if (!this.lease) return;
    const now = Date.now();
    if (this.state === "working" || this.state === "sending") {
      const remaining = this.lease.expires - now;
      if (remaining <= 0 && this.state === "working") {
        this.lose("expired");
        return;
      }
      const worked = this.lastActivity > this.lease.lastBeat;
      const due = now - this.lease.lastBeat >= this.beatEvery || remaining < (this.me.lease_s * 1000) / 4;
      if (this.state === "working" && worked && due && !this.lease.beating) this.heartbeat();
    }
    this.renderLease();
  }

  async heartbeat() {
    const task = this.task;
    const lease = this.lease;
    lease.beating = true;
    const started = Date.now();
    try {
      await api(`/work/${encodeURIComponent(task.id)}/heartbeat`, { method: "POST", body: { lease_token: task.lease_token } });
      if (this.lease === lease) {
        lease.expires = started + this.me.lease_s * 1000;
        lease.lastBeat = started;
      }
    } catch (error) {
      if (this.task === task && error instanceof ApiError && (error.status === 409 || error.status === 404)) this.lose("stale");
      else if (this.lease === lease) lease.lastBeat = started; // network trouble: try again next interval
    } finally {
      lease.beating = false;
    }
  }

  renderLease() {
    const box = $("lease");
    if (!this.lease) {
      box.dataset.state = "none";
      setText($("lease-time"), "--:--");
      return;
    }
    if (this.state === "lost") {
      box.dataset.state = "lost";
      setText($("lease-time"), "失効");
      return;
    }
    const remaining = (this.lease.expires - Date.now()) / 1000;
    box.dataset.state = remaining < 20 ? "danger" : remaining < 60 ? "warn" : "ok";
    setText($("lease-time"), duration(Math.ceil(remaining)));
  }

  lose(reason) {
    if (this.state === "lost") return;
    this.saveDraft();
    this.state = "lost";
    document.body.dataset.lost = "1";
    if (this.view && this.view.setDisabled) this.view.setDisabled(true);
    for (const id of ["submit", "submit-problems", "release", "unreadable", "reveal", "approve", "return", "reject", "correct", "withdraw"]) $(id).disabled = true;
    $("reason").disabled = true;
    const lost = $("lost");
    lost.hidden = false;
    setText($("lost-why"), reason === "expired"
      ? "リース時間が切れました (the lease ran out)"
      : "この作業は他の人に渡されたか、監督者が解放しました (the task was released or taken over)");
    this.renderLease();
    $("lost-claim").focus();
  }

  unlock() {
    delete document.body.dataset.lost;
    for (const id of ["submit", "submit-problems", "release", "unreadable", "reveal", "approve", "return", "reject", "correct", "withdraw"]) $(id).disabled = false;
    $("reason").disabled = false;
  }

  /** Sign-out: give back the task in hand and keep no draft of it. */
  async leave() {
    clearTimeout(this.draftTimer);
    const task = this.task;
    this.state = "signed-out";
    if (task && task.lease_token) {
      try {
        await api(`/work/${encodeURIComponent(task.id)}/release`, { method: "POST", body: { lease_token: task.lease_token } });
      } catch {
        /* lost already: the lease runs out by itself */
      }
    }
  }

  // ---- drafts (localStorage, by operator and task) ------------------------------------------

  draftKey(taskId = this.task && this.task.id) {
    return `${DRAFT_PREFIX}${this.me.person_id}.${taskId}`;
  }

  scheduleDraft() {
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.saveDraft(), 200);
  }

  saveDraft() {
    clearTimeout(this.draftTimer);
    if (!this.task || !this.view || (this.state !== "working" && this.state !== "sending")) return;
    const draft = { task_id: this.task.id, kind: this.task.kind, saved_at: Date.now() };
    if (this.task.kind === "review") draft.reason = $("reason").value;
    else {
      draft.values = this.view.collect();
      // A number shown by a deliberate reveal is not written to the terminal's storage.
      for (const [path, { real, masked }] of this.revealed) {
        if (getPath(draft.values, path) === real) setPath(draft.values, path, masked);
      }
      this.withoutMyNumbers(draft.values);
    }
    try {
      localStorage.setItem(this.draftKey(), JSON.stringify(draft));
    } catch {
      /* storage full or disabled: nothing more to do */
    }
  }

  /** A keyed My Number never reaches the terminal's storage: the masked one the form came with, or blank. */
  withoutMyNumbers(values) {
    const original = (this.task.form && this.task.form.values) || {};
    for (const [path, node] of this.view.rows) {
      if (node.dataset.type !== "my_number") continue;
      const given = getPath(original, path);
      const safe = typeof given === "string" && given.startsWith("*") ? given : "";
      if (Object.prototype.hasOwnProperty.call(values, path)) values[path] = safe; // by path (verify, settle)
      else {
        try {
          if (getPath(values, path) !== undefined) setPath(values, path, safe);
        } catch {
          /* the draft has no such member: nothing to strip */
        }
      }
    }
  }

  loadDraft() {
    try {
      const draft = JSON.parse(localStorage.getItem(this.draftKey()) || "null");
      if (draft && draft.kind === this.task.kind && Date.now() - draft.saved_at < DRAFT_TTL_MS) return draft;
    } catch {
      /* unreadable draft: ignore */
    }
    return null;
  }

  clearDraft(taskId) {
    localStorage.removeItem(this.draftKey(taskId));
  }

  // ---- actions ------------------------------------------------------------------------------

  async submit(body = null) {
    if (this.state === "lost") {
      this.say("リースが失効しているため送信しません。F2 で取得し直してください (lease lost: nothing sent; claim again)", "error");
      return;
    }
    if (this.state !== "working" || !this.task) return;
    if (Date.now() >= this.lease.expires) {
      this.lose("expired");
      return;
    }
    const task = this.task;
    const payload = body || { values: this.view.collect() };
    this.saveDraft();
    this.state = "sending";
    document.body.dataset.sending = "1";
    try {
      const result = await api(`/work/${encodeURIComponent(task.id)}/submit`, {
        method: "POST", body: { lease_token: task.lease_token, ...payload },
      });
      this.clearDraft(task.id);
      const [ja, en] = OUTCOME[result.outcome] || [result.outcome, ""];
      const [statusJa] = STATUS[result.application_status] || [result.application_status];
      this.recordLast(task, `${ja}（${statusJa}）`, en);
      this.showIdle(`${ja} — ${task.procedure_name_ja} ${task.application_id.slice(0, 8)} → ${statusJa} (${en})`, "ok");
    } catch (error) {
      this.state = "working";
      if (error instanceof ApiError && error.code === "stale_lease") {
        this.lose("stale");
      } else if (error instanceof ApiError && error.status === 422) {
        const first = this.view.markErrors ? this.view.markErrors(error.errors) : null;
        if (error.code === "problems_found") {
          // The operator decides: correct the fields, or send them on as they are (recorded).
          $("submit-problems").hidden = false;
          this.say(`${errorText(error)} — 直すか「問題ありで送信」（Shift+F9） / correct them or submit with problems (Shift+F9)`, "error");
        } else {
          this.say(`${errorText(error)}`, "error");
        }
        if (first) {
          const target = first.querySelector("[data-nav]");
          if (target) target.focus();
        }
        if (error.errors.some((e) => e.field === "reason")) $("reason").focus();
      } else {
        this.say(`送信できませんでした: ${errorText(error)} (not sent; try again)`, "error");
      }
    } finally {
      delete document.body.dataset.sending;
    }
  }

  submitWithProblems() {
    if ($("submit-problems").hidden || !this.view || !this.task) return;
    if (this.task.kind === "review") {
      if (this.correcting) this.sendCorrection(true);
      return;
    }
    this.submit({ values: this.view.collect(), submit_with_problems: true });
  }

  // ---- the reviewer's correction and withdrawal -------------------------------------------------

  /** F4 in review: edit the values in the entry form; F4 (or F9) again sends the correction. */
  correct() {
    if (this.state !== "working" || !this.task || this.task.kind !== "review") return;
    if (this.correcting) {
      this.sendCorrection(false);
      return;
    }
    const task = this.task;
    this.correcting = true;
    this.pendingDecision = null;
    this.markDecision();
    document.body.dataset.correcting = "1";
    const ctx = {
      catalogue: this.catalogue, procedureCode: task.procedure, threshold: this.me.confidence_threshold,
      ocr: task.form.ocr || {}, problems: task.form.problems || [],
    };
    this.view = new EntryForm(ctx, task.form.values || {});
    $("form-host").replaceChildren(this.view.root);
    $("form-host").scrollTop = 0;
    setText($("correct-label"), "訂正を送信");
    setText($("correct-label-en"), "Send correction");
    this.banner("訂正: 値を直し、理由を入力して F4（または F9）で送信します。変更した項目は別の担当者が照合します。",
      "Correction: change the values, give a reason, then F4 (or F9) sends it; another person verifies the changed fields.", "warn");
    const first = this.view.navigables()[0];
    if (first) first.focus();
  }

  /** The fields whose value differs from what the reviewer was given, by path. */
  changedValues() {
    const original = (this.task.form && this.task.form.values) || {};
    const same = (a, b) => {
      const norm = (v) => (v === undefined || v === null || v === "" ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
      return norm(a) === norm(b);
    };
    const out = {};
    for (const [path, control] of this.view.controls) {
      const value = control.get();
      if (!same(value, getPath(original, path))) out[path] = value;
    }
    return out;
  }

  sendCorrection(withProblems) {
    if (!this.correcting) return;
    const reason = $("reason").value.trim();
    if (!reason) {
      this.say("訂正の理由を入力してください (give the reason for the correction)", "warn");
      $("reason").focus();
      return;
    }
    const values = this.changedValues();
    if (!Object.keys(values).length) {
      this.say("訂正された項目がありません (nothing was changed)", "warn");
      return;
    }
    const body = { decision: "correct", reason, values };
    if (withProblems) body.submit_with_problems = true;
    this.submit(body);
  }

  /** Shift+F7 in review: 取下げ with the reason typed, asked once (the application ends). */
  async withdraw() {
    if (this.state !== "working" || !this.task || this.task.kind !== "review") return;
    const reason = $("reason").value.trim();
    if (!reason) {
      this.say("取下げの理由を入力してください (give the reason for the withdrawal)", "warn");
      $("reason").focus();
      return;
    }
    const now = Date.now();
    if (now - this.pendingWithdraw > 5000) {
      this.pendingWithdraw = now;
      this.say("もう一度 Shift+F7 を押すと申請を取り下げます（作業は取り消されます） / Press Shift+F7 again to withdraw the application (its work is cancelled)", "warn");
      $("withdraw").focus();
      return;
    }
    this.pendingWithdraw = 0;
    const task = this.task;
    this.state = "sending";
    try {
      const done = await api(`/applications/${encodeURIComponent(task.application_id)}/withdraw`, { method: "POST", body: { reason } });
      this.clearDraft(task.id);
      const [statusJa] = STATUS[done.status] || [done.status];
      this.recordLast(task, `取下げ（${statusJa}）`, "withdrawn");
      this.showIdle(`取下げ — ${task.procedure_name_ja} ${task.application_id.slice(0, 8)} → ${statusJa} (withdrawn; logged)`, "ok");
    } catch (error) {
      this.state = "working";
      this.say(errorText(error), "error");
    }
  }

  recordLast(task, ja, en) {
    const list = $("last-list");
    list.prepend(h("li", {}, h("span", { class: "num when" }, dateTimeText(new Date())), h("span", { class: "kind", dataset: { kind: task.kind } }, KIND[task.kind][0]),
      h("span", {}, task.procedure_name_ja), h("code", {}, task.application_id.slice(0, 8)), h("span", {}, ja), h("span", { class: "en" }, en)));
    while (list.children.length > 8) list.lastChild.remove();
  }

  async release(confirmed = false) {
    if (this.state !== "working" || !this.task) return;
    const now = Date.now();
    if (!confirmed && now - this.pendingRelease > 3000) {
      this.pendingRelease = now;
      this.say("もう一度 F8 を押すと作業を戻します（入力内容は破棄） / Press F8 again to give the task back (typing is discarded)", "warn");
      return;
    }
    this.pendingRelease = 0;
    const task = this.task;
    this.state = "sending";
    try {
      await api(`/work/${encodeURIComponent(task.id)}/release`, { method: "POST", body: { lease_token: task.lease_token } });
      this.clearDraft(task.id);
      this.showIdle("作業を戻しました (task given back)", "info");
    } catch (error) {
      this.state = "working";
      if (error instanceof ApiError && error.code === "stale_lease") this.lose("stale");
      else this.say(errorText(error), "error");
    }
  }

  unreadable() {
    if (this.state !== "working" || !this.view || !this.view.controlFor) return;
    const target = document.activeElement;
    const control = this.view.controlFor(target);
    if (!control) {
      this.say("判読不能にする項目を選んでください (focus a field first)", "warn");
      return;
    }
    control.unreadable(target);
    const rowNode = target.closest(".row");
    if (rowNode) rowNode.classList.toggle("marked-unreadable", String(control.get()).includes(UNREADABLE) || JSON.stringify(control.get() || "").includes(UNREADABLE));
    target.dispatchEvent(new Event("input", { bubbles: true }));
    this.next(target);
  }

  askReveal() {
    if (this.state !== "working" || !this.task) return;
    if (!this.me.may_reveal_my_number) {
      this.say("個人番号を表示する権限がありません (not allowed to reveal My Numbers)", "error");
      return;
    }
    if (this.task.kind !== "entry" && this.task.kind !== "review") {
      this.say("この作業では個人番号を表示できません (not available in blind keying)", "warn");
      return;
    }
    const dialog = $("reveal-dialog");
    dialog.returnValue = "";
    dialog.showModal();
    $("reveal-ok").focus();
  }

  async reveal() {
    const task = this.task;
    try {
      const application = await api(`/applications/${encodeURIComponent(task.application_id)}?reveal_my_number=true`);
      if (this.task !== task) return;
      if (this.view.reveal) {
        const before = task.kind === "entry" ? this.view.collect() : {};
        for (const path of this.view.reveal(application.values || {}) || []) {
          this.revealed.set(path, { real: getPath(application.values, path), masked: getPath(before, path) });
        }
      }
      $("reveal-state").hidden = false;
      this.say("個人番号を表示しました。この表示は記録されています (My Numbers shown; this is logged)", "warn");
    } catch (error) {
      this.say(errorText(error), "error");
    }
  }

  decide(decision) {
    if (this.state !== "working" || !this.task || this.task.kind !== "review") return;
    const reason = $("reason").value.trim();
    if (decision !== "approve" && !reason) {
      this.pendingDecision = decision;
      this.markDecision();
      this.say("理由を入力し、Ctrl+Enter で確定してください (enter a reason, then Ctrl+Enter)", "warn");
      $("reason").focus();
      return;
    }
    if (decision === "approve") {
      const missing = this.unacknowledged();
      if (missing.length) {
        this.pendingDecision = null;
        this.markDecision();
        this.say(`警告${missing.length}件を確認し、チェックしてから承認してください (acknowledge each warning before approving)`, "warn");
        ($("ack-all") || missing[0]).focus();
        return;
      }
    }
    if (this.pendingDecision !== decision) {
      this.pendingDecision = decision;
      this.markDecision();
      const label = { approve: "承認 (approve)", return: "差戻し (return)", reject: "却下 (reject)" }[decision];
      this.say(`${label}: Enter または Ctrl+Enter で確定 / Esc で取消 (Enter to confirm, Esc to cancel)`, "warn");
      $(decision).focus();
      return;
    }
    this.submit(this.decisionBody(decision, reason));
  }

  decisionBody(decision, reason) {
    const body = { decision, reason: reason || null };
    if (decision === "approve") body.acknowledge = this.acknowledged();
    return body;
  }

  markDecision() {
    for (const id of ["approve", "return", "reject"]) $(id).classList.toggle("armed", this.pendingDecision === id);
  }

  // ---- keys ---------------------------------------------------------------------------------

  next(from, step = 1) {
    const list = this.view ? this.view.navigables() : [];
    const index = list.indexOf(from);
    const target = list[index + step];
    if (target) target.focus();
    else if (step > 0) (this.task && this.task.kind === "review" ? $(this.correcting ? "correct" : "approve") : $("submit")).focus();
  }

  onKey(event) {
    // Never act on a keystroke that belongs to the IME (Japanese input being composed).
    if (event.isComposing || event.keyCode === 229 || this.composing) return;
    if (document.querySelector("dialog[open]")) return;
    if (document.body.dataset.view !== "desk") return;
    const { key } = event;
    const plain = !event.ctrlKey && !event.altKey && !event.metaKey;
    const act = (fn) => {
      event.preventDefault();
      event.stopPropagation();
      fn();
    };
    if (key === "F2") return act(() => this.claim());
    if (key === "Escape" && this.pendingDecision) {
      return act(() => {
        this.pendingDecision = null;
        this.markDecision();
        this.say(null);
      });
    }
    if (this.state !== "working" && this.state !== "lost") return;
    const review = this.task && this.task.kind === "review";
    if (key === "F9" && event.shiftKey && (!review || this.correcting)) return act(() => this.submitWithProblems());
    if (review && key === "F4") return act(() => this.correct());
    if (review && key === "F7" && event.shiftKey) return act(() => this.withdraw());
    if (review && this.correcting && ((key === "Enter" && event.ctrlKey) || key === "F9")) return act(() => this.sendCorrection(false));
    if ((key === "Enter" && event.ctrlKey) || key === "F9") {
      if (review) {
        const decision = key === "F9" ? "approve" : this.pendingDecision || "approve";
        return act(() => {
          if (key === "Enter" && this.pendingDecision === decision) this.submit(this.decisionBody(decision, $("reason").value.trim()));
          else this.decide(decision);
        });
      }
      return act(() => this.submit());
    }
    if (key === "F8") return act(() => this.release());
    if (key === "F6") return act(() => this.askReveal());
    if (review && !this.correcting && (key === "F3" || key === "F7")) return act(() => this.decide(key === "F3" ? "return" : "reject"));
    if (!review && key === "F4") return act(() => this.unreadable());
    if (this.task && this.task.kind === "settle" && (key === "F3" || key === "F7")) {
      return act(() => {
        const target = document.activeElement;
        const path = target && target.dataset && target.dataset.path;
        if (path) {
          this.view.take(path, key === "F3" ? "entry" : "verify");
          target.focus();
          if (target.select) target.select();
        }
      });
    }
    const target = event.target;
    if (key === "Enter" && plain && review && this.pendingDecision && target.id === this.pendingDecision) {
      return act(() => this.decide(this.pendingDecision));
    }
    if (key === "Enter" && plain && this.view && this.view.root.contains(target) && target.matches("[data-nav]")) {
      return act(() => this.next(target, event.shiftKey ? -1 : 1));
    }
  }
}
