//! Content digests: the SHA-256 of a file's bytes, in lowercase hex. A leaf every layer may use:
//! writing records a file's hash before and after a run, and SARIF fingerprints a finding with
//! one, so neither needs the other to hash.

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_of_digest(Sha256::digest(bytes))
}

/// A finished SHA-256 in lowercase hex (also for a hash computed while streaming a file).
pub fn hex_of_digest(digest: impl IntoIterator<Item = u8>) -> String {
    // By table, into one string: SARIF takes one per finding (issue #11).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_the_lowercase_hex_of_the_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
