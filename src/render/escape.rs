//! Control characters from a state file never reach a terminal as themselves.
//!
//! `.instar/` is committed to git, so its bytes may come from anyone: an `ESC[2J` in a job name
//! would clear the operator's screen, an OSC sequence retitle the window or smuggle a hyperlink.
//! Every human channel (snippets, messages, help, diffs, the `-i` preview) shows such characters
//! as Rust-style escapes (`\u{1b}`), which a reader can see and no terminal interprets.

/// Whether `c` must be shown escaped. Tab and newline lay text out and are kept; so is a carriage
/// return that ends a line (`\r\n` files), which only returns to the column the newline leaves.
fn must_escape(c: char, next: Option<char>) -> bool {
    match c {
        '\t' | '\n' => false,
        '\r' => next != Some('\n'),
        _ => always_escaped(c),
    }
}

/// Whether `c`, other than a tab or a line break, is shown escaped wherever it stands: C0, DEL
/// and C1 controls, and the bidirectional overrides that reorder what is shown. For writers
/// that handle tabs and line breaks their own way (GitHub's workflow commands).
pub fn always_escaped(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r')
        && (c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// The escape shown for `c`.
pub fn escape_char(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// Where the characters that might need a look start: printable ASCII, tab and newline are
/// never escaped, so a scan of bytes skips them (most of what the human report shows is such
/// text, read a character at a time before: issue #11). Never inside a character, and past
/// no carriage return (whether it is escaped depends on what follows it).
fn first_to_look_at(text: &str) -> usize {
    text.bytes()
        .position(|b| !matches!(b, b' '..=b'~' | b'\t' | b'\n'))
        .unwrap_or(text.len())
}

/// `text` with every control character escaped; borrowed when there is none (the common case).
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let skip = first_to_look_at(text);
    let mut chars = text[skip..]
        .char_indices()
        .map(|(at, c)| (skip + at, c))
        .peekable();
    let mut first = None;
    while let Some((at, c)) = chars.next() {
        if must_escape(c, chars.peek().map(|&(_, n)| n)) {
            first = Some(at);
            break;
        }
    }
    let Some(first) = first else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    let mut rest = text[first..].chars().peekable();
    while let Some(c) = rest.next() {
        if must_escape(c, rest.peek().copied()) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A stretch of text as it may be shown: as is, or one character that must be escaped.
pub enum Piece<'a> {
    Plain(&'a str),
    Escaped(char),
}

/// Calls `each` with the byte offset and piece of every stretch of `text`, in order: the
/// snippet builder keeps its offset map exact with it.
pub fn for_each_piece(text: &str, mut each: impl FnMut(usize, Piece<'_>)) {
    let mut run_start = 0;
    let skip = first_to_look_at(text);
    let mut chars = text[skip..]
        .char_indices()
        .map(|(at, c)| (skip + at, c))
        .peekable();
    while let Some((at, c)) = chars.next() {
        if must_escape(c, chars.peek().map(|&(_, n)| n)) {
            if run_start < at {
                each(run_start, Piece::Plain(&text[run_start..at]));
            }
            each(at, Piece::Escaped(c));
            run_start = at + c.len_utf8();
        }
    }
    if run_start < text.len() {
        each(run_start, Piece::Plain(&text[run_start..]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_shown_not_sent() {
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\u{1b}]0;pwned\u{7}"),
            "a\\u{1b}[2Jb\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(escape_controls("x\u{9b}31m"), "x\\u{9b}31m", "a C1 CSI");
        assert_eq!(escape_controls("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(escape_controls("\u{7f}"), "\\u{7f}");
    }

    #[test]
    fn layout_characters_stay() {
        assert!(matches!(
            escape_controls("a\tb\nc\r\nd"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(escape_controls("over\rwrite"), "over\\u{d}write");
    }

    #[test]
    fn the_plain_ascii_skip_stops_where_a_look_is_needed() {
        assert_eq!(first_to_look_at("plain text\twith tabs\n"), 21);
        assert_eq!(first_to_look_at("ab\rc"), 2);
        assert_eq!(first_to_look_at("ab\u{e9}"), 2);
        assert_eq!(first_to_look_at("ab\u{7f}"), 2);
        // What comes after the skip is judged as before: a control after plain text, a
        // carriage return by what follows it.
        assert_eq!(
            escape_controls("plain then \u{1b}[2J"),
            "plain then \\u{1b}[2J"
        );
        assert_eq!(escape_controls("line\r\nnext\rx"), "line\r\nnext\\u{d}x");
        assert_eq!(escape_controls("caf\u{e9} \u{202e}"), "caf\u{e9} \\u{202e}");
        assert_eq!(
            pieces("plain \u{7}x"),
            [
                (0, "plain ".to_string()),
                (6, "\\u{7}".to_string()),
                (7, "x".to_string())
            ]
        );
    }

    /// Each piece of `text` with its offset, escapes as they are shown.
    fn pieces(text: &str) -> Vec<(usize, String)> {
        let mut seen = Vec::new();
        for_each_piece(text, |at, piece| {
            seen.push(match piece {
                Piece::Plain(s) => (at, s.to_string()),
                Piece::Escaped(c) => (at, escape_char(c)),
            })
        });
        seen
    }

    #[test]
    fn pieces_cover_the_text_in_order() {
        assert_eq!(
            pieces("ab\u{1b}c\u{7}"),
            [
                (0, "ab".to_string()),
                (2, "\\u{1b}".to_string()),
                (3, "c".to_string()),
                (4, "\\u{7}".to_string())
            ]
        );
    }
}
