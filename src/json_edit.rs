//! Format-preserving edits of JSON text: the byte ranges to delete or rewrite so that key order,
//! indentation and the trailing newline of the user's file stay as they were.

use crate::diag::Span;
use crate::json::{Kind, Value};

/// The bytes to delete to remove element `index` of a container whose elements are `siblings`
/// (in order) and whose own span (brackets included) is `container`.
///
/// A middle or last element takes the separator before it with it; the first takes the one after
/// it; a lone element leaves `[]`.
pub fn removal_span(container: &Span, siblings: &[Span], index: usize) -> Span {
    let this = &siblings[index];
    if index > 0 {
        siblings[index - 1].end..this.end
    } else if let Some(next) = siblings.get(1) {
        this.start..next.start
    } else {
        container.start + 1..container.end.saturating_sub(1).max(container.start + 1)
    }
}

/// A member's whole text, key through value (the value alone for an array element).
pub fn member_span(member: &Value<'_>) -> Span {
    let value = member.span();
    match member.key_span() {
        Some(key) => key.start..value.end,
        None => value,
    }
}

/// The bytes to delete to remove the member whose key token is at `key`, wherever it is under
/// `root`, separator included.
pub fn member_removal(root: Value<'_>, key: &Span) -> Option<Span> {
    let mut stack = vec![root];
    while let Some(value) = stack.pop() {
        match value.kind() {
            Kind::Object => {
                let members: Vec<Value<'_>> = value.members().map(|(_, v)| v).collect();
                if let Some(i) = members
                    .iter()
                    .position(|m| m.key_span().as_ref() == Some(key))
                {
                    let siblings: Vec<Span> = members.iter().map(member_span).collect();
                    return Some(removal_span(&value.span(), &siblings, i));
                }
                stack.extend(members);
            }
            Kind::Array => stack.extend(value.elements()),
            _ => {}
        }
    }
    None
}

/// Removes `levels * 2` leading spaces from every line but the first, where present: used when a
/// value moves one nesting level up (unwrapping `{"jobs": [...]}`).
pub fn dedent(text: &str, levels: usize) -> String {
    let width = levels * 2;
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            let spaces = line.bytes().take(width).take_while(|b| *b == b' ').count();
            out.push_str(&line[spaces..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Encodes `text` as a JSON string literal the way JSON.stringify does.
pub fn string_literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// The whitespace at the start of the line holding byte `offset`.
pub fn line_indent(src: &[u8], offset: usize) -> String {
    let start = src[..offset.min(src.len())]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    src[start..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .map(|b| *b as char)
        .collect()
}

/// Re-indents a pretty-printed (2-space) JSON value so that it sits at `indent`: every line but
/// the first gets the prefix.
pub fn indent_value(pretty: &str, indent: &str) -> String {
    pretty.replace('\n', &format!("\n{indent}"))
}

/// The edit that adds member `key: value` (a JSON text, pretty-printed with 2 spaces) as the last
/// member of the object spanning `object` whose members' full spans (key through value) are
/// `members`. The new member copies the indentation of the existing ones.
pub fn insert_member(
    src: &[u8],
    object: &Span,
    members: &[Span],
    key: &str,
    value: &str,
) -> (Span, String) {
    match members.last() {
        Some(last) => {
            let indent = line_indent(src, last.start);
            let text = format!(
                ",\n{indent}{}: {}",
                string_literal(key),
                indent_value(value, &indent)
            );
            (last.end..last.end, text)
        }
        None => {
            let outer = line_indent(src, object.start);
            let inner = format!("{outer}  ");
            let text = format!(
                "{{\n{inner}{}: {}\n{outer}}}",
                string_literal(key),
                indent_value(value, &inner)
            );
            (object.clone(), text)
        }
    }
}

/// The edit that appends `value` (a JSON text, pretty-printed with 2 spaces) as the last
/// element of the array spanning `array` whose elements' spans are `elements`, indented like
/// the existing ones (an empty array is opened onto lines of its own).
pub fn insert_element(src: &[u8], array: &Span, elements: &[Span], value: &str) -> (Span, String) {
    match elements.last() {
        Some(last) => {
            let indent = line_indent(src, last.start);
            let text = format!(",\n{indent}{}", indent_value(value, &indent));
            (last.end..last.end, text)
        }
        None => {
            let outer = line_indent(src, array.start);
            let inner = format!("{outer}  ");
            let text = format!("[\n{inner}{}\n{outer}]", indent_value(value, &inner));
            (array.clone(), text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, (span, replacement): (Span, String)) -> String {
        format!("{}{replacement}{}", &text[..span.start], &text[span.end..])
    }

    #[test]
    fn appends_elements_with_the_arrays_indentation() {
        let text = "{\n  \"entries\": [\n    {\"a\": 1}\n  ]\n}\n";
        let start = text.find("{\"a").unwrap();
        let array = text.find('[').unwrap()..text.rfind(']').unwrap() + 1;
        let out = apply(
            text,
            insert_element(
                text.as_bytes(),
                &array,
                std::slice::from_ref(&(start..start + 8)),
                "{\n  \"b\": 2\n}",
            ),
        );
        assert_eq!(
            out,
            "{\n  \"entries\": [\n    {\"a\": 1},\n    {\n      \"b\": 2\n    }\n  ]\n}\n"
        );
        let empty = "{\n  \"entries\": []\n}";
        let array = empty.find('[').unwrap()..empty.find(']').unwrap() + 1;
        let out = apply(empty, insert_element(empty.as_bytes(), &array, &[], "{}"));
        assert_eq!(out, "{\n  \"entries\": [\n    {}\n  ]\n}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }

    fn remove(text: &str, container: Span, siblings: &[Span], index: usize) -> String {
        let span = removal_span(&container, siblings, index);
        format!("{}{}", &text[..span.start], &text[span.end..])
    }

    #[test]
    fn removes_first_middle_last_and_only_elements() {
        let text = "[\n  1,\n  2,\n  3\n]";
        let siblings = [4..5, 9..10, 14..15];
        let all = 0..text.len();
        assert_eq!(remove(text, all.clone(), &siblings, 0), "[\n  2,\n  3\n]");
        assert_eq!(remove(text, all.clone(), &siblings, 1), "[\n  1,\n  3\n]");
        assert_eq!(remove(text, all.clone(), &siblings, 2), "[\n  1,\n  2\n]");
        let lone = "[\n  1\n]";
        assert_eq!(
            remove(lone, 0..lone.len(), std::slice::from_ref(&(4..5)), 0),
            "[]"
        );
    }

    #[test]
    fn dedent_only_strips_spaces_that_are_there() {
        assert_eq!(dedent("[\n    1\n  ]", 1), "[\n  1\n]");
        assert_eq!(dedent("[\n 1\n]", 1), "[\n1\n]");
    }

    #[test]
    fn string_literals_escape_like_json_stringify() {
        assert_eq!(string_literal("a\"b\n"), "\"a\\\"b\\n\"");
    }

    #[test]
    fn inserts_members_with_the_neighbours_indentation() {
        let text = "{\n  \"a\": {\n    \"x\": 1\n  }\n}";
        let (span, new) = insert_member(
            text.as_bytes(),
            &(0..text.len()),
            std::slice::from_ref(&(4..25)),
            "b",
            "{\n  \"y\": 2\n}",
        );
        let out = format!("{}{}{}", &text[..span.start], new, &text[span.end..]);
        assert_eq!(
            out,
            "{\n  \"a\": {\n    \"x\": 1\n  },\n  \"b\": {\n    \"y\": 2\n  }\n}"
        );
        let empty = "{\n  \"machines\": {}\n}";
        let (span, new) = insert_member(empty.as_bytes(), &(16..18), &[], "m", "1");
        let out = format!("{}{}{}", &empty[..span.start], new, &empty[span.end..]);
        assert_eq!(out, "{\n  \"machines\": {\n    \"m\": 1\n  }\n}");
    }
}
