// The operators', reviewers' and supervisors' console: /console/. People sign in with their
// staff number and password (or arrive signed in through the city's SSO proxy); the session is
// an HttpOnly cookie. No token ever travels in the address. Reads who it is (GET /work/me) and
// the catalogue (GET /procedures, once, cached for the session), then opens the desk (operators,
// reviewers) or the board (supervisors). Signing out ends the session on the server and clears
// what this terminal kept (drafts, the catalogue).

import { api, errorText, h, ROLE, setCsrf, setText, timeText, whenSignedOut } from "./api.js";
import { Catalogue } from "./form.js";
import { Board } from "./supervisor.js";
import { clearDrafts, Desk, purgeOldDrafts } from "./work.js";

const $ = (id) => document.getElementById(id);
const CATALOGUE_KEY = "madoguchi.console.catalogue";
const MUNICIPALITY_KEY = "madoguchi.console.municipality";
let desk = null;

function dropTokenFromAddress() {
  // Old bookmarks may still carry ?token=…: it is not used, and it leaves the address bar.
  const params = new URLSearchParams(location.search);
  if (!params.has("token")) return;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
}

/** Forget everything this terminal kept for the person: drafts, the cached catalogue. */
function forgetLocal() {
  clearDrafts();
  sessionStorage.clear();
}

function showSignIn(message = "") {
  document.body.dataset.view = "signin";
  for (const id of ["desk", "board"]) $(id).hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  setText($("who-name"), "");
  $("who-role").replaceChildren();
  const form = $("signin-form");
  const remembered = localStorage.getItem(MUNICIPALITY_KEY);
  if (remembered && !form.municipality.value) form.municipality.value = remembered;
  setText($("signin-error"), message);
  $("signin-error").hidden = !message;
  (form.municipality.value ? form.staff_id : form.municipality).focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const session = await api("/auth/login", {
      method: "POST",
      body: { municipality: form.municipality.value.trim(), staff_id: form.staff_id.value.trim(), password: form.password.value },
    });
    form.password.value = "";
    localStorage.setItem(MUNICIPALITY_KEY, session.municipality);
    setCsrf(session.csrf_token);
    $("signin").hidden = true;
    await openConsole();
  } catch (error) {
    form.password.value = "";
    setText($("signin-error"), errorText(error));
    $("signin-error").hidden = false;
    form.password.focus();
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  $("signout").disabled = true;
  if (desk) await desk.leave();
  try {
    await api("/auth/logout", { method: "POST" });
  } catch {
    /* the session may be over already: what this terminal kept goes all the same */
  }
  forgetLocal();
  // A fresh page: nothing of the signed-in person stays in memory either.
  location.replace(location.pathname);
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
  dropTokenFromAddress();
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  whenSignedOut(() => {
    if (document.body.dataset.view !== "signin") location.replace(`${location.pathname}?ended=1`);
  });
  let session;
  try {
    session = await api("/auth/me");
  } catch {
    const ended = new URLSearchParams(location.search).has("ended");
    showSignIn(ended ? "サインインが切れました。もう一度サインインしてください (session ended; sign in again)" : "");
    return;
  }
  setCsrf(session.csrf_token);
  await openConsole();
}

async function openConsole() {
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
  $("signout").hidden = false;
  $("signout").disabled = false;
  purgeOldDrafts();
  if (me.role === "supervisor" || me.role === "vendor_manager") {
    document.body.dataset.view = "board";
    $("board").hidden = false;
    new Board({ me, catalogue: procedures, say });
  } else {
    document.body.dataset.view = "desk";
    $("desk").hidden = false;
    desk = new Desk({ me, catalogue: procedures, say });
  }
  document.body.dataset.ready = "1";
}

start();
