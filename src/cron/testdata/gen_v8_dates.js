// Probes Node's Date.parse (what croner 8.1.2 hands a one-shot schedule to) on generated
// date-like strings. Output, one per line: ms under TZ=UTC, ms under TZ=Asia/Kolkata (or NaN),
// and the string with `\\`, non-ASCII, control characters and outer spaces written as \u{hex}.
// Run with Node 20: node gen_v8_dates.js > all.tsv (it re-runs itself under each TZ).
// v8_dates.tsv keeps the strings the cron module recognises or rejects, and every 25th other.
const { execFileSync } = require("child_process");
if (process.argv[2] === "--eval") {
  const xs = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify(xs.map((s) => { const t = Date.parse(s); return isNaN(t) ? "NaN" : String(t); })));
  process.exit(0);
}
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const pick = (a) => a[rnd(a.length)];
const out = new Set();
const years = ["2030", "0000", "1969", "9999", "203", "20300"];
const months = ["00", "01", "02", "04", "12", "13", "1", "99"];
const days = ["00", "01", "28", "29", "30", "31", "32", "1"];
const hours = ["00", "09", "23", "24", "25", "9", "99"];
const minutes = ["00", "30", "59", "60", "5"];
const seconds = ["", ":00", ":59", ":60", ":5"];
const fractions = ["", ".0", ".000", ".001", ".5", ".1234567", "."];
const zones = ["", "Z", "z", "+02:00", "+0200", "-05:30", "+24:00", "+23:59", "+23:60", "+02", "-00:00", " Z", " +02:00", " GMT", "+2:00", "+02:0"];
const seps = ["T", "t", " ", "  ", "_"];
const wss = ["", " ", "\t", "\n", "\u00a0", "\u2028", "\ufeff"];
for (let i = 0; i < 9000; i++) {
  const sec = pick(seconds);
  const frac = sec ? pick(fractions) : (rnd(8) === 0 ? pick(fractions) : "");
  let s = `${pick(years)}-${pick(months)}-${pick(days)}${pick(seps)}${pick(hours)}:${pick(minutes)}${sec}${frac}${pick(zones)}`;
  if (rnd(4) === 0) s = pick(wss) + s + pick(wss);
  out.add(s);
}
// Each ISO component varied alone around valid bases.
for (const sep of ["T", " "]) for (const z of zones) for (const sec of seconds) for (const f of fractions)
  out.add(`2030-02-28${sep}24:00${sec}${sec ? f : ""}${z}`);
for (const sep of ["T", " "]) for (const m of months) for (const d of days) out.add(`2030-${m}-${d}${sep}10:00`);
for (const sep of ["T", " "]) for (const h of hours) for (const mi of minutes) for (const s of seconds) out.add(`2030-01-01${sep}${h}:${mi}${s}`);
for (const w of wss) for (const w2 of wss) for (const core of ["2030-01-01T00:00:00", "2030-01-01 00:00:00", "2030-01-01T00:00Z", "2030-01-01 00:00+02:00", "0 9:30 * * *", "Jan 1 2030 10:00", "2030/01/01 10:00", "2026-13-01 00:00:00", "2026-13-01T00:00:00"]) out.add(w + core + w2);
// cron-like
for (const lead of ["0", "00", "1", "5", "12", "13", "31", "32", "49", "50"]) for (const h of ["0", "9", "09", "23", "24", "25"]) for (const m of ["00", "30", "59", "60", "5"]) for (const s of ["", ":00", ":59", ":60"]) for (const tail of [" * * *", " * * 1-5", " ? * *", "", " *", " 1 * *", "  * * *"]) out.add(`${lead} ${h}:${m}${s}${tail}`);
// month names
for (const mon of ["Jan", "jan", "JAN", "January", "january", "Feb", "Sep", "Sept", "September", "May", "Jun", "Ju", "Dec", "Foo"]) for (const d of ["0", "1", "01", "29", "30", "31", "32", "100"]) for (const comma of ["", ","]) for (const y of ["2030", "30", "0000", "99999"]) for (const t of ["10:00", "1:00", "24:00", "24:01", "25:00", "10:60", "10:00:30", "10:00:60", "10:5"]) if (rnd(3) === 0) out.add(`${mon} ${d}${comma} ${y} ${t}`);
// slashed
for (const y of ["2030", "0000", "30", "99999"]) for (const m of ["0", "00", "1", "01", "12", "13"]) for (const d of ["0", "1", "01", "29", "31", "32"]) for (const t of ["10:00", "1:00", "24:00", "24:01", "10:60", "10:00:59", "10:00:60", "10:5", "10:00Z"]) out.add(`${y}/${m}/${d} ${t}`);
for (const s of ["x 1:2", "10:00", "a:b", "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00+02", "20300101T000000", "2030-01T00:00", "2030T00:00", "+002030-01-01T00:00:00", "12/31/2030 10:00", "2030.01.01 10:00", "Mon Jan 1 2030 10:00", "1 Jan 2030 10:00"]) out.add(s);
const list = [...out].filter((s) => s.indexOf(":") > 0);
const run = (tz) => JSON.parse(execFileSync(process.execPath, [__filename, "--eval"], { input: JSON.stringify(list), env: { ...process.env, TZ: tz }, maxBuffer: 1 << 28 }).toString());
const utc = run("UTC"), ist = run("Asia/Kolkata");
const escape = (s) => [...s].map((c, i, all) => {
  const edge = c === " " && (i === 0 || i === all.length - 1);
  if (c === "\\") return "\\\\";
  if (!edge && c >= " " && c <= "~") return c;
  return `\\u{${c.codePointAt(0).toString(16)}}`;
}).join("");
const lines = list.map((s, i) => `${utc[i]}\t${ist[i]}\t${escape(s)}`);
process.stdout.write(lines.join("\n") + "\n");
