// 和暦 as operators type it (R6.4.1, 令和6年4月1日, H2/5/5, 2024-04-01, R060401) and as the console
// shows it back: both the ISO date and the 和暦. The server normalises again on submit and has
// the last word (uncertain forms such as 不詳 or 上旬 are left to it). Also the My Number check digit.

const ERAS = [
  { name: "明治", initial: "M", kanji: "明", offset: 1867, first: "1873-01-01", last: "1912-07-30" },
  { name: "大正", initial: "T", kanji: "大", offset: 1911, first: "1912-07-30", last: "1926-12-25" },
  { name: "昭和", initial: "S", kanji: "昭", offset: 1925, first: "1926-12-25", last: "1989-01-07" },
  { name: "平成", initial: "H", kanji: "平", offset: 1988, first: "1989-01-08", last: "2019-04-30" },
  { name: "令和", initial: "R", kanji: "令", offset: 2018, first: "2019-05-01", last: "9999-12-31" },
];
const BY_TOKEN = new Map(ERAS.flatMap((era) => [[era.name, era], [era.initial, era], [era.kanji, era]]));
const KANJI_DIGITS = { "〇": "0", 一: "1", 二: "2", 三: "3", 四: "4", 五: "5", 六: "6", 七: "7", 八: "8", 九: "9" };
const CORE = /^(?:(明治|大正|昭和|平成|令和|[明大昭平令MTSHR])(元|\d{1,2}|\d{3}(?=年|[./-]))|(\d{4}))(?:年|[./-])?(?:(\d{1,2})(?:月|[./-])?(?:(\d{1,2})日?)?)?$/;
const UNCERTAIN = /不詳|不明|頃|ころ|推定|上旬|初旬|中旬|下旬|から|まで|[~〜○◯?]/;

function kanjiNumber(run) {
  if (!run.includes("十")) return [...run].map((c) => KANJI_DIGITS[c]).join("");
  const [tens, ones] = run.split("十");
  if (tens.length > 1 || (ones || "").length > 1) return run;
  return String(Number(KANJI_DIGITS[tens] || (tens ? "x" : "1")) * 10 + Number(ones ? KANJI_DIGITS[ones] : 0));
}

function prepare(text) {
  let s = String(text || "").normalize("NFKC").replace(/\s+/g, "").toUpperCase().replace(/\.$/, "");
  s = s.replace(/[〇一二三四五六七八九十]{1,4}/g, kanjiNumber);
  return s.replace(/生まれ$|生$/, "");
}

const pad = (n) => String(n).padStart(2, "0");

/** The era of an ISO day: the newest era that had begun (大正元年7月30日, not 明治45年). */
function eraOf(iso) {
  for (let i = ERAS.length - 1; i >= 0; i -= 1) if (iso >= ERAS[i].first) return ERAS[i];
  return null;
}

export function warekiText(iso, era = eraOf(iso)) {
  if (!era) return "";
  const [y, m, d] = iso.split("-").map(Number);
  const year = y - era.offset;
  return `${era.name}${year === 1 ? "元" : year}年${m}月${d}日`;
}

/**
 * Read a typed date. Returns {iso, wareki} for an exact real day, {partial: true} for something
 * the server reads as an uncertain or partial date, {unreadable: true} for a field marked ●,
 * {error: message} otherwise, null if blank.
 */
export function readDate(text) {
  const s = prepare(text);
  if (!s) return null;
  if (s.includes("●")) return { unreadable: true };
  if (UNCERTAIN.test(s)) return { partial: true };
  const match = CORE.exec(s);
  if (!match) return { error: "日付として読めません (not a readable date)" };
  const [, token, eraYear, gregorian, monthText, dayText] = match;
  const era = token ? BY_TOKEN.get(token) : null;
  const yearInEra = eraYear === "元" ? 1 : Number(eraYear);
  if (era && yearInEra === 0) return { error: "元号の範囲外です (date outside its era)" };
  if (!monthText || !dayText) return { partial: true };
  const year = era ? yearInEra + era.offset : Number(gregorian);
  const month = Number(monthText);
  const day = Number(dayText);
  const real = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || real.getUTCMonth() !== month - 1 || real.getUTCDate() !== day) {
    return { error: "存在しない日付です (no such date)" };
  }
  const iso = `${String(year).padStart(4, "0")}-${pad(month)}-${pad(day)}`;
  if (era && (iso < era.first || iso > era.last)) return { error: "元号の範囲外です (date outside its era)" };
  if (iso < "1873-01-01") return { error: "明治6年より前の日付は扱えません (before 1873)" };
  return { iso, wareki: warekiText(iso, era || eraOf(iso)) };
}

/** 個人番号 check digit (DOMAIN.md §4.1); null when the base is not 11 digits. */
export function myNumberCheckDigit(first11) {
  if (!/^\d{11}$/.test(first11)) return null;
  let total = 0;
  for (let n = 1; n <= 11; n += 1) total += Number(first11[11 - n]) * (n <= 6 ? n + 1 : n - 5);
  const remainder = total % 11;
  return remainder <= 1 ? 0 : 11 - remainder;
}

/** "ok", "masked", "format" or "check_digit" for what is in a My Number box. */
export function checkMyNumber(text) {
  const s = String(text || "").normalize("NFKC").replace(/[\s-]/g, "");
  if (!s) return null;
  if (s.startsWith("*")) return "masked";
  if (!/^\d{12}$/.test(s)) return "format";
  return myNumberCheckDigit(s.slice(0, 11)) === Number(s[11]) ? "ok" : "check_digit";
}
