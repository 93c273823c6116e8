//! One field's values, read the way croner 8.1.2's `partToArray` reads them (rules 8-10).
//!
//! croner decides what an element is by which separators it contains, then reads numbers with
//! `parseInt`, which stops at the first non-digit. Numbers stay `f64` here, as in JavaScript, so
//! that absurdly long digit strings compare and overflow the same way.

use std::ops::Range;

use super::{CronError, ErrorKind, Field, Span};

/// A plain weekday (every occurrence, and the last).
pub(super) const NTH_ANY: u8 = 0b11_1111;
pub(super) const NTH_LAST: u8 = 0b10_0000;

/// A field after the character check: ASCII only, each byte with its original span.
pub(super) struct FieldText {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl FieldText {
    pub(super) fn from_ascii(chars: impl Iterator<Item = (char, usize, usize)>) -> Self {
        let (bytes, spans) = chars
            .map(|(c, start, end)| (u8::try_from(c).unwrap_or(b'?'), (start, end)))
            .unzip();
        FieldText { bytes, spans }
    }
}

#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Bit `i` for slot `i` (value minus 1 for day-of-month and month).
    pub bits: u64,
    pub weekdays: [u8; 7],
    pub traps: Vec<Span>,
    pub suffixes: Vec<Span>,
}

/// A range of byte positions inside the field's text.
type Tok = Range<usize>;

/// What a number stands for, to tell the `5L` trap from other ignored suffixes: with a `#`
/// (`5L#2`) or as a step (`*/2L`) the dropped `L` changes nothing a reader would expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    PlainWeekday,
    Other,
}

impl Number {
    fn of_weekday(nth: &Nth) -> Number {
        match nth {
            Nth::Plain => Number::PlainWeekday,
            _ => Number::Other,
        }
    }
}

/// The `#` suffix of a day-of-week element, judged only when a value is actually set, as
/// croner does (a step that selects nothing never looks at it).
#[derive(Debug, Clone)]
enum Nth {
    Plain,
    Last,
    Occurrence(u8),
    Invalid(Tok),
}

pub(super) struct Reader<'a> {
    pattern: &'a str,
    field: Field,
    text: &'a FieldText,
    last_day_of_month: bool,
    field_span: Span,
    out: Outcome,
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        pattern: &'a str,
        field: Field,
        text: &'a FieldText,
        last_day_of_month: bool,
        field_span: Span,
    ) -> Self {
        Reader {
            pattern,
            field,
            text,
            last_day_of_month,
            field_span,
            out: Outcome::default(),
        }
    }

    pub(super) fn read(mut self) -> Result<Outcome, CronError> {
        let n = self.text.bytes.len();
        let mut start = 0;
        for i in 0..=n {
            if i == n || self.text.bytes[i] == b',' {
                self.element(start..i)?;
                start = i + 1;
            }
        }
        Ok(self.out)
    }

    /// croner's slot count (`this[type].length`): also the limit for steps.
    fn slots(&self) -> usize {
        match self.field {
            Field::Second | Field::Minute => 60,
            Field::Hour => 24,
            Field::DayOfMonth => 31,
            Field::Month => 12,
            Field::DayOfWeek => 7,
        }
    }

    /// Value to slot: day-of-month and month start at 1.
    fn offset(&self) -> f64 {
        match self.field {
            Field::DayOfMonth | Field::Month => -1.0,
            _ => 0.0,
        }
    }

    /// The largest slot `setPart` accepts; day-of-week also takes 7 (Sunday again).
    fn max_slot(&self) -> f64 {
        match self.field {
            Field::DayOfWeek => 7.0,
            _ => (self.slots() - 1) as f64,
        }
    }

    fn element(&mut self, e: Tok) -> Result<(), CronError> {
        if e.is_empty() {
            // croner skips an empty element only when the day-of-month `L` was removed.
            if self.field == Field::DayOfMonth && self.last_day_of_month {
                return Ok(());
            }
            return Err(self.empty_element(&e));
        }
        let bytes = &self.text.bytes[e.clone()];
        if bytes == b"*" {
            self.fill();
            return Ok(());
        }
        match (bytes.contains(&b'-'), bytes.contains(&b'/')) {
            (true, true) => self.stepped_range(e),
            (true, false) => self.range(e),
            (false, true) => self.step(e),
            (false, false) => self.number(e),
        }
    }

    fn fill(&mut self) {
        if self.field == Field::DayOfWeek {
            self.out.weekdays = [NTH_ANY; 7];
        } else {
            self.out.bits = (1u64 << self.slots()) - 1;
        }
    }

    fn number(&mut self, e: Tok) -> Result<(), CronError> {
        let (rest, nth) = self.split_nth(&e);
        let value = self
            .parse_int(&rest, Number::of_weekday(&nth))
            .ok_or_else(|| self.not_a_number(&rest, &e))?;
        let slot = self.check(value + self.offset(), &rest)?;
        self.set(slot, &nth)
    }

    /// `a-b`: croner checks the order before the values, then sets each slot in turn.
    fn range(&mut self, e: Tok) -> Result<(), CronError> {
        let (rest, nth) = self.split_nth(&e);
        let dashes = self.positions(&rest, b'-');
        let [dash] = dashes[..] else {
            return Err(self.syntax(&e, format!("'{}' is not a range: write a-b", self.show(&e))));
        };
        let (low_tok, high_tok) = (rest.start..dash, dash + 1..rest.end);
        let low = self
            .parse_int(&low_tok, Number::of_weekday(&nth))
            .ok_or_else(|| self.range_end_missing(&low_tok, &e, "start"))?;
        let high = self
            .parse_int(&high_tok, Number::of_weekday(&nth))
            .ok_or_else(|| self.range_end_missing(&high_tok, &e, "end"))?;
        let (low, high) = (low + self.offset(), high + self.offset());
        if low > high {
            return Err(self.descending(&e));
        }
        self.set_each(low, high, 1.0, (&low_tok, &high_tok), &nth)
    }

    /// `a-b/n`: only plain digits are allowed around the separators here.
    fn stepped_range(&mut self, e: Tok) -> Result<(), CronError> {
        let (rest, nth) = self.split_nth(&e);
        let Some((low_tok, high_tok, step_tok)) = self.stepped_range_parts(&rest) else {
            return Err(self.syntax(
                &e,
                format!(
                    "'{}' is not a stepped range: write a-b/n with plain numbers",
                    self.show(&e)
                ),
            ));
        };
        let low = self.digits_value(&low_tok) + self.offset();
        let high = self.digits_value(&high_tok) + self.offset();
        let step = self.digits_value(&step_tok);
        self.check_step(step, &step_tok)?;
        if low > high {
            return Err(self.descending(&e));
        }
        self.set_each(low, high, step, (&low_tok, &high_tok), &nth)
    }

    /// `*/n` or `a/n`. A start that is not a number (`/5`) or lies past the end selects nothing
    /// without an error, exactly like croner's loop that never runs.
    fn step(&mut self, e: Tok) -> Result<(), CronError> {
        let (rest, nth) = self.split_nth(&e);
        let slashes = self.positions(&rest, b'/');
        let [slash] = slashes[..] else {
            return Err(self.syntax(&e, format!("'{}' has more than one '/'", self.show(&e))));
        };
        let (start_tok, step_tok) = (rest.start..slash, slash + 1..rest.end);
        let start = if &self.text.bytes[start_tok.clone()] == b"*" {
            Some(0.0)
        } else {
            self.parse_int(&start_tok, Number::of_weekday(&nth))
                .map(|v| v + self.offset())
        };
        let step = self.parse_int(&step_tok, Number::Other).ok_or_else(|| {
            self.syntax(&e, format!("'{}' needs a number after '/'", self.show(&e)))
        })?;
        self.check_step(step, &step_tok)?;
        let Some(mut i) = start else {
            return Ok(());
        };
        while i < self.slots() as f64 {
            let slot = self.check(i, &start_tok)?;
            self.set(slot, &nth)?;
            i += step;
        }
        Ok(())
    }

    /// Sets low, low+step, … up to high, failing at the first slot out of range: the low token
    /// when it is the start, otherwise the high token that let the walk run past the end.
    fn set_each(
        &mut self,
        low: f64,
        high: f64,
        step: f64,
        (low_tok, high_tok): (&Tok, &Tok),
        nth: &Nth,
    ) -> Result<(), CronError> {
        let mut i = low;
        while i <= high {
            let blame = if i == low { low_tok } else { high_tok };
            let slot = self.check(i, blame)?;
            self.set(slot, nth)?;
            i += step;
        }
        Ok(())
    }

    fn check_step(&self, step: f64, tok: &Tok) -> Result<(), CronError> {
        if step == 0.0 {
            return Err(self.syntax(tok, "a step of 0 is not allowed".to_string()));
        }
        if step > self.slots() as f64 {
            return Err(CronError::new(
                ErrorKind::Range,
                format!(
                    "step {} is larger than the {} slots of the {} field",
                    self.show(tok),
                    self.slots(),
                    self.field.name()
                ),
                self.span(tok),
            ));
        }
        Ok(())
    }

    /// croner's `setPart` range check; returns the slot (day-of-week 7 folded to 0).
    fn check(&self, slot: f64, tok: &Tok) -> Result<usize, CronError> {
        if !(0.0..=self.max_slot()).contains(&slot) {
            let (low, high) = self.field.bounds();
            return Err(CronError::new(
                ErrorKind::Range,
                format!(
                    "{} {} is out of range {low}-{high}",
                    self.field.name(),
                    self.show(tok)
                ),
                self.span(tok),
            ));
        }
        // In range and integral (parseInt output plus an integer offset), so the cast is exact.
        let slot = slot as usize;
        Ok(if self.field == Field::DayOfWeek {
            slot % 7
        } else {
            slot
        })
    }

    fn set(&mut self, slot: usize, nth: &Nth) -> Result<(), CronError> {
        if self.field != Field::DayOfWeek {
            self.out.bits |= 1u64 << slot;
            return Ok(());
        }
        let mask = &mut self.out.weekdays[slot];
        match nth {
            Nth::Plain => *mask = NTH_ANY,
            Nth::Last => *mask |= NTH_LAST,
            Nth::Occurrence(n) => *mask |= 1 << (n - 1),
            Nth::Invalid(tok) => {
                return Err(CronError::new(
                    ErrorKind::DayOfWeek,
                    format!("nth weekday '#{}' must be 1-5 or L", self.show(tok)),
                    self.span_or(tok, &self.field_span),
                ))
            }
        }
        Ok(())
    }

    /// croner's `extractNth`: the part before the first `#`, and the part between the first and
    /// the second `#` (anything after a second `#` is ignored). Only day-of-week gets here with
    /// a `#`: the character check rejects it elsewhere.
    fn split_nth(&self, e: &Tok) -> (Tok, Nth) {
        let Some(hash) = self.positions(e, b'#').first().copied() else {
            return (e.clone(), Nth::Plain);
        };
        let end = self.text.bytes[hash + 1..e.end]
            .iter()
            .position(|&b| b == b'#')
            .map_or(e.end, |p| hash + 1 + p);
        let tok = hash + 1..end;
        let raw = &self.text.bytes[tok.clone()];
        let nth = if raw.is_empty() {
            // `"" || defaultValue`: a bare `1#` is plain Monday.
            Nth::Plain
        } else if raw == b"L" {
            Nth::Last
        } else {
            match occurrence(raw) {
                Some(n) => Nth::Occurrence(n),
                None => Nth::Invalid(tok),
            }
        };
        (e.start..hash, nth)
    }

    fn stepped_range_parts(&self, rest: &Tok) -> Option<(Tok, Tok, Tok)> {
        let bytes = &self.text.bytes[rest.clone()];
        let dash = bytes.iter().position(|&b| b == b'-')?;
        let slash = dash + 1 + bytes[dash + 1..].iter().position(|&b| b == b'/')?;
        let parts = (
            rest.start..rest.start + dash,
            rest.start + dash + 1..rest.start + slash,
            rest.start + slash + 1..rest.end,
        );
        let all_digits =
            |t: &Tok| !t.is_empty() && self.text.bytes[t.clone()].iter().all(u8::is_ascii_digit);
        (all_digits(&parts.0) && all_digits(&parts.1) && all_digits(&parts.2)).then_some(parts)
    }

    /// JavaScript's `parseInt(s, 10)` on a token that has no sign or space: the leading digits,
    /// or NaN (`None`). Dropped trailing characters are recorded: as a rule-10 trap when an `L`
    /// follows a plain weekday (`5L`), as an ignored suffix otherwise.
    fn parse_int(&mut self, tok: &Tok, number: Number) -> Option<f64> {
        let bytes = &self.text.bytes[tok.clone()];
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        if digits < bytes.len() {
            let span = self.span(tok);
            let plain_weekday = self.field == Field::DayOfWeek && number == Number::PlainWeekday;
            if plain_weekday && bytes[digits] == b'L' {
                self.out.traps.push(span);
            } else {
                self.out.suffixes.push(span);
            }
        }
        Some(self.digits_value(&(tok.start..tok.start + digits)))
    }

    fn digits_value(&self, tok: &Tok) -> f64 {
        std::str::from_utf8(&self.text.bytes[tok.clone()])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    }

    fn positions(&self, tok: &Tok, byte: u8) -> Vec<usize> {
        self.text.bytes[tok.clone()]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == byte)
            .map(|(i, _)| tok.start + i)
            .collect()
    }

    fn not_a_number(&self, tok: &Tok, e: &Tok) -> CronError {
        if self.field == Field::DayOfWeek && self.text.bytes.get(tok.start) == Some(&b'L') {
            return CronError::new(
                ErrorKind::DayOfWeek,
                "a bare 'L' is not valid in the day-of-week field: write d#L for the last \
                 weekday d of the month",
                self.span_or(tok, &self.field_span),
            );
        }
        self.syntax(
            e,
            format!(
                "'{}' is not a number in the {} field",
                self.show(tok),
                self.field.name()
            ),
        )
    }

    fn range_end_missing(&self, tok: &Tok, e: &Tok, which: &str) -> CronError {
        if self.field == Field::DayOfWeek && self.text.bytes.get(tok.start) == Some(&b'L') {
            return self.not_a_number(tok, e);
        }
        if self.field == Field::DayOfMonth && self.last_day_of_month && tok.is_empty() {
            // croner removed the L before reading, which is what left this end empty.
            return CronError::new(
                ErrorKind::Syntax,
                "L cannot be a range end in the day-of-month field: croner 8.1.2 removes the L \
                 and the range loses that end",
                self.field_span.clone(),
            );
        }
        let hint = if which == "start" && tok.is_empty() {
            " (negative values do not exist)"
        } else {
            ""
        };
        self.syntax(
            e,
            format!("range '{}' has no valid {which}{hint}", self.show(e)),
        )
    }

    fn descending(&self, e: &Tok) -> CronError {
        self.syntax(
            e,
            format!(
                "range '{}' runs backwards: croner 8.1.2 does not wrap around",
                self.show(e)
            ),
        )
    }

    fn empty_element(&self, e: &Tok) -> CronError {
        // Point at the commas around the missing element; a wholly empty field has none.
        let n = self.text.bytes.len();
        let from = if e.start > 0 { e.start - 1 } else { e.start };
        let to = if e.end < n { e.end + 1 } else { e.end };
        CronError::new(
            ErrorKind::Syntax,
            format!("empty element in the {} list", self.field.name()),
            self.span_or(&(from..to), &self.field_span),
        )
    }

    fn syntax(&self, tok: &Tok, message: String) -> CronError {
        CronError::new(
            ErrorKind::Syntax,
            message,
            self.span_or(tok, &self.field_span),
        )
    }

    fn span(&self, tok: &Tok) -> Span {
        self.span_or(tok, &self.field_span)
    }

    /// The original bytes behind a token; `fallback` when the token is empty.
    fn span_or(&self, tok: &Tok, fallback: &Span) -> Span {
        let spans = self.text.spans.get(tok.clone()).unwrap_or(&[]);
        let start = spans.iter().map(|s| s.0).min();
        let end = spans.iter().map(|s| s.1).max();
        match (start, end) {
            (Some(start), Some(end)) if start < end => start..end,
            _ => fallback.clone(),
        }
    }

    /// What the user wrote for a token (so `FRI-MON` is shown, not `5-1`).
    fn show(&self, tok: &Tok) -> String {
        let span = self.span(tok);
        match self.pattern.get(span) {
            Some(original) if !tok.is_empty() => original.to_string(),
            _ => String::from_utf8_lossy(&self.text.bytes[tok.clone()]).into_owned(),
        }
    }
}

/// `nth < 6 && nth > 0` on JavaScript's `Number(nth)`: digits only, value 1 to 5.
fn occurrence(raw: &[u8]) -> Option<u8> {
    if !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant: &[u8] = {
        let zeros = raw.iter().take_while(|&&b| b == b'0').count();
        &raw[zeros..]
    };
    match significant {
        [d @ b'1'..=b'5'] => Some(d - b'0'),
        _ => None,
    }
}
