// The operators', reviewers' and supervisors' console: /console/?token=T.
// Reads who it is (GET /work/me) and the catalogue (GET /procedures, once, cached for the
// session), then opens the desk (operators, reviewers) or the board (supervisors).

import { api, errorText, h, ROLE, setText, setToken, timeText } from "./api.js";
import { Catalogue } from "./form.js";
import { Board } from "./supervisor.js";
import { Desk, purgeOldDrafts } from "./work.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "madoguchi.console.token";
const CATALOGUE_KEY = "madoguchi.console.catalogue";

function takeToken() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the secret out of the address bar, the history and screenshots.
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
  }
  return fromUrl || sessionStorage.getItem(TOKEN_KEY) || "";
}

let messageTimer = 0;

/** One status line for the whole console; kind: ok, info, warn, error. */
export function say(text, kind = "info") {
  const box = $("message");
  clearTimeout(messageTimer);
  box.hidden = !text;
  box.dataset.kind = kind;
  setText(box, text || "");
  if (text && (kind === "ok" || kind === "info")) messageTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

async function catalogue() {
  const cached = sessionStorage.getItem(CATALOGUE_KEY);
  if (cached) {
    try {
      return new Catalogue(JSON.parse(cached));
    } catch {
      sessionStorage.removeItem(CATALOGUE_KEY);
    }
  }
  const list = await api("/procedures");
  try {
    sessionStorage.setItem(CATALOGUE_KEY, JSON.stringify(list));
  } catch {
    /* too large for this browser's storage: kept in memory only */
  }
  return new Catalogue(list);
}

async function start() {
  setInterval(() => setText($("clock"), timeText()), 1000);
  setText($("clock"), timeText());
  const token = takeToken();
  if (!token) {
    document.body.dataset.view = "error";
    say("トークンがありません。/console/?token=… で開いてください (open with ?token=…)", "error");
    return;
  }
  setToken(token);
  let me;
  let procedures;
  try {
    [me, procedures] = await Promise.all([api("/work/me"), catalogue()]);
  } catch (error) {
    document.body.dataset.view = "error";
    say(errorText(error), "error");
    return;
  }
  const [roleJa, roleEn] = ROLE[me.role] || [me.role, ""];
  setText($("who-name"), me.name);
  $("who-role").replaceChildren(h("span", {}, roleJa), h("span", { class: "en" }, roleEn),
    me.employer === "vendor" ? h("span", { class: "emp vendor" }, "委託 vendor") : h("span", { class: "emp city" }, "市 city"));
  document.body.dataset.role = me.role;
  purgeOldDrafts();
  if (me.role === "supervisor") {
    document.body.dataset.view = "board";
    $("board").hidden = false;
    new Board({ me, catalogue: procedures, say });
  } else {
    document.body.dataset.view = "desk";
    $("desk").hidden = false;
    new Desk({ me, catalogue: procedures, say });
  }
  document.body.dataset.ready = "1";
}

start();
