//! PEM material: key files are secret whole; PEM blocks inside other files are secret from the
//! end of their BEGIN line to the end of their END marker (or the end of the file).

use std::path::Path;

use crate::diag::Span;

/// Whether every byte of the file is secret: a private key, a temp or backup copy of one
/// (`signing-key.pem.tmp.<pid>`, `.signing-key.pem.instar-doctor.<pid>.tmp`), the secret
/// store's master key, or any file that starts as a PEM. Nothing of it is shown, not even its
/// armour: a damaged key's lines are still key bytes.
pub fn is_key_file(path: &Path, bytes: &[u8]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains(".pem") || name.contains(".key") {
        return true;
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    first.is_some_and(|i| text[i..].starts_with(b"-----BEGIN"))
}

/// The bodies of the PEM blocks inside `bytes`, public ones included (err on the side of hiding).
pub fn blocks(bytes: &[u8], out: &mut Vec<Span>) {
    const BEGIN: &[u8] = b"-----BEGIN";
    const END: &[u8] = b"-----END";
    let mut from = 0;
    while let Some(start) = find(bytes, BEGIN, from) {
        // The body starts after the header's closing dashes, or after its line when they were
        // damaged; inside a JSON string the "line" ends at the `\n` escape or the quote.
        let after = start + BEGIN.len();
        let header_end = match find(bytes, b"-----", after) {
            Some(p) if !bytes[after..p].iter().any(|b| matches!(b, b'\n' | b'"')) => p + 5,
            _ => bytes[after..]
                .iter()
                .position(|b| matches!(b, b'\n' | b'"' | b'\\'))
                .map_or(bytes.len(), |p| after + p),
        };
        let end = find(bytes, END, header_end)
            .map(|e| match find(bytes, b"-----", e + END.len()) {
                Some(p) => p + 5,
                None => bytes.len(),
            })
            .unwrap_or(bytes.len());
        if end > header_end {
            out.push(header_end..end);
        }
        from = end.max(after);
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_by_name_or_content() {
        for name in [
            "signing-key.pem",
            "signing-key.pem.tmp.4242",
            ".encryption-key.pem.instar-doctor.7.tmp",
            "secrets-master.key",
            "SIGNING-KEY.PEM",
        ] {
            assert!(is_key_file(Path::new(name), b""), "{name}");
        }
        assert!(is_key_file(
            Path::new("x"),
            b"\n  -----BEGIN PRIVATE KEY-----"
        ));
        assert!(!is_key_file(Path::new("config.json"), b"{\"a\": 1}"));
    }

    #[test]
    fn bodies_of_every_block_even_damaged_or_unterminated() {
        let text = b"a -----BEGIN PUBLIC KEY-----\nPUBBODY\n-----END PUBLIC KEY----- b \
                     -----BEGIN PRIV@TE KEY\nDAMAGED\n";
        let mut spans = Vec::new();
        blocks(text, &mut spans);
        let hidden: Vec<&[u8]> = spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(spans.len(), 2, "{hidden:?}");
        assert!(hidden[0].windows(7).any(|w| w == b"PUBBODY"));
        assert!(hidden[1].ends_with(b"DAMAGED\n"));
        assert!(text[..spans[0].start].ends_with(b"-----BEGIN PUBLIC KEY-----"));
    }
}
