// The supervisor's board: depth, oldest, due today and overdue per procedure and step, throughput,
// who holds what (with a release for stuck work), operators' qualifications and the access log.
// /work/stats is polled every few seconds. Withdrawal (取下げ) and reopening an approved
// application for correction, by application id. The vendor's 管理責任者 gets the same board with
// the vendor's side only: the returned vendor-keyed work to dispatch, and the vendor's operators'
// qualifications (the city's supervisor sees those, but does not direct them: 偽装請負).

import { api, bi, dateTimeText, duration, errorText, h, KIND, ROLE, setText, STATUS, timeText } from "./api.js";

const POLL_MS = 4000;
const STEPS = ["entry", "verify", "settle", "review"];
const $ = (id) => document.getElementById(id);

export class Board {
  constructor({ me, catalogue, say }) {
    this.me = me;
    this.catalogue = catalogue;
    this.say = say;
    this.cursor = null;
    this.timer = 0;
    this.manager = me.role === "vendor_manager";
    this.loadOperators();
    if (this.manager) {
      this.loadVendorQueue();
      return;
    }
    $("log-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.loadLog(true);
    });
    $("log-more").addEventListener("click", () => this.loadLog(false));
    $("case-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.decideCase(event.submitter ? event.submitter.value : "withdraw");
    });
    this.refresh();
    this.loadLog(true);
  }

  // ---- withdraw / reopen for correction --------------------------------------------------------

  async decideCase(action) {
    const id = $("case-id").value.trim();
    const reason = $("case-reason").value.trim();
    const result = $("case-result");
    if (!id || !reason) {
      setText(result, "申請IDと理由が必要です (an application id and a reason are required)");
      result.dataset.kind = "error";
      (id ? $("case-reason") : $("case-id")).focus();
      return;
    }
    const withdraw = action === "withdraw";
    // A withdrawal ends the application and cancels the work in progress: asked once.
    if (withdraw && !confirm(`申請 ${id} を取り下げます。作業中の入力は破棄されます。よろしいですか？\n(Withdraw ${id}? Work in progress is cancelled.)`)) return;
    try {
      const done = await api(`/applications/${encodeURIComponent(id)}/${withdraw ? "withdraw" : "correction"}`,
        { method: "POST", body: { reason } });
      const [ja, en] = STATUS[done.status] || [done.status, ""];
      setText(result, withdraw
        ? `取下げました: ${id} → ${ja} (${en}); 取消した作業 ${done.cancelled_tasks.length}件 cancelled tasks`
        : `訂正を開始しました: ${id} → ${ja} (${en}) (reopened for correction)`);
      result.dataset.kind = "ok";
      result.dataset.status = done.status;
      $("case-reason").value = "";
      this.say(withdraw ? `申請を取り下げました (withdrawn; logged)` : `訂正を開始しました (reopened; logged)`, "ok");
      this.refresh();
    } catch (error) {
      setText(result, errorText(error));
      result.dataset.kind = "error";
      delete result.dataset.status;
    }
  }

  // ---- the vendor's manager: returned work ------------------------------------------------------

  async loadVendorQueue() {
    clearTimeout(this.timer);
    try {
      this.renderVendorQueue(await api("/work/vendor-queue"));
    } catch (error) {
      this.say(errorText(error), "error");
    } finally {
      this.timer = setTimeout(() => this.loadVendorQueue(), POLL_MS);
    }
  }

  renderVendorQueue(tasks) {
    const rows = tasks.map((t) => {
      const procedure = this.catalogue.get(t.procedure);
      const [ja, en] = KIND[t.kind] || [t.kind, ""];
      const dispatch = h("button", { type: "button", class: "btn tiny primary", dataset: { task: t.id } }, "割当 Dispatch");
      dispatch.addEventListener("click", () => this.dispatch(t, dispatch));
      return h("tr", { dataset: { task: t.id, application: t.application_id } },
        h("th", {}, procedure ? procedure.name_ja : t.procedure),
        h("td", { class: "step", dataset: { kind: t.kind } }, ja, h("span", { class: "en" }, en)),
        h("td", {}, h("code", { title: t.application_id }, t.application_id.slice(0, 8))),
        h("td", {}, t.note || ""), h("td", {}, dispatch));
    });
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "戻された作業はありません (nothing returned)")));
    $("vendor-body").replaceChildren(...rows);
  }

  async dispatch(task, button) {
    button.disabled = true;
    try {
      await api(`/work/${encodeURIComponent(task.id)}/dispatch`, { method: "POST", body: {} });
      this.say(`委託先のオペレーターに割り当てました (dispatched ${task.id.slice(0, 8)}; logged)`, "ok");
    } catch (error) {
      button.disabled = false;
      this.say(errorText(error), "error");
    }
    this.loadVendorQueue();
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const stats = await api("/work/stats");
      this.render(stats);
      $("live").dataset.state = "live";
      setText($("live-at"), timeText(new Date(stats.at)));
    } catch (error) {
      $("live").dataset.state = "offline";
      setText($("live-at"), errorText(error));
    } finally {
      this.timer = setTimeout(() => this.refresh(), POLL_MS);
    }
  }

  render(stats) {
    const steps = stats.steps || [];
    const sum = (key) => steps.reduce((n, s) => n + (s[key] || 0), 0);
    const oldest = steps.reduce((n, s) => Math.max(n, s.oldest_age_s || 0), 0);
    const working = (stats.operators || []).filter((o) => o.holding.length).length;
    const kpis = [
      ["待ち件数", "In queue", sum("depth"), ""],
      ["作業中", "Leased", sum("leased"), ""],
      ["本日期限", "Due today", sum("due_today"), sum("due_today") ? "warn" : ""],
      ["期限超過", "Overdue", sum("overdue"), sum("overdue") ? "bad" : "ok"],
      ["最古の待ち", "Oldest", sum("depth") ? duration(oldest) : "—", oldest > 86400 ? "warn" : ""],
      ["処理/時", "Done last hour", sum("done_last_hour"), ""],
      ["作業中の担当者", "Working now", working, ""],
    ];
    $("kpis").replaceChildren(...kpis.map(([ja, en, value, cls]) =>
      h("div", { class: `kpi ${cls}` }, h("div", { class: "v num" }, String(value)), h("div", { class: "k" }, ja, h("span", { class: "en" }, en)))));

    const byProcedure = new Map();
    for (const s of steps) {
      if (!byProcedure.has(s.procedure)) byProcedure.set(s.procedure, []);
      byProcedure.get(s.procedure).push(s);
    }
    const order = [...this.catalogue.list.map((p) => p.code), ...byProcedure.keys()];
    const body = h("tbody");
    for (const code of [...new Set(order)]) {
      const rows = (byProcedure.get(code) || []).sort((a, b) => STEPS.indexOf(a.kind) - STEPS.indexOf(b.kind));
      if (!rows.length) continue;
      const procedure = this.catalogue.get(code);
      rows.forEach((s, i) => {
        const [ja, en] = KIND[s.kind] || [s.kind, ""];
        body.append(h("tr", { dataset: { procedure: code, kind: s.kind } },
          i === 0 ? h("th", { rowspan: String(rows.length), class: "proc" }, h("span", { class: "ja" }, procedure.name_ja), h("span", { class: "en" }, procedure.name_en)) : null,
          h("td", { class: "step", dataset: { kind: s.kind } }, ja, h("span", { class: "en" }, en)),
          h("td", { class: "num" }, String(s.open)),
          h("td", { class: "num" }, String(s.leased)),
          h("td", { class: `num ${s.oldest_age_s > 86400 ? "warn" : ""}` }, s.depth ? duration(s.oldest_age_s) : "—"),
          h("td", { class: `num ${s.due_today ? "warn" : ""}` }, String(s.due_today)),
          h("td", { class: `num ${s.overdue ? "bad" : ""}` }, String(s.overdue)),
          h("td", { class: "num" }, String(s.done_last_hour))));
      });
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: "8", class: "muted" }, "待ちの作業はありません (the queue is empty)")));
    $("steps-body").replaceWith(Object.assign(body, { id: "steps-body" }));

    const now = Date.now();
    const people = h("tbody", { id: "people-body" });
    for (const o of stats.operators || []) {
      const byKind = Object.entries(o.by_kind || {}).map(([k, n]) => `${(KIND[k] || [k])[0]} ${n}`).join(" · ");
      // The vendor's operators take direction from their 管理責任者 only (偽装請負): counts, no release.
      const vendorStaff = o.employer === "vendor";
      const held = o.holding.map((t) => {
        const left = t.lease_expires_at ? (new Date(t.lease_expires_at).getTime() - now) / 1000 : 0;
        const release = vendorStaff
          ? h("span", { class: "muted via-manager", title: "委託先の管理責任者に連絡してください (ask the vendor's manager)" }, "管理責任者へ via manager")
          : h("button", { type: "button", class: "btn tiny danger", dataset: { task: t.task_id } }, "解放 Release");
        if (!vendorStaff) release.addEventListener("click", () => this.release(t, o.name));
        return h("div", { class: `held ${t.stuck || left <= 0 ? "stuck" : ""}` },
          h("span", { class: "kind", dataset: { kind: t.kind } }, (KIND[t.kind] || [t.kind])[0]),
          h("span", { class: "p" }, this.catalogue.get(t.procedure).name_ja),
          h("span", { class: "num left" }, t.stuck || left <= 0 ? "停滞 stuck" : `残 ${duration(left)}`), release);
      });
      people.append(h("tr", {}, h("th", {}, o.name), h("td", { class: "num" }, String(o.done_24h)), h("td", { class: "bykind" }, byKind),
        h("td", { class: "holding" }, held.length ? held : h("span", { class: "muted" }, "—"))));
    }
    if (!people.children.length) people.append(h("tr", {}, h("td", { colspan: "4", class: "muted" }, "作業記録なし (no activity)")));
    $("people-body").replaceWith(people);
  }

  async release(task, holder) {
    try {
      await api(`/work/${encodeURIComponent(task.task_id)}/release`, { method: "POST", body: {} });
      this.say(`${holder} の作業を解放しました (released ${task.task_id.slice(0, 8)})`, "ok");
    } catch (error) {
      this.say(errorText(error), "error");
    }
    this.refresh();
  }

  // ---- qualifications -------------------------------------------------------------------------

  async loadOperators() {
    try {
      this.renderOperators(await api("/work/operators"));
    } catch (error) {
      this.say(errorText(error), "error");
    }
  }

  renderOperators(operators) {
    const codes = this.catalogue.list.map((p) => p.code);
    const head = h("tr", {}, h("th", { class: "name" }, bi("担当者", "Operator")), h("th", { class: "all" }, h("span", { class: "v" }, "全手続 All")),
      codes.map((code) => h("th", { class: "p", title: `${this.catalogue.get(code).name_ja} / ${this.catalogue.get(code).name_en}` },
        h("span", { class: "v" }, this.catalogue.get(code).name_ja))), h("th", {}));
    const body = operators.map((o) => {
      if (o.employer === "vendor" && !this.manager) {
        // Shown, not directed: the vendor's 管理責任者 sets their operators' work.
        const what = o.qualifications === null ? "全手続 all" : `${o.qualifications.length}手続`;
        return h("tr", { dataset: { operator: o.token_id }, class: "vendor-staff" },
          h("th", { class: "name" }, o.name, h("span", { class: "emp vendor" }, "委託 vendor")),
          h("td", { colspan: String(codes.length + 2), class: "muted" },
            `${what} — 委託先の管理責任者が設定します (set by the vendor's manager)`));
      }
      const all = h("input", { type: "checkbox", checked: o.qualifications === null, title: "全手続 (every procedure)", "aria-label": `${o.name}: 全手続 (every procedure)` });
      const boxes = codes.map((code) => h("input", {
        type: "checkbox", value: code, checked: o.qualifications === null || o.qualifications.includes(code), disabled: o.qualifications === null,
        "aria-label": `${o.name}: ${this.catalogue.get(code).name_ja} (${this.catalogue.get(code).name_en})`,
      }));
      const save = h("button", { type: "button", class: "btn tiny primary", disabled: true }, "保存 Save");
      const dirty = () => { save.disabled = false; };
      all.addEventListener("change", () => {
        for (const box of boxes) {
          box.disabled = all.checked;
          if (all.checked) box.checked = true;
        }
        dirty();
      });
      for (const box of boxes) box.addEventListener("change", dirty);
      save.addEventListener("click", async () => {
        const body = all.checked ? null : boxes.filter((b) => b.checked).map((b) => b.value);
        try {
          const saved = await api(`/work/operators/${encodeURIComponent(o.id)}/qualifications`, { method: "PUT", body });
          save.disabled = true;
          const what = saved.qualifications === null ? "全手続 (all)" : `${saved.qualifications.length}手続`;
          this.say(`${o.name} の担当を変更しました: ${what} (qualifications saved; logged)`, "ok");
        } catch (error) {
          this.say(errorText(error), "error");
        }
      });
      return h("tr", { dataset: { operator: o.id } },
        h("th", { class: "name" }, o.name, h("span", { class: `emp ${o.employer}` }, o.employer === "vendor" ? "委託 vendor" : "市 city")),
        h("td", { class: "all" }, all), boxes.map((b) => h("td", {}, b)), h("td", {}, save));
    });
    $("quals").replaceChildren(h("thead", {}, head), h("tbody", {}, body.length ? body : h("tr", {}, h("td", { class: "muted" }, "オペレーターがいません (no operators)"))));
  }

  // ---- access log -----------------------------------------------------------------------------

  async loadLog(fresh) {
    const params = new URLSearchParams({ limit: "30" });
    const entity = $("log-entity").value.trim();
    if (entity) params.set("entity_id", entity);
    if ($("log-mn").checked) params.set("my_number_shown", "true");
    if (!fresh && this.cursor) params.set("cursor", this.cursor);
    try {
      const page = await api(`/access-log?${params}`);
      const rows = page.items.map((e) => h("tr", { class: e.my_number_shown ? "mn" : "" },
        h("td", { class: "num" }, dateTimeText(e.at)), h("td", {}, e.actor_name || e.actor_id.slice(0, 8)),
        h("td", {}, (ROLE[e.actor_role] || [e.actor_role])[0]), h("td", {}, e.action),
        h("td", {}, h("code", { title: e.entity_id }, `${e.entity} ${e.entity_id.slice(0, 8)}`)),
        h("td", {}, e.my_number_shown ? h("span", { class: "flag bad" }, "個人番号表示 shown") : "")));
      const body = $("log-body");
      if (fresh) body.replaceChildren(...rows);
      else body.append(...rows);
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: "6", class: "muted" }, "記録なし (no entries)")));
      this.cursor = page.next_cursor;
      $("log-more").hidden = !page.next_cursor;
    } catch (error) {
      this.say(errorText(error), "error");
    }
  }
}
