// Lobby display: the lobby channel over a websocket (snapshot, then events in seq order), the
// HTTP snapshot as a fallback, a chime and spoken announcements for every call.
//
// Announcements are audio files rendered by the server (offline speech), named in each call:
// Japanese first, then the ticket's language. They play one after another from a queue (two
// quick calls never talk over each other; a recall is said again), their words are shown on the
// screen with a flash, and a file that cannot be fetched or played falls back to the chime.
// Volume: the slider in the footer (or &volume=0..100), kept per display; mute: the sound button.
//
// The rules (CONTRACT.md "Lobby", REALTIME.md §3.4):
//   event seq == last + 1 → apply; seq <= last → ignore; seq > last + 1 → resume {after_seq: last}
//   heartbeat seq > last → resume; heartbeat of another epoch → reconnect for a fresh snapshot
//   nothing received for 2.5 heartbeats → reconnect
//   snapshot of the same epoch after an outage → announce the calls newer than last, in seq order
// Reconnects back off exponentially with full jitter (0.5 s → 30 s); after 3 failed attempts in
// a row the HTTP snapshot is polled as well until the socket is back. Numbers only: the page never
// shows or says anything but ticket numbers and counters.
//
// The hero is the latest call; a finished, cancelled, no-show or transferred ticket leaves the
// screen at once, and every call leaves it `expire` minutes after it was made (default 10, 0:
// never), by the server's clock as the messages tell it.

const MAX_CALLED = 12; // the hero plus 11 cards; the DOM is built once for these
const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 30000;
const FAILURES_BEFORE_POLLING = 3;
const POLL_MS = 5000;
const POLL_TIMEOUT_MS = 4000;
const DEFAULT_HEARTBEAT_MS = 15000;
const SILENCE_FACTOR = 2.5;
const CONNECT_TIMEOUT_MS = 10000;
const RESUME_RETRY_MS = 5000;
const RESUME_GIVE_UP_MS = 15000;
const BANNER_GRACE_MS = 1500;
const MAX_PENDING_ANNOUNCEMENTS = 24;
const TIME_ZONE = "Asia/Tokyo";
const SOUND_KEY = "madoguchi.display.sound";
const VOLUME_KEY = "madoguchi.display.volume";
const MAX_AUDIO_FILES = 16; // fetched announcement files kept in memory (for recalls)
const VOICE_TIMEOUT_MS = 20000; // a file that never reports its end: move on
const CAPTION_MS = 20000; // how long the words of the last announcement stay on screen
const CATEGORY_COLOURS = ["#2f7dd1", "#12a37a", "#e07b00", "#c2418f", "#7b5cd6", "#00a0b0", "#8c9a1c", "#d4493b"];

const params = new URLSearchParams(location.search);
const OFFICE = params.get("office") || "";
const TOKEN = params.get("token") || "";
const HEARTBEAT_HINT_MS = Math.max(1000, Number(params.get("heartbeat") || 0) * 1000 || DEFAULT_HEARTBEAT_MS);
const DEFAULT_EXPIRE_MIN = 10;
const EXPIRE_MS = expireMs(params.get("expire"));

function expireMs(value) {
  const minutes = value === null || value === "" ? DEFAULT_EXPIRE_MIN : Number(value);
  if (!Number.isFinite(minutes) || minutes < 0) return DEFAULT_EXPIRE_MIN * 60000;
  return minutes * 60000; // 0: calls stay until the ticket moves on
}

const $ = (id) => document.getElementById(id);
const el = {
  body: document.body,
  banner: $("banner"), bannerJa: $("banner-ja"), bannerEn: $("banner-en"),
  officeJa: $("office-ja"), officeEn: $("office-en"),
  clockTime: $("clock-time"), clockDateJa: $("clock-date-ja"), clockDateEn: $("clock-date-en"),
  hero: $("hero"), heroNumber: $("hero-number"), heroCounter: $("hero-counter"), heroBan: $("hero-ban"),
  calls: $("calls"), queues: $("queues"),
  paused: $("paused"), pausedJa: $("paused-ja"), pausedEn: $("paused-en"),
  moved: $("moved"), movedJa: $("moved-ja"), movedEn: $("moved-en"),
  sound: $("sound"), soundLabel: $("sound-label"), soundBlocked: $("sound-blocked"),
  volume: $("volume"), caption: $("announce-text"),
  quiet: $("quiet"), quietRange: $("quiet-range"),
};

// ---------------------------------------------------------------- state

const lobby = {
  epoch: null, // null until the first snapshot
  last: null, // seq of the last event applied
  office: null,
  called: [], // newest first: {number, counterId, counterLabel, status, seq, calledAt (ms)}
  clockOffset: 0, // the server's clock less this one's, from the messages' times
  queues: [], // {id, prefix, nameJa, nameEn, waiting, estimate}
  paused: new Map(), // counter id → label, of the counters paused for now
  // A plan of stops: tickets that finished a stop and wait at the next, newest first, until
  // called there: {number, nameJa, nameEn}.
  moved: [],
  // Quiet hours (Japan time, from the snapshot or a display.settings message): calls are shown
  // and flashed but neither chimed nor said. [{start, end}] in minutes of the day, end excluded.
  quietHours: [],
};
const MAX_MOVED = 3;

function colourOf(prefix) {
  const code = ((prefix || "?").codePointAt(0) || 0) - 65; // "A" takes the first colour
  const n = CATEGORY_COLOURS.length;
  return CATEGORY_COLOURS[((code % n) + n) % n];
}

/** Now by the server's clock (a display's own clock may be off by minutes). */
function serverNow() {
  return Date.now() + lobby.clockOffset;
}

function learnServerTime(at) {
  const t = Date.parse(at || "");
  if (Number.isFinite(t)) lobby.clockOffset = t - Date.now();
}

function expired(call, now = serverNow()) {
  return EXPIRE_MS > 0 && Number.isFinite(call.calledAt) && now - call.calledAt >= EXPIRE_MS;
}

/** Drop the calls that have been on screen long enough; true when any left. */
function ageOut() {
  const now = serverNow();
  const before = lobby.called.length;
  lobby.called = lobby.called.filter((c) => !expired(c, now));
  return lobby.called.length !== before;
}

function toQueue(q) {
  return { id: q.category_id, prefix: q.prefix, nameJa: q.name_ja, nameEn: q.name_en, waiting: q.waiting, estimate: q.estimate_min };
}

function minutesOf(hhmm) {
  const m = /^(\d\d):(\d\d)$/.exec(hhmm || "");
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

function applyQuietHours(ranges) {
  lobby.quietHours = (Array.isArray(ranges) ? ranges : [])
    .map((r) => ({ start: minutesOf(r.start), end: minutesOf(r.end), text: `${r.start}–${r.end}` }))
    .filter((r) => Number.isFinite(r.start) && Number.isFinite(r.end) && r.start < r.end);
  renderQuiet();
}

/** The quiet range in force now by the server's clock (Japan time), or null. */
function quietNow() {
  const parts = quietClock.formatToParts(new Date(serverNow()));
  const hour = Number(parts.find((p) => p.type === "hour")?.value);
  const minute = Number(parts.find((p) => p.type === "minute")?.value);
  const now = hour * 60 + minute;
  return lobby.quietHours.find((r) => r.start <= now && now < r.end) || null;
}

function renderQuiet() {
  const quiet = quietNow();
  el.quiet.hidden = !quiet;
  if (quiet) setText(el.quietRange, quiet.text);
  if (quiet) el.body.dataset.quiet = "true";
  else delete el.body.dataset.quiet;
}

function applySnapshot(snap, viaPolling) {
  const sameEpoch = lobby.epoch !== null && snap.epoch === lobby.epoch;
  if (viaPolling && sameEpoch && snap.seq <= lobby.last) return;
  learnServerTime(snap.at);
  applyQuietHours(snap.office && snap.office.quiet_hours);
  if (sameEpoch && lobby.last !== null) {
    // Calls made while this screen was away: announce them in the order they were made.
    const missed = snap.called
      .filter((c) => typeof c.seq === "number" && c.seq > lobby.last)
      .sort((a, b) => a.seq - b.seq);
    for (const c of missed) announce(c.number, c.counter_label, c.announcements);
    if (missed.length) flashHero();
  }
  lobby.epoch = snap.epoch;
  lobby.last = snap.seq;
  lobby.office = snap.office;
  lobby.called = snap.called
    .map((c) => ({
      number: c.number, counterId: c.counter_id, counterLabel: c.counter_label, status: c.status, seq: c.seq,
      calledAt: Date.parse(c.called_at),
    }))
    .filter((c) => !expired(c))
    // The latest call first, whatever the server's order: by seq, then by call time.
    .sort((a, b) => (b.seq ?? -1) - (a.seq ?? -1) || b.calledAt - a.calledAt)
    .slice(0, MAX_CALLED);
  lobby.queues = snap.queues.map(toQueue);
  lobby.paused = new Map((snap.paused_counters || []).map((c) => [c.counter_id, c.counter_label]));
  // Numbers on their way to the next stop of their plan (after a reconnect or a reload too).
  lobby.moved = (snap.moved || [])
    .map((m) => ({ number: m.number, nameJa: m.next_stop.name_ja, nameEn: m.next_stop.name_en }))
    .slice(0, MAX_MOVED);
  render();
}

function applyEvent(msg) {
  const data = msg.data || {};
  learnServerTime(msg.at);
  if (Array.isArray(data.queues)) {
    for (const q of data.queues) {
      const i = lobby.queues.findIndex((x) => x.id === q.category_id);
      if (i >= 0) lobby.queues[i] = toQueue(q);
      else lobby.queues.push(toQueue(q));
    }
  }
  if (msg.type !== "ticket.issued" && msg.type !== "ticket.ready") {
    lobby.moved = lobby.moved.filter((m) => m.number !== data.number);
  }
  if (msg.type === "ticket.transferred" && data.next_stop) {
    lobby.moved.unshift({ number: data.number, nameJa: data.next_stop.name_ja, nameEn: data.next_stop.name_en });
    lobby.moved.length = Math.min(lobby.moved.length, MAX_MOVED);
  }
  switch (msg.type) {
    case "ticket.called":
    case "ticket.recalled":
    case "ticket.resumed":
      removeCall(data.number);
      lobby.called.unshift({
        number: data.number, counterId: data.counter_id, counterLabel: data.counter_label || "", status: "called", seq: msg.seq,
        calledAt: Number.isFinite(Date.parse(msg.at || "")) ? Date.parse(msg.at) : serverNow(),
      });
      if (lobby.called.length > MAX_CALLED) lobby.called.length = MAX_CALLED;
      announce(data.number, data.counter_label || "", data.announcements);
      flashHero();
      break;
    case "counter.paused":
      lobby.paused.set(data.counter_id, data.counter_label || "");
      break;
    case "counter.resumed":
      lobby.paused.delete(data.counter_id);
      break;
    case "ticket.started": {
      const entry = lobby.called.find((c) => c.number === data.number);
      if (entry) entry.status = "serving";
      break;
    }
    case "ticket.finished":
    case "ticket.no_show":
    case "ticket.cancelled":
    case "ticket.transferred":
    case "ticket.held":
      removeCall(data.number);
      break;
    case "ticket.call_withdrawn": // a mistaken call: off the screen, and not said if not yet said
      removeCall(data.number);
      for (let i = pending.length - 1; i >= 0; i--) {
        if (pending[i].key.startsWith(`${data.number}@`)) pending.splice(i, 1);
      }
      break;
    default: // ticket.issued, ticket.ready: only the queue figures change
  }
  render();
}

function removeCall(number) {
  const i = lobby.called.findIndex((c) => c.number === number);
  if (i >= 0) lobby.called.splice(i, 1);
}

// ---------------------------------------------------------------- rendering (elements built once)

const callSlots = [];
const queueRows = [];

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

function counterParts(label) {
  // "3" reads "3番"; a label that is not a number ("受付", "A") is shown as it is.
  return /^\d+$/.test(label) ? [label, "番"] : [label, ""];
}

function buildCallSlots() {
  for (let i = 1; i < MAX_CALLED; i++) {
    const li = document.createElement("li");
    li.className = "call is-empty";
    const number = document.createElement("span");
    number.className = "call-number num";
    const counter = document.createElement("span");
    counter.className = "call-counter";
    const counterNum = document.createElement("span");
    counterNum.className = "num";
    const ban = document.createElement("span");
    ban.className = "ban";
    counter.append(counterNum, ban);
    li.append(number, counter);
    el.calls.append(li);
    callSlots.push({ li, number, counterNum, ban });
  }
}

function queueRow(i) {
  while (queueRows.length <= i) {
    const li = document.createElement("li");
    li.className = "queue";
    li.innerHTML =
      '<span class="queue-prefix"></span>' +
      '<span class="queue-name"><span class="ja"></span><span class="en"></span></span>' +
      '<span class="queue-figures">' +
      '<span class="queue-waiting"><span class="num"></span><span class="unit">人<span class="en">waiting</span></span></span>' +
      '<span class="queue-estimate"><span class="some">目安 約<b></b>分 <span class="en"></span></span>' +
      '<span class="none">すぐにご案内します <span class="en">No wait</span></span></span>' +
      "</span>";
    el.queues.append(li);
    queueRows.push({
      li,
      prefix: li.querySelector(".queue-prefix"),
      nameJa: li.querySelector(".queue-name .ja"),
      nameEn: li.querySelector(".queue-name .en"),
      waiting: li.querySelector(".queue-waiting .num"),
      estimate: li.querySelector(".queue-estimate b"),
      estimateEn: li.querySelector(".queue-estimate .some .en"),
    });
  }
  return queueRows[i];
}

function render() {
  const office = lobby.office;
  if (office) {
    setText(el.officeJa, office.name_ja);
    setText(el.officeEn, office.name_en);
  }
  const paused = [...lobby.paused.values()].sort((a, b) => a.localeCompare(b, "ja", { numeric: true }));
  el.paused.hidden = paused.length === 0;
  setText(el.pausedJa, paused.map((label) => `${counterParts(label).join("")}窓口`).join("・"));
  setText(el.pausedEn, paused.map((label) => `Counter ${label}`).join(", "));
  el.moved.hidden = lobby.moved.length === 0;
  setText(el.movedJa, lobby.moved.map((m) => `${m.number} → ${m.nameJa}`).join("・"));
  setText(el.movedEn, lobby.moved.map((m) => `${m.number} → ${m.nameEn}`).join(", "));
  const [first, ...rest] = lobby.called;
  if (first) {
    const [label, ban] = counterParts(first.counterLabel);
    setAttr(el.hero, "data-state", first.status);
    setText(el.heroNumber, first.number);
    setText(el.heroCounter, label);
    setText(el.heroBan, ban);
  } else {
    setAttr(el.hero, "data-state", "empty");
    setText(el.heroNumber, "");
    setText(el.heroCounter, "");
  }
  callSlots.forEach((slot, i) => {
    const call = rest[i];
    slot.li.classList.toggle("is-empty", !call);
    if (!call) {
      setText(slot.number, "");
      setText(slot.counterNum, "");
      return;
    }
    const [label, ban] = counterParts(call.counterLabel);
    setAttr(slot.li, "data-status", call.status);
    slot.li.style.setProperty("--cat", colourOf(call.number));
    setText(slot.number, call.number);
    setText(slot.counterNum, label);
    setText(slot.ban, ban);
  });
  lobby.queues.forEach((q, i) => {
    const row = queueRow(i);
    row.li.hidden = false;
    row.li.style.setProperty("--cat", colourOf(q.prefix));
    setText(row.prefix, q.prefix);
    setText(row.nameJa, q.nameJa);
    setText(row.nameEn, q.nameEn);
    setText(row.waiting, String(q.waiting));
    setText(row.estimate, String(q.estimate));
    setText(row.estimateEn, `~${q.estimate} min`);
    row.li.toggleAttribute("data-idle", q.waiting === 0);
  });
  for (let i = lobby.queues.length; i < queueRows.length; i++) queueRows[i].li.hidden = true;
  el.body.dataset.seq = lobby.last === null ? "" : String(lobby.last);
}

let heroAnimation = null;

function flashHero() {
  if (typeof el.hero.animate !== "function") return;
  if (heroAnimation) heroAnimation.cancel();
  heroAnimation = el.hero.animate(
    [{ transform: "scale(1)", filter: "brightness(1)" }, { transform: "scale(1.02)", filter: "brightness(1.25)" }, { transform: "scale(1)", filter: "brightness(1)" }],
    { duration: 700, iterations: 3, easing: "ease-in-out" },
  );
}

// ---------------------------------------------------------------- clock

const quietClock = new Intl.DateTimeFormat("en-GB", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const timeFormat = new Intl.DateTimeFormat("ja-JP", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const dateJaFormat = new Intl.DateTimeFormat("ja-JP", { timeZone: TIME_ZONE, month: "long", day: "numeric", weekday: "short" });
const dateEnFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TIME_ZONE, weekday: "short", day: "numeric", month: "short" });
const dayKeyFormat = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit" });
let dayKey = "";

function renderClock(now) {
  const date = new Date(now);
  setText(el.clockTime, timeFormat.format(date));
  setText(el.clockDateJa, dateJaFormat.format(date));
  setText(el.clockDateEn, dateEnFormat.format(date));
  const key = dayKeyFormat.format(date);
  if (dayKey && key !== dayKey && socket) reconnectNow(); // a new business day: fresh snapshot
  dayKey = key;
}

// ---------------------------------------------------------------- announcements

let soundOn = readSoundSetting();
let volume = readVolumeSetting();
const pending = [];
let announcing = false;
let voices = [];
const chime = new Audio("chime.wav");
chime.preload = "auto";
// The announcements' voice: one element, so two files can never play at once.
const voice = new Audio();
voice.preload = "auto";
let voiceDone = null;
let voiceTimer = 0;
const audioFiles = new Map(); // announcement URL → Promise of an object URL (null: failed)
let captionTimer = 0;
let chimeDone = null;
let chimeTimer = 0;

function readSoundSetting() {
  const fromUrl = params.get("sound");
  if (fromUrl === "off" || fromUrl === "on") return fromUrl === "on";
  try {
    return localStorage.getItem(SOUND_KEY) !== "off";
  } catch {
    return true;
  }
}

function readVolumeSetting() {
  const fromUrl = params.get("volume");
  let stored = null;
  try {
    stored = localStorage.getItem(VOLUME_KEY);
  } catch {
    // storage disabled
  }
  const value = Number(fromUrl ?? stored ?? 100);
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) / 100 : 1;
}

function setVolume(value, remember) {
  volume = Math.min(1, Math.max(0, value));
  chime.volume = volume;
  voice.volume = volume;
  el.volume.value = String(Math.round(volume * 100));
  el.body.dataset.volume = String(Math.round(volume * 100));
  if (remember) {
    try {
      localStorage.setItem(VOLUME_KEY, String(Math.round(volume * 100)));
    } catch {
      // storage disabled: the setting lasts until the page reloads
    }
  }
}

/** The announcement's file, fetched once with this display's token and kept in memory. */
function audioFile(url) {
  let file = audioFiles.get(url);
  if (file) return file;
  file = fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } })
    .then((response) => (response.ok ? response.blob() : null))
    .then((blob) => (blob ? URL.createObjectURL(blob) : null))
    .catch(() => null);
  audioFiles.set(url, file);
  file.then((objectUrl) => {
    if (!objectUrl && audioFiles.get(url) === file) audioFiles.delete(url); // try again next time
  });
  while (audioFiles.size > MAX_AUDIO_FILES) {
    const [oldest, old] = audioFiles.entries().next().value;
    audioFiles.delete(oldest);
    old.then((objectUrl) => {
      if (objectUrl && voice.src !== objectUrl) URL.revokeObjectURL(objectUrl);
    });
  }
  return file;
}

function finishVoice(ok) {
  if (voiceTimer) clearTimeout(voiceTimer);
  voiceTimer = 0;
  const done = voiceDone;
  voiceDone = null;
  if (done) done(ok);
}

/** Plays one announcement file; resolves true when it was played to the end. */
async function playVoice(ref) {
  const objectUrl = await audioFile(ref.url);
  if (!objectUrl || !soundOn) return false;
  return new Promise((resolve) => {
    voiceDone = resolve;
    voiceTimer = setTimeout(() => finishVoice(true), VOICE_TIMEOUT_MS);
    voice.dataset.url = ref.url;
    voice.dataset.text = ref.text;
    voice.dataset.lang = ref.language;
    voice.src = objectUrl;
    voice.volume = volume;
    try {
      const playing = voice.play();
      if (playing) {
        playing.catch((error) => {
          if (error && error.name === "NotAllowedError") soundBlocked(true);
          finishVoice(false);
        });
      }
    } catch {
      finishVoice(false);
    }
  });
}

/** The words of a call on the screen, with a flash, whether or not sound is on. */
function showCaption(lines) {
  delete el.caption.dataset.test;
  el.caption.replaceChildren(
    ...lines.map(({ text, lang }) => {
      const line = document.createElement("span");
      line.className = "announce-line";
      line.lang = lang;
      line.textContent = text;
      return line;
    }),
  );
  el.caption.hidden = false;
  el.body.dataset.announcing = "true";
  el.caption.classList.remove("flash");
  void el.caption.offsetWidth; // restart the animation
  el.caption.classList.add("flash");
  if (captionTimer) clearTimeout(captionTimer);
  captionTimer = setTimeout(() => {
    el.caption.hidden = true;
    delete el.body.dataset.announcing;
  }, CAPTION_MS);
}

function spokenNumber(number) {
  // "A-012" is read "A12": the prefix, then the number without its zero padding.
  const m = /^([^-]*)-(\d+)$/.exec(number);
  return m ? `${m[1]}${Number.parseInt(m[2], 10)}` : number;
}

function phrases(number, counterLabel) {
  const spoken = spokenNumber(number);
  const numeric = /^\d+$/.test(counterLabel);
  const ja = numeric
    ? `受付番号 ${spoken} 番の方、${counterLabel}番窓口へお越しください`
    : `受付番号 ${spoken} 番の方、${counterLabel}${counterLabel.endsWith("窓口") ? "" : "窓口"}へお越しください`;
  const en = `Ticket number ${spoken}, please come to counter ${counterLabel}`;
  return { ja, en };
}

function announce(number, counterLabel, announcements) {
  if (!number) return;
  const refs = Array.isArray(announcements) ? announcements.filter((a) => a && a.url) : [];
  const words = phrases(number, counterLabel);
  showCaption(
    refs.length
      ? refs.map((a) => ({ text: a.text, lang: a.language === "ja-easy" ? "ja" : a.language }))
      : [{ text: words.ja, lang: "ja" }, { text: words.en, lang: "en" }],
  );
  // Quiet hours: shown and flashed, not heard.
  if (!soundOn || quietNow()) return;
  const key = `${number}@${counterLabel}`;
  if (pending.some((a) => a.key === key)) return; // the same words are already waiting to be said
  pending.push({ key, refs, ...words });
  if (pending.length === 1) for (const ref of refs) audioFile(ref.url); // next up: fetch it now
  // A backlog longer than anyone would listen to: the oldest calls stay on screen, unspoken.
  if (pending.length > MAX_PENDING_ANNOUNCEMENTS) pending.shift();
  if (!announcing) runAnnouncements();
}

/** 試験放送: the test phrase through the same queue and audio as a call, shown as a test; quiet
 * hours do not apply (someone is standing by to listen). Never a call: no number, no history. */
function announceTest(announcements) {
  const refs = Array.isArray(announcements) ? announcements.filter((a) => a && a.url) : [];
  if (!refs.length) return;
  showCaption([
    { text: "試験放送 / Test announcement", lang: "ja" },
    ...refs.map((a) => ({ text: a.text, lang: a.language === "ja-easy" ? "ja" : a.language })),
  ]);
  el.caption.dataset.test = "true";
  if (!soundOn) return;
  if (pending.some((a) => a.key === "test")) return; // pressed again: said once
  pending.push({ key: "test", refs, ja: "", en: "" });
  if (pending.length === 1) for (const ref of refs) audioFile(ref.url);
  if (pending.length > MAX_PENDING_ANNOUNCEMENTS) pending.shift();
  if (!announcing) runAnnouncements();
}

async function runAnnouncements() {
  announcing = true;
  try {
    while (pending.length && soundOn) {
      const next = pending.shift();
      // Fetched during the chime, and the next one's while this one plays: ready in turn, and
      // never more than two calls' files in flight however long the backlog.
      for (const ref of next.refs) audioFile(ref.url);
      for (const ref of pending.length ? pending[0].refs : []) audioFile(ref.url);
      await playChime();
      // Switched off mid-announcement: not another word, not even the second language.
      if (!soundOn) break;
      if (next.refs.length) {
        for (const ref of next.refs) {
          const played = await playVoice(ref);
          if (!soundOn) break;
          if (!played) {
            // The file could not be fetched or played: the chime again, the words on screen.
            await playChime();
            break;
          }
        }
      } else {
        // A server that names no audio: the browser's own speech, if it has any.
        await speak(next.ja, "ja-JP");
        if (!soundOn) break;
        await speak(next.en, "en-US");
      }
      await pause(400);
    }
  } finally {
    announcing = false;
  }
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function finishChime() {
  if (chimeTimer) clearTimeout(chimeTimer);
  chimeTimer = 0;
  const done = chimeDone;
  chimeDone = null;
  if (done) done();
}

function playChime() {
  return new Promise((resolve) => {
    chimeDone = resolve;
    chimeTimer = setTimeout(finishChime, 3000);
    try {
      chime.currentTime = 0;
      const playing = chime.play();
      if (playing) {
        playing.catch((error) => {
          if (error && error.name === "NotAllowedError") soundBlocked(true);
          finishChime();
        });
      }
    } catch {
      finishChime();
    }
  });
}

function pickVoice(lang) {
  const base = lang.slice(0, 2);
  return voices.find((v) => v.lang === lang) || voices.find((v) => (v.lang || "").startsWith(base)) || null;
}

function speak(text, lang) {
  if (!("speechSynthesis" in window)) return Promise.resolve();
  return new Promise((resolve) => {
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    utterance.rate = 0.95;
    const voice = pickVoice(lang);
    if (voice) utterance.voice = voice;
    let timer = 0;
    const done = (event) => {
      if (timer) clearTimeout(timer);
      timer = 0;
      utterance.onend = null;
      utterance.onerror = null;
      if (event && event.error === "not-allowed") soundBlocked(true);
      resolve();
    };
    utterance.onend = done;
    utterance.onerror = done;
    // Some engines never report the end: move on after a generous reading time.
    timer = setTimeout(done, 3000 + text.length * 200);
    window.speechSynthesis.speak(utterance);
  });
}

function soundBlocked(blocked) {
  el.soundBlocked.hidden = !blocked;
}

function unlockSound() {
  if (el.soundBlocked.hidden) return;
  soundBlocked(false);
  // Inside a user gesture: lets later chimes and speech play without one.
  chime.muted = true;
  const playing = chime.play();
  const restore = () => { chime.pause(); chime.muted = false; chime.currentTime = 0; };
  if (playing) playing.then(restore, restore);
  if ("speechSynthesis" in window) window.speechSynthesis.speak(new SpeechSynthesisUtterance(" "));
}

function setSound(on, remember) {
  soundOn = on;
  if (remember) {
    try {
      localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {
      // storage disabled: the setting lasts until the page reloads
    }
  }
  if (!on) {
    pending.length = 0;
    if ("speechSynthesis" in window) window.speechSynthesis.cancel();
    chime.pause();
    finishChime();
    voice.pause();
    finishVoice(false);
  }
  el.sound.setAttribute("aria-pressed", String(on));
  el.soundLabel.textContent = on ? "音声 ON / Sound on" : "音声 OFF / Sound off";
  el.body.dataset.sound = on ? "on" : "off";
}

// ---------------------------------------------------------------- connection

let socket = null;
let socketOpenedAt = 0;
let gotSnapshot = false; // on the current socket
let heartbeatSeen = false; // on the current socket
let lastMessageAt = 0;
let heartbeatMs = HEARTBEAT_HINT_MS;
let attempt = 0;
let failures = 0;
let reconnectTimer = 0;
let resumeSentAt = 0;
let gapSince = 0;
let offlineSince = 0;
let closeReason = "";

let polling = false;
let pollTimer = 0;
let pollAbort = null;
let pollOk = false;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/ws/offices/${encodeURIComponent(OFFICE)}/lobby?token=${encodeURIComponent(TOKEN)}`;
}

function connect() {
  reconnectTimer = 0;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch {
    socketLost(0);
    return;
  }
  socket = ws;
  socketOpenedAt = Date.now();
  lastMessageAt = socketOpenedAt;
  gotSnapshot = false;
  heartbeatSeen = false;
  resumeSentAt = 0;
  gapSince = 0;
  ws.onmessage = (event) => {
    if (ws === socket) onMessage(event.data);
  };
  ws.onclose = (event) => {
    if (ws === socket) socketLost(event.code);
  };
  ws.onerror = null;
}

function detach(ws) {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
  try {
    ws.close();
  } catch {
    // already closed
  }
}

function socketLost(code) {
  if (socket) detach(socket);
  socket = null;
  if (!gotSnapshot) failures += 1;
  if (code === 4401) closeReason = "token";
  else if (code === 4404) closeReason = "office";
  else closeReason = "";
  if (!offlineSince) offlineSince = Date.now();
  setMode(polling && pollOk ? "polling" : "offline");
  if (failures >= FAILURES_BEFORE_POLLING) startPolling();
  scheduleReconnect();
}

function scheduleReconnect() {
  if (reconnectTimer) return;
  const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  attempt += 1;
  reconnectTimer = setTimeout(connect, Math.random() * cap); // full jitter
}

function reconnectNow() {
  if (socket) {
    const ws = socket;
    socket = null;
    detach(ws);
  }
  if (reconnectTimer) clearTimeout(reconnectTimer);
  reconnectTimer = 0;
  if (!offlineSince) offlineSince = Date.now();
  setMode("offline");
  scheduleReconnect();
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function requestResume(now) {
  if (!gapSince) gapSince = now;
  if (now - gapSince > RESUME_GIVE_UP_MS) {
    reconnectNow();
    return;
  }
  if (now - resumeSentAt < RESUME_RETRY_MS) return;
  resumeSentAt = now;
  send({ type: "resume", after_seq: lobby.last });
}

function onMessage(text) {
  const now = Date.now();
  const previous = lastMessageAt;
  lastMessageAt = now;
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return;
  }
  if (!msg || typeof msg.type !== "string") return;
  if (msg.type === "lobby.snapshot") {
    gotSnapshot = true;
    attempt = 0;
    failures = 0;
    gapSince = 0;
    resumeSentAt = 0;
    applySnapshot(msg, false);
    stopPolling();
    offlineSince = 0;
    closeReason = "";
    setMode("live");
    return;
  }
  if (!gotSnapshot || lobby.last === null) return; // the server always starts with a snapshot
  // Outside the sequence: a test announcement, or the office's display settings.
  if (msg.type === "display.test") {
    learnServerTime(msg.at);
    announceTest(msg.announcements);
    return;
  }
  if (msg.type === "display.settings") {
    learnServerTime(msg.at);
    applyQuietHours(msg.quiet_hours);
    return;
  }
  if (msg.type === "heartbeat") {
    heartbeatSeen = true;
    learnServerTime(msg.at);
    // The server beats after heartbeat_s of silence, so the quiet time before a beat is at least
    // its interval: the display learns it from there.
    heartbeatMs = Math.min(60000, Math.max(500, now - previous));
    if (lobby.epoch !== null && msg.epoch !== lobby.epoch) reconnectNow();
    else if (msg.seq > lobby.last) requestResume(now);
    return;
  }
  if (typeof msg.seq !== "number") return;
  if (msg.seq <= lobby.last) return;
  if (msg.seq > lobby.last + 1) {
    requestResume(now);
    return;
  }
  lobby.last = msg.seq;
  gapSince = 0;
  resumeSentAt = 0;
  applyEvent(msg);
}

function watchdog(now) {
  if (!socket) return;
  if (!gotSnapshot) {
    if (now - socketOpenedAt > CONNECT_TIMEOUT_MS) reconnectAfterSilence();
    return;
  }
  const beat = heartbeatSeen ? heartbeatMs : Math.max(heartbeatMs, HEARTBEAT_HINT_MS);
  if (now - lastMessageAt > SILENCE_FACTOR * beat) reconnectAfterSilence();
}

function reconnectAfterSilence() {
  const ws = socket;
  socket = null;
  if (ws) detach(ws);
  socketLost(0);
}

// ---------------------------------------------------------------- HTTP snapshot fallback

function startPolling() {
  if (polling) return;
  polling = true;
  pollOk = false;
  poll();
}

function stopPolling() {
  polling = false;
  pollOk = false;
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = 0;
  if (pollAbort) pollAbort.abort();
  pollAbort = null;
}

async function poll() {
  pollTimer = 0;
  const abort = new AbortController();
  pollAbort = abort;
  const timeout = setTimeout(() => abort.abort(), POLL_TIMEOUT_MS);
  let ok = false;
  try {
    const response = await fetch(`/api/v1/offices/${encodeURIComponent(OFFICE)}/lobby`, {
      headers: { Authorization: `Bearer ${TOKEN}`, Accept: "application/json" },
      cache: "no-store",
      signal: abort.signal,
    });
    if (response.ok) {
      const snap = await response.json();
      if (polling && !gotSnapshot) {
        applySnapshot(snap, true);
        ok = true;
      }
    } else if (response.status === 401) {
      closeReason = "token";
    } else if (response.status === 404) {
      closeReason = "office";
    }
  } catch {
    // offline or timed out: tried again below
  } finally {
    clearTimeout(timeout);
    if (pollAbort === abort) pollAbort = null;
  }
  if (!polling) return;
  pollOk = ok;
  if (!socket || !gotSnapshot) setMode(ok ? "polling" : "offline");
  pollTimer = setTimeout(poll, POLL_MS);
}

// ---------------------------------------------------------------- connection banner

let mode = "connecting";

function setMode(next) {
  mode = next;
  el.body.dataset.connection = next;
  renderBanner(Date.now());
}

const BANNERS = {
  offline: ["サーバーに接続できません。再接続しています…", "Connection lost. Reconnecting…"],
  polling: ["リアルタイム接続が切れています。5秒ごとに更新しています", "Live connection lost. Updating every 5 seconds"],
  token: ["表示用トークンが無効です。管理者にご連絡ください", "This display's token is not valid. Please contact the administrator"],
  office: ["窓口が見つかりません。URL をご確認ください", "Office not found. Please check the URL"],
};

function renderBanner(now) {
  const down = mode === "offline" || mode === "polling";
  const show = down && offlineSince && now - offlineSince >= BANNER_GRACE_MS;
  if (!show) {
    if (!el.banner.hidden) el.banner.hidden = true;
    return;
  }
  const [ja, en] = BANNERS[closeReason] || BANNERS[mode];
  setText(el.bannerJa, ja);
  setText(el.bannerEn, en);
  setAttr(el.banner, "data-kind", closeReason ? "error" : mode);
  if (el.banner.hidden) el.banner.hidden = false;
}

// ---------------------------------------------------------------- start

function tick() {
  const now = Date.now();
  renderClock(now);
  renderQuiet();
  if (ageOut()) render();
  watchdog(now);
  renderBanner(now);
}

function start() {
  buildCallSlots();
  setSound(soundOn, false);
  setVolume(volume, false);
  el.sound.addEventListener("click", () => setSound(!soundOn, true));
  el.volume.addEventListener("input", () => setVolume(Number(el.volume.value) / 100, true));
  voice.addEventListener("ended", () => finishVoice(true));
  voice.addEventListener("error", () => finishVoice(false));
  document.addEventListener("pointerdown", unlockSound);
  document.addEventListener("keydown", unlockSound);
  chime.addEventListener("ended", finishChime);
  chime.addEventListener("error", finishChime);
  if ("speechSynthesis" in window) {
    const loadVoices = () => { voices = window.speechSynthesis.getVoices(); };
    loadVoices();
    window.speechSynthesis.addEventListener("voiceschanged", loadVoices);
  }
  render();
  tick();
  setInterval(tick, 500);
  if (!OFFICE || !TOKEN) {
    document.getElementById("setup").hidden = false;
    return;
  }
  connect();
}

start();
