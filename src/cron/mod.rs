//! The cron dialect of JavaScript croner 8.1.2, exactly as instar uses it: `new Cron(schedule)`
//! with no options and the schedule untrimmed (spec §3.4, design §7).
//!
//! croner does not tokenise: it rewrites the pattern text (nicknames, `L`, month and day names,
//! `?`) and then reads each field with JavaScript's `parseInt`. Its quirks (`5L` read as `5`, an
//! empty list element tolerated next to `L`, a step without a start selecting nothing) all come
//! from that, so we replay the same steps in the same order. Every character we keep remembers
//! the bytes of the original string it came from, so each error can point at its source.

mod days;
mod field;
mod oneshot;
#[cfg(test)]
mod tests;

pub use crate::calendar::{civil_from_days, days_from_civil, parse_rfc3339};
pub use days::now_from_epoch;

use field::FieldText;

/// A byte range inside the pattern `&str`, always on `char` boundaries.
pub type Span = std::ops::Range<usize>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    pub kind: ErrorKind,
    pub message: String,
    /// The offending part: a field, a token inside it, the whitespace, or (for field-count
    /// errors) the whole string.
    pub span: Span,
}

impl CronError {
    fn new(kind: ErrorKind, message: impl Into<String>, span: Span) -> Self {
        CronError {
            kind,
            message: message.into(),
            span,
        }
    }
}

impl std::fmt::Display for CronError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CronError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The schedule is empty or only whitespace.
    Empty,
    /// Leading or trailing whitespace: croner splits on it and gets an empty field.
    Whitespace,
    FieldCount,
    Range,
    Syntax,
    IllegalChar,
    DayOfWeek,
    /// Starts with `@` but is not one of the six nicknames croner 8.1.2 knows.
    Nickname,
    /// A one-shot date that JavaScript's `Date.parse` rejects.
    InvalidDate,
    /// A field that selects nothing (`* /5 * * *`): croner's search recurses until the stack
    /// overflows and throws a RangeError.
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Second,
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// The documented value range, for messages.
    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Second | Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A successfully parsed schedule.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "the contract fixes this shape; a schedule lives only while one entry is checked"
)]
pub enum Schedule {
    /// A recurring pattern (including nicknames, mapped).
    Pattern(Pattern),
    /// Rule 1: contains ':' at an index > 0, handed to the date parser. Accepted by croner.
    OneShot(OneShot),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    /// Seconds since the Unix epoch with the local wall-clock time read as UTC (or the exact
    /// instant when `zoned`); `None` when we cannot evaluate the form (then `recognised` is false).
    pub naive_epoch_seconds: Option<i64>,
    /// true for forms we know JavaScript's `Date.parse` accepts; false for any other string with
    /// a colon, which the doctor reports as a warning (design §7).
    pub recognised: bool,
    /// The string names its own offset (`Z`, `+02:00`): `naive_epoch_seconds` is then an exact
    /// instant, independent of the server's zone.
    pub zoned: bool,
}

/// In a [`Pattern::days_of_week`] mask, bit `n - 1` stands for `d#n` (the n-th such weekday of
/// the month, 1-5) and this bit for `d#L` (the last one).
pub const NTH_LAST: u8 = field::NTH_LAST;
/// The mask of a plain weekday: every occurrence.
pub const NTH_ANY: u8 = field::NTH_ANY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Bit `s` set when second `s` fires.
    pub seconds: u64,
    pub minutes: u64,
    pub hours: u32,
    /// Bit `d` for day `d` (1..=31).
    pub days_of_month: u32,
    /// Bit `m` for month `m` (1..=12).
    pub months: u16,
    /// Indexed by weekday, 0 = Sunday (7 already folded to 0); see [`NTH_ANY`].
    pub days_of_week: [u8; 7],
    /// `L` in the day-of-month field.
    pub last_day_of_month: bool,
    /// The day-of-month field was not exactly `*` (croner's `starDOM` is false).
    pub dom_restricted: bool,
    /// The day-of-week field was not exactly `*`.
    pub dow_restricted: bool,
    /// Rule 6: each `?` that was replaced by the current time's value (non-deterministic).
    pub question_marks: Vec<Span>,
    /// Rule 10: a day-of-week number followed by `L` (`5L`), which croner reads as the plain
    /// weekday (every Friday, not the last one). Span of the whole token.
    pub last_weekday_traps: Vec<Span>,
    /// Other numbers with trailing characters `parseInt` silently drops (`5*` read as `5`).
    pub ignored_suffixes: Vec<Span>,
    field_spans: [Option<Span>; 6],
    whole: Span,
}

impl Pattern {
    /// The bytes of a field in the original string; `None` for the implicit seconds of a
    /// five-field pattern. Nickname fields all map to the nickname.
    pub fn field_span(&self, field: Field) -> Option<Span> {
        self.field_spans[field.index()].clone()
    }

    /// Rule 12: true when no date can ever match (`0 0 30 2 *`, `0 0 31 4 *`), considering leap
    /// years, `L`, nth weekdays and legacyMode's OR of day-of-month and day-of-week.
    pub fn never_fires(&self) -> bool {
        !days::any_matching_day(self)
    }

    /// The fields responsible when [`Pattern::never_fires`]: day-of-month through month.
    pub fn never_fires_span(&self) -> Span {
        match (
            self.field_span(Field::DayOfMonth),
            self.field_span(Field::Month),
        ) {
            (Some(dom), Some(month)) => dom.start..month.end,
            _ => self.whole.clone(),
        }
    }
}

/// The clock croner reads for `?` (rule 6): year, month 1-12, day 1-31, hour, minute, second,
/// weekday 0 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub weekday: u32,
}

/// Parse a schedule the way `new Cron(schedule)` does in croner 8.1.2.
pub fn parse(pattern: &str, now: &Now) -> Result<Schedule, CronError> {
    let whole = 0..pattern.len();
    if pattern.is_empty() {
        return Err(CronError::new(
            ErrorKind::Empty,
            "the schedule is empty",
            whole,
        ));
    }
    // croner checks `indexOf(":") > 0` before anything else, so the first colon decides.
    if pattern.find(':').is_some_and(|i| i > 0) {
        return oneshot::parse(pattern).map(Schedule::OneShot);
    }
    let core = js_trim(pattern);
    if core.is_empty() {
        return Err(CronError::new(
            ErrorKind::Empty,
            "the schedule is only whitespace",
            whole,
        ));
    }
    let fields = if pattern.contains('@') {
        nickname_fields(pattern, core)?
    } else {
        reject_outer_whitespace(pattern, &core)?;
        split_fields(pattern, core)
    };
    if !(5..=6).contains(&fields.len()) {
        return Err(CronError::new(
            ErrorKind::FieldCount,
            format!(
                "expected 5 or 6 space-separated fields, found {}",
                fields.len()
            ),
            whole,
        ));
    }
    build(pattern, fields, now).map(Schedule::Pattern)
}

/// What JavaScript's `\s` and `String.prototype.trim` treat as whitespace. Not
/// `char::is_whitespace`: JavaScript includes U+FEFF and excludes U+0085.
fn is_js_space(c: char) -> bool {
    const SINGLES: [char; 14] = [
        '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{a0}', '\u{1680}', '\u{2028}', '\u{2029}',
        '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
    ];
    SINGLES.contains(&c) || ('\u{2000}'..='\u{200a}').contains(&c)
}

/// The span JavaScript's `trim()` keeps; empty at the end for an all-whitespace string.
fn js_trim(s: &str) -> Span {
    let start = s.len() - s.trim_start_matches(is_js_space).len();
    let end = s.trim_end_matches(is_js_space).len().max(start);
    start..end
}

/// One character of a rewritten field and the bytes of the original string it stands for.
#[derive(Debug, Clone, Copy)]
struct Sym {
    ch: char,
    start: usize,
    end: usize,
}

type Text = Vec<Sym>;

fn span_of(text: &[Sym]) -> Option<Span> {
    let start = text.iter().map(|s| s.start).min()?;
    let end = text.iter().map(|s| s.end).max()?;
    Some(start..end)
}

fn text_is(text: &[Sym], literal: &str) -> bool {
    text.iter().map(|s| s.ch).eq(literal.chars())
}

/// A field as croner's `split(" ")` yields it, and its original bytes.
struct RawField {
    text: Text,
    span: Span,
}

/// Rule 2: croner lowercases and trims only to compare with the six nicknames; any string
/// containing `@` is trimmed before splitting, so whitespace is never the error there.
fn nickname_fields(pattern: &str, core: Span) -> Result<Vec<RawField>, CronError> {
    let text = &pattern[core.clone()];
    let expansion = match text.to_lowercase().as_str() {
        "@yearly" | "@annually" => Some("0 0 1 1 *"),
        "@monthly" => Some("0 0 1 * *"),
        "@weekly" => Some("0 0 * * 0"),
        "@daily" => Some("0 0 * * *"),
        "@hourly" => Some("0 * * * *"),
        _ => None,
    };
    match expansion {
        Some(expansion) => Ok(expansion
            .split(' ')
            .map(|part| RawField {
                text: part
                    .chars()
                    .map(|ch| Sym {
                        ch,
                        start: core.start,
                        end: core.end,
                    })
                    .collect(),
                span: core.clone(),
            })
            .collect()),
        None if text.starts_with('@') => Err(CronError::new(
            ErrorKind::Nickname,
            format!(
                "unknown nickname '{text}': croner 8.1.2 knows only @yearly, @annually, \
                 @monthly, @weekly, @daily and @hourly"
            ),
            core,
        )),
        None => Ok(split_fields(pattern, core)),
    }
}

/// Rule 3: leading or trailing whitespace becomes an empty first or last field, which croner
/// always rejects, so the whitespace itself is the error (and trimming is the fix).
fn reject_outer_whitespace(pattern: &str, core: &Span) -> Result<(), CronError> {
    let (span, place) = if core.start > 0 {
        (0..core.start, "leading")
    } else if core.end < pattern.len() {
        (core.end..pattern.len(), "trailing")
    } else {
        return Ok(());
    };
    Err(CronError::new(
        ErrorKind::Whitespace,
        format!(
            "{place} whitespace: croner 8.1.2 splits the schedule on whitespace without \
             trimming it and gets an empty field"
        ),
        span,
    ))
}

/// Runs of non-whitespace inside `core`, as `replace(/\s+/g, " ").split(" ")` sees them.
fn split_fields(pattern: &str, core: Span) -> Vec<RawField> {
    let mut fields = Vec::new();
    let mut current: Text = Vec::new();
    for (offset, ch) in pattern[core.clone()].char_indices() {
        let start = core.start + offset;
        if is_js_space(ch) {
            flush_field(&mut fields, &mut current);
        } else {
            current.push(Sym {
                ch,
                start,
                end: start + ch.len_utf8(),
            });
        }
    }
    flush_field(&mut fields, &mut current);
    fields
}

fn flush_field(fields: &mut Vec<RawField>, current: &mut Text) {
    if let Some(span) = span_of(current) {
        fields.push(RawField {
            text: std::mem::take(current),
            span,
        });
    }
}

/// Everything after the field count, in croner's order: `L`, names, `?`, illegal characters,
/// then each field's values, then the empty-field (stack overflow) check.
fn build(pattern: &str, fields: Vec<RawField>, now: &Now) -> Result<Pattern, CronError> {
    let (mut texts, field_spans) = six_fields(fields);
    let rewrite = rewrite(&mut texts, now);
    let mut ascii = Vec::with_capacity(6);
    for field in Field::ALL {
        let text = &texts[field.index()];
        check_characters(pattern, field, text)?;
        ascii.push(FieldText::from_ascii(
            text.iter().map(|s| (s.ch, s.start, s.end)),
        ));
    }
    let whole = 0..pattern.len();
    let mut outcomes = Vec::with_capacity(6);
    for (field, text) in Field::ALL.into_iter().zip(&ascii) {
        let field_span = field_spans[field.index()].clone().unwrap_or(whole.clone());
        let reader =
            field::Reader::new(pattern, field, text, rewrite.last_day_of_month, field_span);
        outcomes.push(reader.read()?);
    }
    let pattern = assemble(outcomes, rewrite, field_spans, whole);
    reject_empty_fields(&pattern)?;
    Ok(pattern)
}

/// Places the fields at croner's six positions; a five-field pattern gets seconds "0", which
/// can never be wrong and so needs no real origin.
fn six_fields(fields: Vec<RawField>) -> ([Text; 6], [Option<Span>; 6]) {
    let mut texts: [Text; 6] = Default::default();
    let mut spans: [Option<Span>; 6] = Default::default();
    let skip = 6usize.saturating_sub(fields.len());
    if skip > 0 {
        texts[0] = vec![Sym {
            ch: '0',
            start: 0,
            end: 0,
        }];
    }
    let slots = texts.iter_mut().zip(spans.iter_mut()).skip(skip);
    for ((text, span), raw) in slots.zip(fields) {
        *text = raw.text;
        *span = Some(raw.span);
    }
    (texts, spans)
}

/// What croner records while rewriting the text, before it reads any value.
struct Rewrite {
    last_day_of_month: bool,
    dom_restricted: bool,
    dow_restricted: bool,
    question_marks: Vec<Span>,
}

/// Rules 4-6, in croner's order: the `*` checks sit between the rewrites on purpose, so `L`
/// alone leaves a restricted (empty) day-of-month and `?` never counts as `*`.
fn rewrite(texts: &mut [Text; 6], now: &Now) -> Rewrite {
    let dom = Field::DayOfMonth.index();
    let (month, dow) = (Field::Month.index(), Field::DayOfWeek.index());
    let last_day_of_month = take_first_l(&mut texts[dom]);
    let dom_restricted = !text_is(&texts[dom], "*");
    texts[month] = replace_names(&texts[month], &MONTH_NAMES);
    texts[dow] = replace_names(&texts[dow], &DAY_NAMES);
    let dow_restricted = !text_is(&texts[dow], "*");
    let question_marks = substitute_question_marks(texts, now);
    Rewrite {
        last_day_of_month,
        dom_restricted,
        dow_restricted,
        question_marks,
    }
}

fn assemble(
    mut outcomes: Vec<field::Outcome>,
    rewrite: Rewrite,
    field_spans: [Option<Span>; 6],
    whole: Span,
) -> Pattern {
    let mut last_weekday_traps = Vec::new();
    let mut ignored_suffixes = Vec::new();
    for outcome in &mut outcomes {
        last_weekday_traps.append(&mut outcome.traps);
        ignored_suffixes.append(&mut outcome.suffixes);
    }
    let bits = |f: Field| outcomes.get(f.index()).map_or(0, |o| o.bits);
    Pattern {
        seconds: bits(Field::Second),
        minutes: bits(Field::Minute),
        hours: u32::try_from(bits(Field::Hour)).unwrap_or(u32::MAX),
        // Slot 0 is day 1 and month 1: shift so that bit n means n.
        days_of_month: u32::try_from(bits(Field::DayOfMonth) << 1).unwrap_or(u32::MAX),
        months: u16::try_from(bits(Field::Month) << 1).unwrap_or(u16::MAX),
        days_of_week: outcomes
            .get(Field::DayOfWeek.index())
            .map_or([0; 7], |o| o.weekdays),
        last_day_of_month: rewrite.last_day_of_month,
        dom_restricted: rewrite.dom_restricted,
        dow_restricted: rewrite.dow_restricted,
        question_marks: rewrite.question_marks,
        last_weekday_traps,
        ignored_suffixes,
        field_spans,
        whole,
    }
}

/// Rule 4: croner removes the first uppercase `L` of the day-of-month field and sets the
/// last-day flag; whatever else is there (`W`, a second `L`) stays to be judged.
fn take_first_l(text: &mut Text) -> bool {
    match text.iter().position(|s| s.ch == 'L') {
        Some(i) => {
            text.remove(i);
            true
        }
        None => false,
    }
}

const MONTH_NAMES: [(&str, &str); 12] = [
    ("jan", "1"),
    ("feb", "2"),
    ("mar", "3"),
    ("apr", "4"),
    ("may", "5"),
    ("jun", "6"),
    ("jul", "7"),
    ("aug", "8"),
    ("sep", "9"),
    ("oct", "10"),
    ("nov", "11"),
    ("dec", "12"),
];

/// `-sun` first so that `MON-SUN` becomes the ascending `1-7`.
const DAY_NAMES: [(&str, &str); 8] = [
    ("-sun", "-7"),
    ("sun", "0"),
    ("mon", "1"),
    ("tue", "2"),
    ("wed", "3"),
    ("thu", "4"),
    ("fri", "5"),
    ("sat", "6"),
];

/// Rule 5: croner's chain of global, case-insensitive `replace` calls, one name at a time.
/// JavaScript's `/i` never folds a non-ASCII character onto an ASCII one, hence ASCII matching.
fn replace_names(text: &[Sym], names: &[(&str, &str)]) -> Text {
    let mut current = text.to_vec();
    for (name, digits) in names {
        current = replace_all(&current, name, digits);
    }
    current
}

fn replace_all(text: &[Sym], name: &str, replacement: &str) -> Text {
    let needle: Vec<char> = name.chars().collect();
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + needle.len());
        let hit = candidate.is_some_and(|window| {
            window
                .iter()
                .zip(&needle)
                .all(|(sym, want)| sym.ch.eq_ignore_ascii_case(want))
        });
        match candidate {
            Some(window) if hit => {
                out.extend(map_replacement(window, replacement));
                i += needle.len();
            }
            _ => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// A leading `-` keeps its own origin; the digits stand for the name they replace.
fn map_replacement(window: &[Sym], replacement: &str) -> Text {
    let (dash, name) = match (window.first(), replacement.starts_with('-')) {
        (Some(first), true) if first.ch == '-' => (Some(*first), &window[1..]),
        _ => (None, window),
    };
    let origin = span_of(name).unwrap_or(0..0);
    dash.into_iter()
        .chain(replacement.chars().filter(|&c| c != '-').map(|ch| Sym {
            ch,
            start: origin.start,
            end: origin.end,
        }))
        .collect()
}

/// Rule 6: croner replaces the first `?` of each field with the current time's value.
fn substitute_question_marks(texts: &mut [Text; 6], now: &Now) -> Vec<Span> {
    let values = [
        now.second,
        now.minute,
        now.hour,
        now.day,
        now.month,
        now.weekday,
    ];
    let mut found = Vec::new();
    for (text, value) in texts.iter_mut().zip(values) {
        let Some(i) = text.iter().position(|s| s.ch == '?') else {
            continue;
        };
        let mark = text[i];
        let digits: Text = value
            .to_string()
            .chars()
            .map(|ch| Sym { ch, ..mark })
            .collect();
        text.splice(i..=i, digits);
        found.push(mark.start..mark.end);
    }
    found
}

/// Rule 7: only `/ * 0-9 , -` survive, plus `#` and `L` in the day-of-week field.
fn check_characters(pattern: &str, field: Field, text: &[Sym]) -> Result<(), CronError> {
    let allowed = |c: char| {
        matches!(c, '/' | '*' | '0'..='9' | ',' | '-')
            || (field == Field::DayOfWeek && matches!(c, '#' | 'L'))
    };
    let Some(first) = text.iter().position(|s| !allowed(s.ch)) else {
        return Ok(());
    };
    let run_len = text[first..].iter().take_while(|s| !allowed(s.ch)).count();
    let run = &text[first..first + run_len];
    let span = span_of(run).unwrap_or(0..0);
    let shown: String = run.iter().map(|s| s.ch).collect();
    let shown = pattern.get(span.clone()).unwrap_or(&shown);
    Err(CronError::new(
        ErrorKind::IllegalChar,
        illegal_message(field, shown),
        span,
    ))
}

fn illegal_message(field: Field, run: &str) -> String {
    let lower = run.to_ascii_lowercase();
    let starts_with_any = |names: &[(&str, &str)]| {
        names
            .iter()
            .any(|(name, _)| lower.starts_with(name.trim_start_matches('-')))
    };
    let name = field.name();
    if field == Field::Month && starts_with_any(&DAY_NAMES) {
        return format!("'{run}' is a day name; the month field takes 1-12 or JAN-DEC");
    }
    if field == Field::DayOfWeek && starts_with_any(&MONTH_NAMES) {
        return format!("'{run}' is a month name; the day-of-week field takes 0-7 or SUN-SAT");
    }
    if field == Field::DayOfMonth && run.contains('W') {
        return format!(
            "'{run}': W (nearest weekday) is not supported by croner 8.1.2 in the {name} field"
        );
    }
    if field == Field::DayOfMonth && run.contains('l') {
        return format!("'{run}': only an uppercase L (last day of the month) is recognised");
    }
    if run.contains('?') {
        return format!("'{run}': croner 8.1.2 replaces only the first '?' of a field");
    }
    if field == Field::DayOfMonth && run.contains('L') {
        return format!("'{run}': only one L is allowed in the {name} field");
    }
    let extra = if field == Field::DayOfWeek {
        ", # and L"
    } else {
        ""
    };
    format!("illegal character(s) '{run}' in the {name} field (allowed: digits, * , - /{extra})")
}

/// Rule 9's RangeError: a field that parses but selects nothing (`/5` has no start, `70/5`
/// starts past the end). `new Cron()` itself accepts it, but croner's next-run search restarts
/// itself recursively for every candidate that fails a level, and a level that can never match
/// never reaches its year-3000 stop: the stack overflows as soon as the job is scheduled
/// (probed with croner's algorithm on Node 20; `0 0 30 2 *` instead returns null).
fn reject_empty_fields(p: &Pattern) -> Result<(), CronError> {
    let empty_day_of_month = p.days_of_month == 0 && !p.last_day_of_month;
    let empty_day_of_week = p.days_of_week.iter().all(|&m| m == 0);
    let no_day = match (p.dom_restricted, p.dow_restricted) {
        (_, false) => empty_day_of_month,
        (false, true) => empty_day_of_week,
        (true, true) => empty_day_of_month && empty_day_of_week,
    };
    let culprit = if p.seconds == 0 {
        Field::Second
    } else if p.minutes == 0 {
        Field::Minute
    } else if p.hours == 0 {
        Field::Hour
    } else if p.months == 0 {
        Field::Month
    } else if no_day && empty_day_of_month {
        Field::DayOfMonth
    } else if no_day {
        Field::DayOfWeek
    } else {
        return Ok(());
    };
    Err(CronError::new(
        ErrorKind::Overflow,
        format!(
            "the {} field selects no value (a step needs a start, as in */5; a start past the \
             end selects nothing): croner 8.1.2 then recurses until the stack overflows \
             (RangeError)",
            culprit.name()
        ),
        p.field_span(culprit).unwrap_or(p.whole.clone()),
    ))
}
