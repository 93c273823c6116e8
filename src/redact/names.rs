//! Which key names hold secrets (design.md §3).
//!
//! Names are compared after lowercasing and dropping everything but letters and digits, so
//! `api_key`, `API-KEY` and `apiKey` are one name: a secret must not escape through a spelling.

/// Names that are secret wherever they appear, alone or as the end of a longer name
/// (`tunnel.token`, every messaging adapter's `token` and `chatId` included: matching the last
/// segment covers every parent).
const NAMES: &[&[u8]] = &[
    b"authtoken",
    b"dashboardpin",
    b"contextsigningkey",
    b"anthropicapikey",
    b"token",
    b"chatid",
    b"bottoken",
    b"apptoken",
    b"sharedsecret",
];

/// A name containing one of these is secret.
const PARTS: &[&[u8]] = &[b"token", b"secret", b"password", b"apikey", b"privatekey"];

/// Whether a key (as text) names a secret value.
pub fn is_secret_key(key: &str) -> bool {
    is_secret_name(key.as_bytes())
}

/// Whether a key's raw bytes name a secret value. Bytes that are not ASCII letters or digits are
/// ignored, so invalid UTF-8 inside a name cannot hide it either.
pub fn is_secret_name(raw: &[u8]) -> bool {
    // Short names fit on the stack; this runs once per word of a 60 MB file.
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut long = Vec::new();
    for b in raw.iter().filter(|b| b.is_ascii_alphanumeric()) {
        let b = b.to_ascii_lowercase();
        if len < buf.len() {
            buf[len] = b;
            len += 1;
        } else {
            if long.is_empty() {
                long.extend_from_slice(&buf);
            }
            long.push(b);
        }
    }
    let name: &[u8] = if long.is_empty() { &buf[..len] } else { &long };
    // The shortest part is five letters: nothing shorter can be a secret name.
    if name.len() < 5 {
        return false;
    }
    // A name that ends with one of the whole names is secret too: `telegramChatId`, or a key
    // whose opening quote was damaged into a letter (`EcontextSigningKey"`).
    NAMES.iter().any(|n| name.ends_with(n)) || PARTS.iter().any(|p| contains(name, p))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether a key is the `secret` member of a secret-store placeholder (`{"secret": true}`).
/// Compared as names are (`"secret_` with a damaged quote is still the marker).
pub fn is_secret_marker(raw: &[u8]) -> bool {
    let mut letters = raw.iter().filter(|b| b.is_ascii_alphanumeric());
    b"secret"
        .iter()
        .all(|c| letters.next().is_some_and(|b| b.eq_ignore_ascii_case(c)))
        && letters.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_names_and_parts_in_any_spelling() {
        for key in [
            "authToken",
            "dashboardPin",
            "contextSigningKey",
            "anthropicApiKey",
            "token",
            "chatId",
            "chat_id",
            "botToken",
            "appToken",
            "sharedSecret",
            "API_KEY",
            "x-api-key",
            "dbPassword",
            "privateKey",
            "auth\u{FFFD}Token",
            "telegramChatId",
            "EcontextSigningKey",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["port", "host", "projectName", "pin", "key", "tokens_"] {
            assert_eq!(is_secret_key(key), key.starts_with("token"), "{key}");
        }
        assert!(is_secret_name(b"auth\xFFToken"));
        assert!(is_secret_name(
            &[b'a'; 100]
                .iter()
                .chain(b"Secret")
                .copied()
                .collect::<Vec<_>>()
        ));
    }
}
