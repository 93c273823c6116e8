//! Telegram `authorizedUserIds` stored as strings (#34), in `.instar/config.json`'s messaging
//! entries. The fix rewrites exactly the bytes of each numeric string.

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::version::boundary;

use super::codes::TELEGRAM_IDS_AS_STRINGS;

/// Past this, config.json is not instar's; other checks say so.
const MAX_CONFIG: u64 = 8 << 20;
/// JavaScript numbers are exact up to 2^53 - 1: a longer id would change if written as a number.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The number a string id becomes, when it converts without changing: digits only (an optional
/// minus), no leading zero, within JavaScript's exact range.
fn as_number(text: &str) -> Option<&str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let exact = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && digits.parse::<u64>().is_ok_and(|n| n <= MAX_SAFE_INTEGER);
    exact.then_some(text)
}

pub fn string_ids(cx: &Context, sink: &mut Sink) {
    let path = cx.state_path("config.json");
    if cx.file_len(&path).is_none_or(|len| len > MAX_CONFIG) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else { return };
    let Some(messaging) = tape.root().get("messaging") else {
        return;
    };
    for adapter in messaging.elements() {
        if adapter.get("type").and_then(|t| t.as_str()).as_deref() != Some("telegram") {
            continue;
        }
        let Some(ids) = adapter
            .get("config")
            .and_then(|c| c.get("authorizedUserIds"))
        else {
            continue;
        };
        let strings: Vec<_> = ids
            .elements()
            .filter_map(|id| {
                let text = id.as_str()?;
                let number = as_number(&text)?.to_string();
                Some((id.span(), number))
            })
            .collect();
        if strings.is_empty() {
            continue;
        }
        let broken = cx.version < boundary::TELEGRAM_USER_IDS_TYPE_TOLERANT;
        let (severity, effect, consequence) = if broken {
            (
                Severity::Error,
                Effect::Silent,
                format!(
                    "instar {} never matches a string against the sender's numeric id, so these users are treated as unknown",
                    cx.version
                ),
            )
        } else {
            (
                Severity::Info,
                Effect::None,
                format!("instar {} matches both forms", cx.version),
            )
        };
        let changes = strings
            .iter()
            .map(|(span, number)| Change::Edit {
                file: path.clone().into(),
                span: span.clone(),
                replacement: number.clone().into(),
            })
            .collect();
        sink.push(
            Diagnostic::new(
                &TELEGRAM_IDS_AS_STRINGS,
                effect,
                format!(
                    "{} Telegram authorizedUserIds stored as strings: {consequence}",
                    strings.len()
                ),
            )
            .severity(severity)
            .file(&path)
            .at(ids.span(), "numeric strings here")
            .pointer(ids.pointer())
            .fix(Some(Fix::unsafe_(
                "write the numeric strings as numbers",
                changes,
            ))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::as_number;

    #[test]
    fn only_ids_that_survive_as_numbers_convert() {
        assert_eq!(as_number("123456789"), Some("123456789"));
        assert_eq!(as_number("-100"), Some("-100"));
        assert_eq!(as_number("0"), Some("0"));
        // A leading zero, a space, a sign alone or a value past 2^53 - 1 would change meaning.
        for bad in ["0123", " 123", "-", "", "12a", "9007199254740992", "1e3"] {
            assert_eq!(as_number(bad), None, "{bad:?}");
        }
        assert_eq!(as_number("9007199254740991"), Some("9007199254740991"));
    }
}
