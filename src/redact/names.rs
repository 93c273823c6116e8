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
///
/// One pass over the name, with no allocation: this runs for every string and word of a 60 MB
/// file (the lexical and keyword passes), most of them long prompt text, so the normalised name
/// is never built. Its last 16 letters ride in a `u128`, one byte each, and a part is found
/// when that window ends with it; the names are compared with the name's last letters at the end.
pub fn is_secret_name(raw: &[u8]) -> bool {
    let mut window: u128 = 0;
    for &b in raw {
        if !b.is_ascii_alphanumeric() {
            continue;
        }
        let b = b.to_ascii_lowercase();
        window = (window << 8) | u128::from(b);
        // No part holds a zero byte, so a match also proves enough letters were seen.
        if PACKED_PARTS
            .iter()
            .any(|&(last, packed, mask)| last == b && window & mask == packed)
        {
            return true;
        }
    }
    // A name that ends with one of the whole names is secret too: `telegramChatId`, or a key
    // whose opening quote was damaged into a letter (`EcontextSigningKey"`).
    let mut tail = [0u8; LONGEST_NAME];
    let mut len = 0;
    for &b in raw.iter().rev() {
        if len == LONGEST_NAME {
            break;
        }
        if b.is_ascii_alphanumeric() {
            len += 1;
            tail[LONGEST_NAME - len] = b.to_ascii_lowercase();
        }
    }
    let tail = &tail[LONGEST_NAME - len..];
    NAMES.iter().any(|n| tail.ends_with(n))
}

/// The longest of `NAMES`.
const LONGEST_NAME: usize = 17;

/// Each part's last byte, its bytes packed into the low end of a `u128`, and the mask of its
/// length (every part is at most 16 bytes).
const PACKED_PARTS: [(u8, u128, u128); 5] = {
    let mut out = [(0u8, 0u128, 0u128); 5];
    let mut i = 0;
    while i < PARTS.len() {
        let part = PARTS[i];
        assert!(part.len() <= 16);
        let mut packed: u128 = 0;
        let mut j = 0;
        while j < part.len() {
            packed = (packed << 8) | part[j] as u128;
            j += 1;
        }
        let mask = if part.len() == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * part.len())) - 1
        };
        out[i] = (part[part.len() - 1], packed, mask);
        i += 1;
    }
    out
};

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
    fn the_longest_name_is_known() {
        assert_eq!(NAMES.iter().map(|n| n.len()).max(), Some(LONGEST_NAME));
    }

    /// The plain reading of the rule: normalise the whole name, then look for the parts and
    /// the names in it.
    fn reference(raw: &[u8]) -> bool {
        let name: Vec<u8> = raw
            .iter()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect();
        NAMES.iter().any(|n| name.ends_with(n))
            || PARTS.iter().any(|p| name.windows(p.len()).any(|w| w == *p))
    }

    /// The one-pass reading agrees with the plain one on names, parts, near misses, long text
    /// and junk between letters.
    #[test]
    fn one_pass_agrees_with_the_plain_rule() {
        let mut words: Vec<Vec<u8>> = Vec::new();
        let pieces: Vec<&[u8]> = NAMES.iter().chain(PARTS).copied().collect();
        for piece in &pieces {
            for cut in 0..=piece.len() {
                words.push(piece[..cut].to_vec());
                words.push(piece[cut..].to_vec());
                let mut spaced = piece[..cut].to_vec();
                spaced.extend_from_slice(b"_-\xff ");
                spaced.extend_from_slice(&piece[cut..]);
                words.push(spaced);
            }
            for filler in [
                &b""[..],
                b"x",
                b"Check that the server responds and reports plainly ",
            ] {
                let mut before = filler.to_vec();
                before.extend_from_slice(piece);
                words.push(before.clone());
                before.extend_from_slice(b"Suffix");
                words.push(before);
            }
            words.push(piece.to_ascii_uppercase());
        }
        words.push(b"tokeN".to_vec());
        words.push(b"tokens and secrets".to_vec());
        words.push(vec![b'a'; 200]);
        for word in words {
            assert_eq!(
                is_secret_name(&word),
                reference(&word),
                "{}",
                String::from_utf8_lossy(&word)
            );
        }
    }

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
