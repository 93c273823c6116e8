//! Civil-date arithmetic (Howard Hinnant's algorithms), RFC 3339 for `INSTAR_DOCTOR_NOW`, and
//! the search behind rule 12.

use super::{field, Now, Pattern};

const SECONDS_PER_DAY: i64 = 86_400;

/// Days from 1970-01-01 to the given proleptic Gregorian date. Out-of-range months and days
/// give meaningless but finite results (never a panic).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a day count from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // i128 so that even i64::MAX days cannot overflow the shift to the era origin.
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    let year = i64::try_from(year).unwrap_or(if year < 0 { i64::MIN } else { i64::MAX });
    (year, month, day)
}

/// The UTC calendar fields of an epoch second; the year saturates at the `i32` limits.
pub fn now_from_epoch(secs: i64) -> Now {
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let rest = secs.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX });
    Now {
        year,
        month,
        day,
        hour: (rest / 3600) as u32,
        minute: (rest % 3600 / 60) as u32,
        second: (rest % 60) as u32,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` to epoch seconds (the fraction is dropped). `t` and a
/// space are accepted for `T`, `z` for `Z`; second 60 (a leap second) counts as the next one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let separators_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    let year = i32::try_from(year).ok()?;
    if !separators_ok
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += 1 + digits;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = num(i + 1..i + 3)?;
            let minutes = num(i + 4..i + 6)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = i64::from(hours * 60 + minutes);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * SECONDS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    Some(local - offset_minutes * 60)
}

pub(super) fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0 = Sunday.
fn weekday(year: i32, month: u32, day: u32) -> u32 {
    (days_from_civil(year, month, day) + 4).rem_euclid(7) as u32
}

/// Whether any date at all matches the day-of-month, month and day-of-week fields. The
/// Gregorian calendar repeats every 400 years (weekdays included), so one cycle decides.
pub(super) fn any_matching_day(p: &Pattern) -> bool {
    (2000..2400).any(|year| {
        (1..=12u32)
            .filter(|m| p.months & (1 << m) != 0)
            .any(|month| {
                (1..=days_in_month(year, month)).any(|day| day_matches(p, year, month, day))
            })
    })
}

/// croner's `findNext` for days with legacyMode: day-of-month OR day-of-week when both are
/// restricted, otherwise whichever is restricted.
fn day_matches(p: &Pattern, year: i32, month: u32, day: u32) -> bool {
    let last = days_in_month(year, month);
    let dom_hit = p.days_of_month & (1 << day) != 0 || (p.last_day_of_month && day == last);
    if !p.dow_restricted {
        return dom_hit;
    }
    let mask = p.days_of_week[weekday(year, month, day) as usize];
    let dow_hit = occurrence_matches(mask, day, last);
    if p.dom_restricted {
        dom_hit || dow_hit
    } else {
        dow_hit
    }
}

fn occurrence_matches(mask: u8, day: u32, last: u32) -> bool {
    let nth = (day - 1) / 7; // 0-based occurrence of this weekday in the month
    mask & (1 << nth) != 0 || (mask & field::NTH_LAST != 0 && day + 7 > last)
}
