// Message catalogues of the resident-facing pages (kiosk, status page): one JSON file per language
// in /web-common/i18n/, the list of languages in languages.json. Japanese is the reference: every
// catalogue has exactly its keys (tests/test_i18n_catalogues.py).

const BASE = "/web-common/i18n/";
const cache = new Map();
let languageList = null;

/** [{code, lang, name}]: code as stored on the ticket, lang for the `lang` attribute. */
export async function languages() {
  if (!languageList) {
    languageList = fetchJson(`${BASE}languages.json`).catch((error) => {
      languageList = null; // asked again next time
      throw error;
    });
  }
  return languageList;
}

async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** A language's catalogue; an unknown code falls back to Japanese. */
export async function catalogue(code) {
  const known = (await languages()).find((l) => l.code === code) || (await languages())[0];
  if (!cache.has(known.code)) {
    const loading = fetchJson(`${BASE}${encodeURIComponent(known.code)}.json`).then(
      (messages) => ({ code: known.code, lang: known.lang, messages }),
      (error) => {
        cache.delete(known.code); // asked again next time
        throw error;
      },
    );
    cache.set(known.code, loading);
  }
  return cache.get(known.code);
}

/** The text of a key with {name} placeholders filled from vars. */
export function text(cat, key, vars = {}) {
  const template = cat.messages[key];
  if (template === undefined) return key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/**
 * Fill node with a key's text, where a placeholder may be an element (a bold number keeps its
 * element and id): fill(node, cat, "kiosk.people", {n: element}).
 */
export function fill(node, cat, key, vars = {}) {
  const template = cat.messages[key] ?? key;
  const parts = [];
  let last = 0;
  for (const match of template.matchAll(/\{(\w+)\}/g)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    const value = vars[match[1]];
    parts.push(value instanceof Node ? value : String(value ?? match[0]));
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  node.replaceChildren(...parts);
}

/**
 * Apply a catalogue to the page: [data-i18n] text, [data-i18n-alt] and [data-i18n-label]
 * (aria-label) attributes, the document's lang and title.
 */
export function applyCatalogue(cat, titleKey) {
  document.documentElement.lang = cat.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = text(cat, node.dataset.i18n);
    if (node.textContent !== value) node.textContent = value;
  }
  for (const node of document.querySelectorAll("[data-i18n-alt]")) {
    node.setAttribute("alt", text(cat, node.dataset.i18nAlt));
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", text(cat, node.dataset.i18nLabel));
  }
  if (titleKey) document.title = text(cat, titleKey);
}

/** "3" → "3番窓口" / "Counter 3"; other labels by counter_named, not doubling a suffix. */
export function counterText(cat, label) {
  if (/^\d+$/.test(label)) return text(cat, "status.counter_number", { label });
  const template = cat.messages["status.counter_named"] || "{label}";
  const suffix = template.split("{label}")[1] || "";
  if (suffix.trim() && label.endsWith(suffix.trim())) return label;
  return text(cat, "status.counter_named", { label });
}
