//! Rule 1 and design §7: a schedule whose first `:` is past index 0 is handed to JavaScript's
//! `Date.parse` (through minitz) instead of the cron parser, and croner throws only when that
//! gives NaN.
//!
//! V8's parser accepts far more than ISO 8601 and its legacy heuristics are not worth
//! replicating, so we evaluate a few forms we have probed against Node 20 and call everything
//! else unrecognised (a warning, never an error). We reject only where V8 certainly does:
//! an out-of-range ISO 8601 component, or whitespace around the strict `T` form.

use std::ops::Range;

use super::{js_trim, CronError, ErrorKind, OneShot, Span};
use crate::calendar::days_from_civil;

pub(super) fn parse(s: &str) -> Result<OneShot, CronError> {
    let core = js_trim(s);
    let text = &s[core.clone()];
    if let Some(iso) = Iso::read(text) {
        return iso.verdict(s, &core);
    }
    let legacy = cron_like(text)
        .or_else(|| month_name(text))
        .or_else(|| slashed(text));
    Ok(match legacy {
        Some(moment) if !has_line_separator(s, &core) && moment.problem().is_none() => {
            moment.recognised(None)
        }
        _ => unrecognised(),
    })
}

fn unrecognised() -> OneShot {
    OneShot {
        naive_epoch_seconds: None,
        recognised: false,
        zoned: false,
    }
}

/// V8's legacy parser skips surrounding whitespace except U+2028 and U+2029 (probed).
fn has_line_separator(s: &str, core: &Span) -> bool {
    s[..core.start]
        .chars()
        .chain(s[core.end..].chars())
        .any(|c| matches!(c, '\u{2028}' | '\u{2029}'))
}

/// A byte range inside the trimmed text.
type Tok = Range<usize>;

/// A calendar value and the bytes it was read from.
#[derive(Debug, Clone)]
struct Part {
    value: u32,
    tok: Tok,
}

#[derive(Debug, Clone)]
struct Moment {
    year: i32,
    month: Part,
    day: Part,
    hour: Part,
    minute: Part,
    second: Option<Part>,
    /// Any fractional digits are all zero (`24:00:00.000` is still midnight).
    fraction_is_zero: bool,
}

impl Moment {
    /// The first component V8's date composer refuses. Days up to 31 roll over into the next
    /// month (`2030-02-30` is 2 March), and `24:00:00` is the next midnight.
    fn problem(&self) -> Option<(String, Tok)> {
        let second = self.second.as_ref().map_or(0, |s| s.value);
        let checks: [(&Part, bool, &str); 4] = [
            (&self.month, (1..=12).contains(&self.month.value), "month"),
            (&self.day, (1..=31).contains(&self.day.value), "day"),
            (
                &self.hour,
                self.hour.value <= 23
                    || (self.hour.value == 24
                        && self.minute.value == 0
                        && second == 0
                        && self.fraction_is_zero),
                "hour",
            ),
            (&self.minute, self.minute.value <= 59, "minute"),
        ];
        for (part, ok, name) in checks {
            if !ok {
                return Some((
                    format!("{name} {} is out of range", part.value),
                    part.tok.clone(),
                ));
            }
        }
        match &self.second {
            Some(s) if s.value > 59 => {
                Some((format!("second {} is out of range", s.value), s.tok.clone()))
            }
            _ => None,
        }
    }

    fn local_seconds(&self) -> i64 {
        let days = days_from_civil(self.year, self.month.value, 1) + i64::from(self.day.value) - 1;
        days * 86_400
            + i64::from(self.hour.value) * 3600
            + i64::from(self.minute.value) * 60
            + i64::from(self.second.as_ref().map_or(0, |s| s.value))
    }

    fn recognised(&self, offset_minutes: Option<i64>) -> OneShot {
        OneShot {
            naive_epoch_seconds: Some(self.local_seconds() - offset_minutes.unwrap_or(0) * 60),
            recognised: true,
            zoned: offset_minutes.is_some(),
        }
    }
}

/// `YYYY-MM-DD(T|t| )HH:MM[:SS[.f…]][Z|z|±HH[:]MM]`.
struct Iso {
    moment: Moment,
    strict: bool,
    zone: Option<Zone>,
}

struct Zone {
    minutes: i64,
    hours: Part,
    mins: Part,
    is_z: bool,
}

impl Iso {
    fn read(text: &str) -> Option<Iso> {
        let mut c = Cursor::new(text);
        let year = c.digits(4, 4)?;
        c.expect(b'-')?;
        let month = c.digits(2, 2)?;
        c.expect(b'-')?;
        let day = c.digits(2, 2)?;
        let separator = c.next()?;
        if !matches!(separator, b'T' | b't' | b' ') {
            return None;
        }
        let (hour, minute, second, fraction_is_zero) = c.time(2, true)?;
        let zone = c.zone()?;
        c.finish()?;
        Some(Iso {
            moment: Moment {
                year: i32::try_from(year.value).ok()?,
                month,
                day,
                hour,
                minute,
                second,
                fraction_is_zero,
            },
            // `T` takes V8's strict ES5 path; a space goes through its legacy parser.
            strict: separator != b' ',
            zone,
        })
    }

    fn verdict(&self, s: &str, core: &Span) -> Result<OneShot, CronError> {
        let shift = |tok: &Tok| core.start + tok.start..core.start + tok.end;
        if self.strict {
            if let Some(space) = outer_whitespace(s, core) {
                return Err(CronError::new(
                    ErrorKind::Whitespace,
                    "whitespace around an ISO 8601 date: JavaScript's Date.parse rejects it, \
                     so croner 8.1.2 throws",
                    space,
                ));
            }
        } else if has_line_separator(s, core) {
            return Ok(unrecognised());
        }
        if let Some((why, tok)) = self.moment.problem() {
            return Err(invalid_date(s, core, &why, shift(&tok)));
        }
        let offset = match &self.zone {
            None => None,
            Some(zone) if zone.is_z => Some(0),
            Some(zone) => match zone.problem() {
                // The legacy parser's offset rules differ (it takes +24:00): no verdict there.
                Some(_) if !self.strict => return Ok(unrecognised()),
                Some((why, tok)) => return Err(invalid_date(s, core, &why, shift(&tok))),
                None => Some(zone.minutes),
            },
        };
        Ok(self.moment.recognised(offset))
    }
}

impl Zone {
    fn problem(&self) -> Option<(String, Tok)> {
        if self.hours.value > 23 {
            return Some((
                format!("offset hour {} is out of range", self.hours.value),
                self.hours.tok.clone(),
            ));
        }
        if self.mins.value > 59 {
            return Some((
                format!("offset minute {} is out of range", self.mins.value),
                self.mins.tok.clone(),
            ));
        }
        None
    }
}

fn invalid_date(s: &str, core: &Span, why: &str, span: Span) -> CronError {
    CronError::new(
        ErrorKind::InvalidDate,
        format!(
            "'{}' is read as a one-shot date (it contains ':'), but JavaScript's Date.parse \
             rejects it: {why}",
            &s[core.clone()]
        ),
        span,
    )
}

fn outer_whitespace(s: &str, core: &Span) -> Option<Span> {
    if core.start > 0 {
        Some(0..core.start)
    } else if core.end < s.len() {
        Some(core.end..s.len())
    } else {
        None
    }
}

/// `0 H:MM[:SS] * * *`: a cron pattern with a colon; V8 reads it as 2000-01-01 at that time.
fn cron_like(text: &str) -> Option<Moment> {
    let mut c = Cursor::new(text);
    c.literal("0 ")?;
    let (hour, minute, second, _) = c.time(1, false)?;
    c.literal(" * * *")?;
    c.finish()?;
    let implicit = |value| Part { value, tok: 0..0 };
    Some(Moment {
        year: 2000,
        month: implicit(1),
        day: implicit(1),
        hour,
        minute,
        second,
        fraction_is_zero: true,
    })
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `Jan 1 2030 10:00[:SS]`, also with `Jan 1, 2030` or the full month name.
fn month_name(text: &str) -> Option<Moment> {
    let mut c = Cursor::new(text);
    let word = c.letters();
    let lower = text.get(word.clone())?.to_ascii_lowercase();
    let month = MONTHS
        .iter()
        .position(|name| lower == *name || (lower.len() == 3 && name.starts_with(&lower)))?;
    c.expect(b' ')?;
    let day = c.digits(1, 2)?;
    c.eat(b',');
    c.expect(b' ')?;
    let year = legacy_year(c.digits(4, 4)?)?;
    c.expect(b' ')?;
    let (hour, minute, second, _) = c.time(1, false)?;
    c.finish()?;
    Some(Moment {
        year,
        month: Part {
            value: u32::try_from(month).ok()? + 1,
            tok: word,
        },
        day,
        hour,
        minute,
        second,
        fraction_is_zero: true,
    })
}

/// `2030/01/01 10:00[:SS]`.
fn slashed(text: &str) -> Option<Moment> {
    let mut c = Cursor::new(text);
    let year = legacy_year(c.digits(4, 4)?)?;
    c.expect(b'/')?;
    let month = c.digits(1, 2)?;
    c.expect(b'/')?;
    let day = c.digits(1, 2)?;
    c.expect(b' ')?;
    let (hour, minute, second, _) = c.time(1, false)?;
    c.finish()?;
    Some(Moment {
        year,
        month,
        day,
        hour,
        minute,
        second,
        fraction_is_zero: true,
    })
}

/// V8's legacy parser reads years below 100 as two-digit years even when written `0030`
/// (probed): we leave those unrecognised rather than replicate the window.
fn legacy_year(year: Part) -> Option<i32> {
    (year.value >= 100).then(|| i32::try_from(year.value).ok())?
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            b: text.as_bytes(),
            i: 0,
        }
    }

    /// Between `min` and `max` ASCII digits, and no digit right after them.
    fn digits(&mut self, min: usize, max: usize) -> Option<Part> {
        let start = self.i;
        let count = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if count < min || count > max {
            return None;
        }
        self.i += count;
        let value = self.b[start..self.i].iter().fold(0u32, |acc, d| {
            acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        });
        Some(Part {
            value,
            tok: start..self.i,
        })
    }

    /// Exactly `n` digits, whatever follows (`+0530`).
    fn fixed(&mut self, n: usize) -> Option<Part> {
        let end = self.i.checked_add(n)?;
        let digits = self.b.get(self.i..end)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        let tok = self.i..end;
        self.i = end;
        Some(Part { value, tok })
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.b.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&want);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        self.eat(want).then_some(())
    }

    fn literal(&mut self, want: &str) -> Option<()> {
        let end = self.i + want.len();
        (self.b.get(self.i..end)? == want.as_bytes()).then(|| self.i = end)
    }

    fn letters(&mut self) -> Tok {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_alphabetic) {
            self.i += 1;
        }
        start..self.i
    }

    fn finish(&self) -> Option<()> {
        (self.i == self.b.len()).then_some(())
    }

    /// `H:MM[:SS]` with `hour_min` to 2 hour digits, and (when `fraction`) `[.digits]` after
    /// the seconds. Returns whether the fraction is all zeros.
    fn time(
        &mut self,
        hour_min: usize,
        fraction: bool,
    ) -> Option<(Part, Part, Option<Part>, bool)> {
        let hour = self.digits(hour_min, 2)?;
        self.expect(b':')?;
        let minute = self.digits(2, 2)?;
        let second = if self.eat(b':') {
            Some(self.digits(2, 2)?)
        } else {
            None
        };
        let mut fraction_is_zero = true;
        if fraction && second.is_some() && self.eat(b'.') {
            let digits = self.digits(1, usize::MAX)?;
            fraction_is_zero = self.b[digits.tok].iter().all(|&d| d == b'0');
        }
        Some((hour, minute, second, fraction_is_zero))
    }

    /// Nothing, `Z`/`z`, or `±HH[:]MM`. The outer `None` means a malformed zone.
    fn zone(&mut self) -> Option<Option<Zone>> {
        let Some(&first) = self.b.get(self.i) else {
            return Some(None);
        };
        let zero = || Part {
            value: 0,
            tok: 0..0,
        };
        match first {
            b'Z' | b'z' => {
                self.i += 1;
                Some(Some(Zone {
                    minutes: 0,
                    hours: zero(),
                    mins: zero(),
                    is_z: true,
                }))
            }
            b'+' | b'-' => {
                self.i += 1;
                let hours = self.fixed(2)?;
                self.eat(b':');
                let mins = self.digits(2, 2)?;
                let magnitude = i64::from(hours.value) * 60 + i64::from(mins.value);
                let minutes = if first == b'-' { -magnitude } else { magnitude };
                Some(Some(Zone {
                    minutes,
                    hours,
                    mins,
                    is_z: false,
                }))
            }
            _ => Some(None),
        }
    }
}
