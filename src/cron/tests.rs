use proptest::prelude::*;

use super::*;

/// Thursday 2026-05-14 10:30:15.
const NOW: Now = Now {
    year: 2026,
    month: 5,
    day: 14,
    hour: 10,
    minute: 30,
    second: 15,
    weekday: 4,
};

fn accept(p: &str) -> Schedule {
    parse(p, &NOW).unwrap_or_else(|e| panic!("{p:?} was rejected: {e:?}"))
}

fn pattern(p: &str) -> Pattern {
    match accept(p) {
        Schedule::Pattern(pattern) => pattern,
        other => panic!("{p:?} is not a recurring pattern: {other:?}"),
    }
}

fn reject(p: &str) -> CronError {
    match parse(p, &NOW) {
        Ok(schedule) => panic!("{p:?} was accepted: {schedule:?}"),
        Err(e) => e,
    }
}

// ---- spec §3.4 accept/reject table, every row ----

#[test]
fn spec_table_accepted_patterns() {
    let rows = [
        "* * * * *",
        "0 */4 * * *",
        "0 0/4 * * *",
        "*/15 * * * *",
        "0 9-17/2 * * *",
        "0-59/15 * * * *",
        "0 1,7,13,19 * * *",
        "0 3 */2 * *",
        "00 09 * * *",
        "0 9 * * MON-FRI",
        "0 9 * * mon",
        "0 0 1 JAN *",
        "0 0 * jan *",
        "0 0 * * SUN-SAT",
        "* * * * 1-7",
        "0 0 * * 7",
        "0 0 * * */2",
        "0 0 L * *",
        "0 0 L,15 * *",
        "0 0 * * 5#2",
        "0 0 * * FRI#L",
        "0 0 * * 1#5",
        "0 0 * * 1#1,3#1",
        "0 0 * * 5L",
        "0 0 * * 0L",
        "0 0 0 * * *",
        "*/5 * * * * *",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@hourly",
        "@Daily",
        "@YEARLY",
        " @daily",
        "0 0 ? * *",
        "0 0 30 2 *",
        "0 0 31 4 *",
        "0  9 * * *",
        "0\t9 * * *",
    ];
    for row in rows {
        pattern(row);
    }
}

#[test]
fn spec_table_one_shots() {
    for row in [
        "2030-01-01T00:00:00",
        "2030-01-01 00:00:00",
        "2020-01-01T00:00:00Z",
    ] {
        match accept(row) {
            Schedule::OneShot(one) => assert!(one.recognised, "{row:?}"),
            other => panic!("{row:?} is not a one-shot: {other:?}"),
        }
    }
    // "(past; never fires)": the caller compares with its clock.
    let past = one_shot("2020-01-01T00:00:00Z").naive_epoch_seconds;
    assert!(past < parse_rfc3339("2026-05-14T10:30:15Z"));
}

#[test]
fn spec_table_rejected_patterns() {
    use ErrorKind::*;
    let rows: &[(&str, ErrorKind)] = &[
        ("@midnight", Nickname),
        ("@reboot", Nickname),
        ("@every 5m", Nickname),
        ("2030-01-01", FieldCount),
        ("2026-13-01T00:00:00", InvalidDate),
        (" 0 9 * * *", Whitespace),
        ("0 9 * * * ", Whitespace),
        ("0 9 * * *\n", Whitespace),
        ("\t0 0 1 1 *", Whitespace),
        ("* * * *", FieldCount),
        ("0 0 0 1 1 * 2030", FieldCount),
        ("0 0 * * * * *", FieldCount),
        // The table files "" under field count; it is the one string with nothing to count.
        ("", Empty),
        ("abc", FieldCount),
        ("not a cron", FieldCount),
        ("60 * * * *", Range),
        ("* 24 * * *", Range),
        ("* * 32 * *", Range),
        ("* * 0 * *", Range),
        ("* * * 13 *", Range),
        ("* * * 0 *", Range),
        ("0 0 * * 8", Range),
        ("1-60 * * * *", Range),
        ("60 0 0 * * *", Range),
        ("5-1 * * * *", Syntax),
        ("0 0 * * 7-1", Syntax),
        ("*/0 * * * *", Syntax),
        ("1,2,,3 * * * *", Syntax),
        ("-1 * * * *", Syntax),
        ("0 0 L-2 * *", Syntax),
        ("0 0 1-L * *", Syntax),
        ("0 0 15W * *", IllegalChar),
        ("0 0 LW * *", IllegalChar),
        ("H * * * *", IllegalChar),
        ("+1 * * * *", IllegalChar),
        ("0x1 * * * *", IllegalChar),
        ("1.5 * * * *", IllegalChar),
        ("0 0 * MON *", IllegalChar),
        ("0 0 * * JAN", IllegalChar),
        ("0 0 l * *", IllegalChar),
        ("0 0 * * extra", IllegalChar),
        ("0 0 * * L", DayOfWeek),
        ("0 0 * * 1,L", DayOfWeek),
        ("0 0 * * 1#6", DayOfWeek),
        ("0 0 * * 1#0", DayOfWeek),
        ("* /5 * * *", Overflow),
    ];
    for (row, kind) in rows {
        let e = reject(row);
        assert_eq!(e.kind, *kind, "{row:?}: {e:?}");
        assert!(e.span.end <= row.len(), "{row:?}: {e:?}");
    }
}

// ---- spans ----

fn span_text(p: &str) -> String {
    let e = reject(p);
    p[e.span].to_string()
}

#[test]
fn spans_point_at_the_offending_part() {
    assert_eq!(reject("60 * * * *").span, 0..2);
    assert_eq!(reject("0 9 * * * ").span, 9..10);
    assert_eq!(reject("0 9 * * *\n").span, 9..10);
    assert_eq!(reject("\t0 0 1 1 *").span, 0..1);
    assert_eq!(reject(" \u{a0}0 9 * * *").span, 0..3);
    assert_eq!(span_text("0 0 15W * *"), "W");
    assert_eq!(span_text("0 0 * MON *"), "MON");
    assert_eq!(span_text("1-60 * * * *"), "60");
    assert_eq!(span_text("0 0 * * 1#6"), "6");
    assert_eq!(span_text("0 0 * * 1,L"), "L");
    assert_eq!(span_text("1,2,,3 * * * *"), ",,");
    assert_eq!(span_text("1, * * * *"), ",");
    assert_eq!(span_text("*/0 * * * *"), "0");
    assert_eq!(span_text("*/61 * * * *"), "61");
    assert_eq!(span_text("* * 0 * *"), "0");
    assert_eq!(span_text("* * 0-5 * *"), "0");
    assert_eq!(span_text("0 0 * * FRI-MON"), "FRI-MON");
    assert_eq!(span_text("0 0 * * MON-FRI/9"), "9");
    assert_eq!(span_text("* /5 * * *"), "/5");
    assert_eq!(span_text("2026-13-01T00:00:00"), "13");
    assert_eq!(reject("* * * *").span, 0..7);
    assert_eq!(span_text("@every 5m"), "@every 5m");
    assert_eq!(span_text("  @midnight "), "@midnight");
    assert_eq!(span_text(" 2030-01-01T00:00:00"), " ");
    assert_eq!(span_text("0 0 é * *"), "é");
    assert_eq!(span_text("0 0 * * 1#2,?,?"), "?");
}

#[test]
fn error_messages_are_specific() {
    assert_eq!(
        reject("60 * * * *").message,
        "minute 60 is out of range 0-59"
    );
    assert_eq!(
        reject("0 0 * * 8").message,
        "day-of-week 8 is out of range 0-7"
    );
    assert!(reject("0 0 * MON *").message.contains("day name"));
    assert!(reject("0 0 * * JAN").message.contains("month name"));
    assert!(reject("0 0 15W * *")
        .message
        .contains("W (nearest weekday)"));
    assert!(reject("0 0 * * FRI-MON").message.contains("FRI-MON"));
}

#[test]
fn field_spans_cover_each_field() {
    let p = pattern("5 4 * * MON");
    assert_eq!(p.field_span(Field::Second), None);
    assert_eq!(p.field_span(Field::Minute), Some(0..1));
    assert_eq!(p.field_span(Field::DayOfWeek), Some(8..11));
    let p = pattern("1 5 4 * * MON");
    assert_eq!(p.field_span(Field::Second), Some(0..1));
    let p = pattern(" @daily ");
    assert_eq!(p.field_span(Field::Hour), Some(1..7));
}

// ---- values ----

#[test]
fn values_follow_croner() {
    let p = pattern("0 9-17/2 * * *");
    assert_eq!(
        p.hours,
        (1 << 9) | (1 << 11) | (1 << 13) | (1 << 15) | (1 << 17)
    );
    let p = pattern("0 0 1 JAN,dec *");
    assert_eq!(p.months, (1 << 1) | (1 << 12));
    assert_eq!(p.days_of_month, 1 << 1);
    let p = pattern("0 0 * * MON-SUN");
    assert_eq!(p.days_of_week, [NTH_ANY; 7]);
    let p = pattern("0 0 * * 7");
    assert_eq!(p.days_of_week[0], NTH_ANY);
    let p = pattern("0 0 * * FRI#L,1#2");
    assert_eq!(p.days_of_week[5], NTH_LAST);
    assert_eq!(p.days_of_week[1], 0b10);
    assert!(p.dow_restricted && !p.dom_restricted);
    let p = pattern("0 0 */10 * *");
    assert_eq!(
        p.days_of_month,
        (1 << 1) | (1 << 11) | (1 << 21) | (1 << 31)
    );
    let p = pattern("@weekly");
    assert_eq!((p.seconds, p.minutes, p.hours), (1, 1, 1));
    assert_eq!(p.days_of_week, [NTH_ANY, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn parse_int_quirks_are_reproduced() {
    // `L,15` leaves an empty element that croner skips because the L flag is set, and an
    // empty element anywhere else in that field is skipped too.
    let p = pattern("0 0 1,,2L * *");
    assert!(p.last_day_of_month);
    assert_eq!(p.days_of_month, (1 << 1) | (1 << 2));
    // parseInt stops at the first non-digit.
    let p = pattern("5* * * * *");
    assert_eq!(p.minutes, 1 << 5);
    assert_eq!(p.ignored_suffixes, vec![0..2]);
    // A second `#` and everything after it is ignored; a bare `#` is the plain weekday.
    assert_eq!(pattern("0 0 * * 1#2#9").days_of_week[1], 0b10);
    assert_eq!(pattern("0 0 * * 1#").days_of_week[1], NTH_ANY);
    // A start past the end selects nothing; with another element the field still fires.
    assert_eq!(pattern("70/5,3 * * * *").minutes, 1 << 3);
    assert_eq!(reject("70/5 * * * *").kind, ErrorKind::Overflow);
    // Only the first `?` of a field is replaced.
    assert_eq!(reject("?,? * * * *").kind, ErrorKind::IllegalChar);
}

#[test]
fn question_marks_take_the_current_time() {
    let p = pattern("0 0 ? * *");
    assert_eq!(p.days_of_month, 1 << NOW.day);
    assert_eq!(p.question_marks, vec![4..5]);
    let p = pattern("? ? ? ? ? ?");
    assert_eq!(p.seconds, 1 << NOW.second);
    assert_eq!(p.minutes, 1 << NOW.minute);
    assert_eq!(p.hours, 1 << NOW.hour);
    assert_eq!(p.months, 1 << NOW.month);
    assert_eq!(p.days_of_week[NOW.weekday as usize], NTH_ANY);
    assert_eq!(p.question_marks.len(), 6);
    // The substitution happens before the range check.
    let late = Now { day: 31, ..NOW };
    assert!(parse("0 0 ?-30 * *", &late).is_err());
    assert!(parse("0 0 ?-30 * *", &NOW).is_ok());
}

#[test]
fn last_weekday_traps_are_recorded() {
    let p = pattern("0 0 * * 5L");
    assert_eq!(p.days_of_week[5], NTH_ANY);
    assert_eq!(p.last_weekday_traps, vec![8..10]);
    let p = pattern("0 0 * * 1,FRIL");
    assert_eq!(p.last_weekday_traps, vec![10..14]);
    assert!(pattern("0 0 * * 5#L").last_weekday_traps.is_empty());
    // With a `#` or as a step the dropped L surprises nobody: only an ignored suffix.
    let p = pattern("0 0 * * 5L#2,*/3L");
    assert!(p.last_weekday_traps.is_empty());
    assert_eq!(p.ignored_suffixes, vec![8..10, 15..17]);
    assert_eq!(p.days_of_week[5], 0b10);
    assert_eq!(p.days_of_week[3], NTH_ANY);
    // A range end counts: `1L-5` is Monday to Friday.
    assert_eq!(pattern("0 0 * * 1L-5").last_weekday_traps, vec![8..10]);
}

#[test]
fn whitespace_inside_is_fine_outside_is_not() {
    pattern("0\u{a0}9 *\u{3000}* *");
    assert_eq!(reject("\u{feff}0 9 * * *").kind, ErrorKind::Whitespace);
    // U+0085 is not JavaScript whitespace.
    assert_eq!(reject("0 9 * * *\u{85}").kind, ErrorKind::IllegalChar);
    assert_eq!(reject("   ").kind, ErrorKind::Empty);
    // With an '@' anywhere croner trims first, so the '@' is what fails.
    assert_eq!(reject(" 0 9 * * @").kind, ErrorKind::IllegalChar);
}

#[test]
fn nicknames_are_case_insensitive_and_trimmed() {
    pattern("\n@Hourly\t");
    // U+212A KELVIN SIGN lowercases to 'k', in JavaScript as in Rust.
    pattern("@wee\u{212a}ly");
    assert_eq!(reject("@every").kind, ErrorKind::Nickname);
    assert_eq!(reject("0 0 * * *@").kind, ErrorKind::IllegalChar);
}

// ---- rule 12 ----

#[test]
fn never_fires_considers_calendar_flags_and_legacy_or() {
    assert!(pattern("0 0 30 2 *").never_fires());
    assert!(pattern("0 0 31 4 *").never_fires());
    assert!(pattern("0 0 31 2,4,6,9,11 *").never_fires());
    assert!(!pattern("0 0 29 2 *").never_fires());
    assert!(!pattern("0 0 31 * *").never_fires());
    assert!(!pattern("0 0 30 2 1").never_fires());
    assert!(!pattern("0 0 L 2 *").never_fires());
    assert!(!pattern("0 0 * 2 1#5").never_fires());
    assert!(!pattern("@yearly").never_fires());
    let p = pattern("0 0 30 2 *");
    assert_eq!(p.never_fires_span(), 4..8);
}

#[test]
fn empty_day_sets_overflow_unless_the_other_day_field_fires() {
    assert_eq!(reject("0 0 /2 * *").kind, ErrorKind::Overflow);
    assert_eq!(reject("0 0 * * /2").kind, ErrorKind::Overflow);
    // An empty month set overflows too: the month level restarts the search every year.
    let e = reject("0 0 1 13/2 *");
    assert_eq!((e.kind, e.span), (ErrorKind::Overflow, 6..10));
    // Day-of-week 7/2 starts past Saturday: empty, but OR-ed with the 1st it still fires.
    assert!(!pattern("0 0 1 * 7/2").never_fires());
    assert_eq!(reject("0 0 * * 7/2").kind, ErrorKind::Overflow);
    assert!(!pattern("0 0 /2 * 1").never_fires());
    assert!(!pattern("0 0 L * /2").never_fires());
}

// ---- one-shot (rule 1, design §7) ----

fn one_shot(p: &str) -> OneShot {
    match accept(p) {
        Schedule::OneShot(one) => one,
        other => panic!("{p:?} is not a one-shot: {other:?}"),
    }
}

#[test]
fn one_shot_forms_from_design_7() {
    let epoch_2030 = 1_893_456_000;
    let cases: &[(&str, i64, bool)] = &[
        ("2030-01-01T00:00:00", epoch_2030, false),
        ("2030-01-01 00:00:00", epoch_2030, false),
        ("2030-01-01T00:00", epoch_2030, false),
        ("2030-01-01T01:00:00+01:00", epoch_2030, true),
        ("2029-12-31T19:00:00.999-0500", epoch_2030, true),
        ("2030-02-30T00:00:00", epoch_2030 + 60 * 86_400, false),
        ("2029-12-31T24:00:00", epoch_2030, false),
        ("0 9:30 * * *", 946_719_000, false),
        ("Jan 1 2030 10:00", epoch_2030 + 36_000, false),
        ("January 1, 2030 10:00:30", epoch_2030 + 36_030, false),
        ("2030/01/01 10:00", epoch_2030 + 36_000, false),
        (" 2030/1/1 10:00\n", epoch_2030 + 36_000, false),
    ];
    for &(text, epoch, zoned) in cases {
        let one = one_shot(text);
        assert_eq!(
            one,
            OneShot {
                naive_epoch_seconds: Some(epoch),
                recognised: true,
                zoned
            },
            "{text:?}"
        );
    }
}

#[test]
fn one_shot_unknown_forms_are_warnings_not_errors() {
    for text in [
        "x 1:2",
        "10:00",
        "0 9:30 ? * *",
        "2030-01-01T00:00:00+02",
        "12/31/2030 10:00",
    ] {
        let one = one_shot(text);
        assert!(
            !one.recognised && one.naive_epoch_seconds.is_none(),
            "{text:?}"
        );
    }
    // A colon at index 0 is not a date: croner parses it as a pattern.
    assert_eq!(reject(":0 9 * * *").kind, ErrorKind::IllegalChar);
}

#[test]
fn one_shot_rejections() {
    let e = reject("2030-01-01T23:60:00");
    assert_eq!((e.kind, e.span), (ErrorKind::InvalidDate, 14..16));
    assert_eq!(reject("2030-01-01 24:00:01").kind, ErrorKind::InvalidDate);
    assert_eq!(reject("2030-02-32T00:00:00").kind, ErrorKind::InvalidDate);
    assert_eq!(
        reject("2030-01-01T00:00:00+24:00").kind,
        ErrorKind::InvalidDate
    );
    let e = reject("2030-01-01T00:00:00Z\n");
    assert_eq!((e.kind, e.span), (ErrorKind::Whitespace, 20..21));
}

/// The fixture's `\\` and `\u{hex}` escapes (see testdata/gen_v8_dates.js).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        if let Some(after) = tail.strip_prefix('\\') {
            out.push('\\');
            rest = after;
            continue;
        }
        let body = tail
            .strip_prefix("u{")
            .expect("only \\\\ and \\u{} escapes");
        let end = body.find('}').expect("closing brace");
        let code = u32::from_str_radix(&body[..end], 16).expect("hex code point");
        out.push(char::from_u32(code).expect("a char"));
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Rule 1 against Node 20's `Date.parse` (testdata/gen_v8_dates.js): what we recognise V8
/// accepts, at the same instant, zoned exactly when the result ignores the TZ; what we reject
/// V8 rejects. Unrecognised strings may go either way (a warning).
#[test]
fn one_shot_verdicts_agree_with_v8() {
    let mut checked = 0;
    for line in include_str!("testdata/v8_dates.tsv").lines() {
        let mut columns = line.splitn(3, '\t');
        let utc: Option<i64> = columns.next().and_then(|c| c.parse().ok());
        let ist: Option<i64> = columns.next().and_then(|c| c.parse().ok());
        let text = unescape(columns.next().expect("three columns"));
        match parse(&text, &NOW) {
            Ok(Schedule::OneShot(one)) if one.recognised => {
                let ms = utc.unwrap_or_else(|| panic!("{text:?}: recognised, V8 rejects"));
                assert_eq!(
                    one.naive_epoch_seconds,
                    Some(ms.div_euclid(1000)),
                    "{text:?}"
                );
                assert_eq!(one.zoned, utc == ist, "{text:?}");
                checked += 1;
            }
            Ok(Schedule::OneShot(_)) => {}
            Ok(Schedule::Pattern(_)) => panic!("{text:?} has a colon but parsed as a pattern"),
            Err(e) => {
                assert!(
                    utc.is_none(),
                    "{text:?}: rejected ({:?}), V8 accepts",
                    e.kind
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "only {checked} verdicts checked");
}

// ---- calendar helpers ----

#[test]
fn civil_round_trip() {
    for days in (-800_000..800_000).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        let y = i32::try_from(y).expect("small year");
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(civil_from_days(i64::MAX).1, civil_from_days(i64::MAX).1);
}

#[test]
fn rfc3339_and_now() {
    assert_eq!(parse_rfc3339("2030-01-01T00:00:00Z"), Some(1_893_456_000));
    assert_eq!(
        parse_rfc3339("2030-01-01t01:30:00.5+01:30"),
        Some(1_893_456_000)
    );
    assert_eq!(parse_rfc3339("1969-12-31 23:59:59z"), Some(-1));
    assert_eq!(parse_rfc3339("2030-02-29T00:00:00Z"), None);
    assert_eq!(parse_rfc3339("2030-01-01T00:00:00"), None);
    assert_eq!(parse_rfc3339("2030-01-01T00:00:00+2:00"), None);
    assert_eq!(parse_rfc3339("２030-01-01T00:00:00Z"), None);
    let now = now_from_epoch(1_778_754_615);
    assert_eq!(
        now,
        Now {
            year: 2026,
            month: 5,
            day: 14,
            hour: 10,
            minute: 30,
            second: 15,
            weekday: 4
        }
    );
    assert_eq!(now_from_epoch(-1).weekday, 3);
    let _ = now_from_epoch(i64::MIN);
    let _ = now_from_epoch(i64::MAX);
}

// ---- properties ----

fn number(min: u32, max: u32) -> BoxedStrategy<String> {
    (min..=max).prop_map(|n| n.to_string()).boxed()
}

/// One list element that croner accepts and that selects at least one value.
fn element(
    min: u32,
    max: u32,
    slots: u32,
    names: &'static [&'static str],
) -> BoxedStrategy<String> {
    let single = number(min, max);
    let range = (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b)));
    let star_step = (1..=slots).prop_map(|n| format!("*/{n}"));
    let stepped = (min..=max, min..=max, 1..=slots)
        .prop_map(|(a, b, n)| format!("{}-{}/{n}", a.min(b), a.max(b)));
    // A start up to the last slot (so for day-of-week not 7, which would select nothing).
    let start_step = (min..=min + slots - 1, 1..=slots).prop_map(|(a, n)| format!("{a}/{n}"));
    let mut choices = vec![
        single,
        range.boxed(),
        star_step.boxed(),
        stepped.boxed(),
        start_step.boxed(),
    ];
    if !names.is_empty() {
        choices.push(
            (0..names.len(), any::<bool>())
                .prop_map(move |(i, upper)| {
                    if upper {
                        names[i].to_uppercase()
                    } else {
                        names[i].to_string()
                    }
                })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(choices).boxed()
}

fn field(min: u32, max: u32, slots: u32, names: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        Just("*".to_string()),
        prop::collection::vec(element(min, max, slots, names), 1..4).prop_map(|v| v.join(",")),
    ]
    .boxed()
}

fn dow_field() -> BoxedStrategy<String> {
    let nth = (
        0..=7u32,
        prop_oneof![
            (1..=5u32).prop_map(|n| n.to_string()),
            Just("L".to_string())
        ],
    )
        .prop_map(|(d, n)| format!("{d}#{n}"));
    prop_oneof![
        field(0, 7, 7, &["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
        nth,
    ]
    .boxed()
}

fn valid_pattern() -> impl Strategy<Value = String> {
    (
        field(0, 59, 60, &[]),
        field(0, 23, 24, &[]),
        prop_oneof![
            field(1, 31, 31, &[]),
            Just("L".to_string()),
            Just("L,15".to_string())
        ],
        field(
            1,
            12,
            12,
            &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
        ),
        dow_field(),
    )
        .prop_map(|(mi, h, dom, mo, dow)| format!("{mi} {h} {dom} {mo} {dow}"))
}

const JS_SPACES: &[char] = &[
    ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{a0}', '\u{1680}', '\u{2003}', '\u{2028}',
    '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
];

fn js_spaces(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(JS_SPACES), min..3)
        .prop_map(|v| v.into_iter().collect())
}

fn assert_spans_sound(input: &str, result: &Result<Schedule, CronError>) {
    let sound = |span: &Span| {
        span.start <= span.end
            && span.end <= input.len()
            && input.is_char_boundary(span.start)
            && input.is_char_boundary(span.end)
    };
    match result {
        Err(e) => assert!(sound(&e.span), "{input:?}: {e:?}"),
        Ok(Schedule::Pattern(p)) => {
            let fields = Field::ALL.iter().filter_map(|&f| p.field_span(f));
            let all: Vec<Span> = fields
                .chain(p.question_marks.iter().cloned())
                .chain(p.last_weekday_traps.iter().cloned())
                .chain(p.ignored_suffixes.iter().cloned())
                .chain(std::iter::once(p.never_fires_span()))
                .collect();
            for span in &all {
                assert!(sound(span), "{input:?}: {span:?}");
            }
        }
        Ok(Schedule::OneShot(_)) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_valid_patterns_parse(p in valid_pattern()) {
        let result = parse(&p, &NOW);
        prop_assert!(matches!(result, Ok(Schedule::Pattern(_))), "{:?}: {:?}", p, result);
    }

    #[test]
    fn six_field_patterns_parse(sec in field(0, 59, 60, &[]), p in valid_pattern()) {
        let full = format!("{sec}\t{p}");
        prop_assert!(parse(&full, &NOW).is_ok(), "{:?}", full);
    }

    #[test]
    fn outer_whitespace_is_always_rejected(
        p in valid_pattern(),
        lead in js_spaces(0),
        trail in js_spaces(0),
        which in 0..3u8,
    ) {
        let (lead, trail) = match which {
            0 => (format!(" {lead}"), trail),
            1 => (lead, format!("{trail}\n")),
            _ => (format!("\t{lead}"), format!("{trail} ")),
        };
        let text = format!("{lead}{p}{trail}");
        let e = parse(&text, &NOW).expect_err("whitespace must be rejected");
        prop_assert_eq!(e.kind, ErrorKind::Whitespace);
        prop_assert!(!e.span.is_empty());
        prop_assert!(text[e.span.clone()].chars().all(super::is_js_space));
        // And trimming is the whole fix.
        prop_assert!(parse(&p, &NOW).is_ok());
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let result = parse(&s, &NOW);
        assert_spans_sound(&s, &result);
    }

    #[test]
    fn cron_like_strings_never_panic(s in "[0-9*/,#LlW?@:. \t\n\u{a0}é€𝟙a-zA-Z-]{0,40}") {
        let result = parse(&s, &NOW);
        assert_spans_sound(&s, &result);
        if let Ok(Schedule::Pattern(p)) = &result {
            let _ = p.never_fires();
        }
    }

    #[test]
    fn structured_noise_never_panics(
        fields in prop::collection::vec("[0-9*/,#L?-]{0,6}|[A-Za-z]{3}|é|9{25}", 4..8),
        now_day in 0..40u32,
    ) {
        let s = fields.join(" ");
        let now = Now { day: now_day, weekday: now_day % 9, ..NOW };
        let result = parse(&s, &now);
        assert_spans_sound(&s, &result);
        if let Ok(Schedule::Pattern(p)) = &result {
            let _ = p.never_fires();
        }
    }

    #[test]
    fn rfc3339_round_trips(secs in -50_000_000_000i64..50_000_000_000i64) {
        let now = now_from_epoch(secs);
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            now.year, now.month, now.day, now.hour, now.minute, now.second
        );
        if (0..=9999).contains(&now.year) {
            prop_assert_eq!(parse_rfc3339(&text), Some(secs));
        }
    }
}
