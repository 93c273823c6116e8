//! Format-preserving edits of JSON text: the byte ranges to delete or rewrite so that key order,
//! indentation and the trailing newline of the user's file stay as they were.

use crate::diag::Span;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
