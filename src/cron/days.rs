//! Calendar questions a pattern asks: the clock's fields at an epoch second, and whether any
//! day at all can match (the search behind rule 12). The calendar itself is `crate::calendar`.

use super::{field, Now, Pattern};
use crate::calendar::{civil_from_days, days_in_month, weekday, SECONDS_PER_DAY};

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
