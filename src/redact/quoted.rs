//! Secrets quoted by a message. A finding's message may quote the bytes it points at (a parse
//! error says "unexpected '"482913"'", clipped at 40 characters), and nothing in the message
//! says they were a secret: only the file's secret ranges know. Any run of the message that is
//! part of such a secret is hidden.

use super::REDACTED;

/// A run shorter than this must be a whole secret to count: shorter pieces of a secret are
/// ordinary text more often than a quote.
const MIN_RUN: usize = 8;

/// `text` with every quoted secret replaced by `[redacted]`: a run of the text that stands as a
/// word (nothing alphanumeric either side) and is either a whole secret or a piece of one at
/// least eight characters long (a quote clipped with `…`).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= 2)
        .collect();
    if secrets.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut after_word = false;
    while let Some(c) = rest.chars().next() {
        let run = if after_word {
            0
        } else {
            longest_run(rest, &secrets)
        };
        if run > 0 {
            out.push_str(REDACTED);
            rest = &rest[run..];
            after_word = false;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            after_word = c.is_alphanumeric();
        }
    }
    out
}

/// The byte length of the longest prefix of `text` that lies inside a secret, ends a word, and
/// is long enough (or whole); 0 when there is none.
fn longest_run(text: &str, secrets: &[&str]) -> usize {
    let mut best = 0;
    let mut chars = text.char_indices().peekable();
    let mut count = 0;
    while let Some((i, c)) = chars.next() {
        let prefix = &text[..i + c.len_utf8()];
        if !secrets.iter().any(|s| s.contains(prefix)) {
            break;
        }
        count += 1;
        let ends_word = chars.peek().is_none_or(|(_, next)| !next.is_alphanumeric());
        if ends_word && (count >= MIN_RUN || secrets.contains(&prefix)) {
            best = prefix.len();
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_whole_and_clipped_quotes() {
        let secrets = vec![
            "482913".to_string(),
            "tok-a-very-long-token-value".to_string(),
        ];
        assert_eq!(
            scrub("unexpected '\"482913\"'; expected ':'", &secrets),
            "unexpected '\"[redacted]\"'; expected ':'"
        );
        assert_eq!(scrub("got 'tok-a-very…'", &secrets), "got '[redacted]…'");
        // Short runs that merely occur in a secret stay, and so do pieces inside a word.
        assert_eq!(scrub("a 48 b", &secrets), "a 48 b");
        assert_eq!(
            scrub("the machines file", &["machi".to_string()]),
            "the machines file"
        );
        assert_eq!(scrub("pw", &["pw".to_string()]), "[redacted]");
    }
}
