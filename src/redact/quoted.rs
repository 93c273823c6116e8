//! Secrets quoted by a message. A finding's message may quote the bytes it points at (a parse
//! error says "unexpected '"482913"'", clipped at 40 characters), and nothing in the message
//! says they were a secret: only the file's secret ranges know. Any run of the message that is
//! part of such a secret is hidden.

use super::REDACTED;

/// Runs shorter than this are ordinary text more often than a quote (unless the whole secret
/// is that short).
const MIN_RUN: usize = 4;

/// `text` with every run of at least four characters (or a whole secret, if shorter) that occurs
/// inside one of `secrets` replaced by `[redacted]`.
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
    while !rest.is_empty() {
        let run = longest_run(rest, &secrets);
        if run > 0 {
            out.push_str(REDACTED);
            rest = &rest[run..];
        } else {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..c]);
            rest = &rest[c..];
        }
    }
    out
}

/// The byte length of the longest prefix of `text` that lies inside a secret and is long enough
/// to count; 0 when there is none.
fn longest_run(text: &str, secrets: &[&str]) -> usize {
    let mut best = 0;
    for (chars, (i, c)) in text.char_indices().enumerate() {
        let prefix = &text[..i + c.len_utf8()];
        if !secrets.iter().any(|s| s.contains(prefix)) {
            break;
        }
        if chars + 1 >= MIN_RUN || secrets.contains(&prefix) {
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
        let secrets = vec!["482913".to_string(), "tok-a-very-long-token-value".to_string()];
        assert_eq!(
            scrub("unexpected '\"482913\"'; expected ':'", &secrets),
            "unexpected '\"[redacted]\"'; expected ':'"
        );
        assert_eq!(scrub("got 'tok-a-very…'", &secrets), "got '[redacted]…'");
        // Short runs that merely occur in a secret stay.
        assert_eq!(scrub("a 48 b", &secrets), "a 48 b");
        assert_eq!(scrub("pw", &["pw".to_string()]), "[redacted]");
    }
}
