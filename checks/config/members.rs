//! Small helpers over the parsed config: member spans for format-preserving edits, secret
//! placeholders, and the conversion to `serde_json::Value` for the schema.

use crate::diag::Span;
use crate::json::{Kind, Value};
use crate::json_edit;

pub use crate::json_edit::member_span;

/// The bytes to delete to remove the (last) member `key` of `object`, separator included, so
/// that the rest of the file keeps its layout.
pub fn removal(object: &Value<'_>, key: &str) -> Option<Span> {
    let members: Vec<Value<'_>> = object.members().map(|(_, v)| v).collect();
    let index = members
        .iter()
        .rposition(|m| m.key().as_deref() == Some(key))?;
    let siblings: Vec<Span> = members.iter().map(member_span).collect();
    Some(json_edit::removal_span(&object.span(), &siblings, index))
}

/// `{"secret": true}`: SecretMigrator's placeholder for a value moved to the secret store.
pub fn is_placeholder(value: &Value<'_>) -> bool {
    value.kind() == Kind::Object && value.get("secret").and_then(|s| s.as_bool()) == Some(true)
}

/// A string value, as a plain `String`, when the value is a string.
pub fn string(value: Option<Value<'_>>) -> Option<String> {
    value
        .filter(|v| v.kind() == Kind::String)
        .and_then(|v| v.as_str())
        .map(|s| s.into_owned())
}

/// Deeper than this, the schema has nothing to say: subtrees become `null`, so a pathological
/// 100,000-deep unknown key never recurses that deep.
const MAX_DEPTH: usize = 64;

/// Our parsed value as a `serde_json::Value`, for the schema validator only. Duplicate keys keep
/// the last value (as JSON.parse does); numbers beyond f64 become `f64::MAX` with their sign (the
/// schema sees a number; `port`'s Infinity is diagnosed in code); lone surrogates are U+FFFD.
/// The loader verdict is never taken from this conversion.
pub fn to_serde(value: &Value<'_>, depth: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return J::Null;
    }
    match value.kind() {
        Kind::Null => J::Null,
        Kind::Bool => J::Bool(value.as_bool().unwrap_or(false)),
        Kind::Number => {
            let raw = std::str::from_utf8(value.raw()).unwrap_or("0");
            if let Ok(n) = raw.parse::<i64>() {
                return J::from(n);
            }
            let f = value.as_f64().unwrap_or(0.0);
            let f = if f.is_finite() {
                f
            } else {
                f64::MAX.copysign(f)
            };
            serde_json::Number::from_f64(f)
                .map(J::Number)
                .unwrap_or(J::Null)
        }
        Kind::String => J::String(value.as_str().map(|s| s.into_owned()).unwrap_or_default()),
        Kind::Array => J::Array(value.elements().map(|e| to_serde(&e, depth + 1)).collect()),
        Kind::Object => {
            let mut map = serde_json::Map::new();
            for (key, member) in value.members() {
                // Remove first so that the last occurrence also takes the last position.
                map.remove(key.as_ref());
                map.insert(key.into_owned(), to_serde(&member, depth + 1));
            }
            J::Object(map)
        }
    }
}

/// The indentation of the line holding byte `at` (its leading spaces and tabs).
pub fn indent_at(bytes: &[u8], at: usize) -> String {
    let line_start = bytes[..at.min(bytes.len())]
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    bytes[line_start..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .map(|b| *b as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, Tape};

    #[test]
    fn removal_keeps_the_layout_of_the_rest() {
        let text = "{\n  \"a\": 1,\n  \"b\": {\"c\": 2},\n  \"d\": 3\n}";
        let mut tape = Tape::new();
        parse(text.as_bytes(), &mut tape).unwrap();
        let span = removal(&tape.root(), "b").unwrap();
        let out = format!("{}{}", &text[..span.start], &text[span.end..]);
        assert_eq!(out, "{\n  \"a\": 1,\n  \"d\": 3\n}");
        let span = removal(&tape.root(), "a").unwrap();
        let out = format!("{}{}", &text[..span.start], &text[span.end..]);
        assert_eq!(out, "{\n  \"b\": {\"c\": 2},\n  \"d\": 3\n}");
    }

    #[test]
    fn serde_conversion_keeps_the_last_duplicate_and_survives_1e400() {
        let text = br#"{"port": 1, "port": 1e400, "x": [true, null, "s"]}"#;
        let mut tape = Tape::new();
        parse(text, &mut tape).unwrap();
        let value = to_serde(&tape.root(), 0);
        assert_eq!(value["port"].as_f64(), Some(f64::MAX));
        assert_eq!(value["x"][2], "s");
    }

    #[test]
    fn placeholders_are_objects_with_secret_true() {
        let mut tape = Tape::new();
        parse(br#"[{"secret": true}, {"secret": "true"}, "x"]"#, &mut tape).unwrap();
        let found: Vec<bool> = tape.root().elements().map(|v| is_placeholder(&v)).collect();
        assert_eq!(found, vec![true, false, false]);
    }
}
