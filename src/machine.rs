//! The formats shared by the three machine-state checks (spec §4–§6): machine ids, SPKI public
//! keys as identity.json stores them, PKCS#8 private-key PEMs, fingerprints and the lease
//! signature. Pure functions on bytes: no file is read here.
//!
//! Private-key bytes never leave `parse_private_pem`: it returns the derived public key only, and
//! no error message quotes the file's content.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// `m_` + 32 lowercase hex digits.
pub fn is_machine_id(text: &str) -> bool {
    text.len() == 34
        && text.starts_with("m_")
        && text[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The two key algorithms of a machine identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// Signing (OID 1.3.101.112).
    Ed25519,
    /// Encryption (OID 1.3.101.110).
    X25519,
}

impl KeyAlg {
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::Ed25519 => "Ed25519",
            KeyAlg::X25519 => "X25519",
        }
    }

    /// The DER of the algorithm OID's arc body (after the tag and length).
    fn oid_body(self) -> [u8; 3] {
        match self {
            KeyAlg::Ed25519 => [0x2b, 0x65, 0x70],
            KeyAlg::X25519 => [0x2b, 0x65, 0x6e],
        }
    }

    /// The 12-byte SPKI DER prefix before the 32 raw public-key bytes.
    pub fn spki_prefix(self) -> [u8; 12] {
        let [a, b, c] = self.oid_body();
        [
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, a, b, c, 0x03, 0x21, 0x00,
        ]
    }

    fn from_oid_body(body: &[u8]) -> Option<KeyAlg> {
        [KeyAlg::Ed25519, KeyAlg::X25519]
            .into_iter()
            .find(|alg| alg.oid_body() == body)
    }
}

/// Why an identity.json public-key string is not a 44-byte SPKI DER of the expected algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpkiError {
    NotBase64,
    WrongLength(usize),
    /// A valid SPKI of the other algorithm (the two values were swapped).
    OtherAlgorithm(KeyAlg),
    BadPrefix,
}

impl SpkiError {
    pub fn describe(&self, expected: KeyAlg) -> String {
        match self {
            SpkiError::NotBase64 => "is not standard, padded base64".to_string(),
            SpkiError::WrongLength(n) => format!(
                "decodes to {n} bytes, not the 44-byte SPKI DER of an {} public key",
                expected.name()
            ),
            SpkiError::OtherAlgorithm(found) => format!(
                "holds an {} public key where an {} key belongs",
                found.name(),
                expected.name()
            ),
            SpkiError::BadPrefix => format!(
                "is 44 bytes but not an SPKI DER with the {} algorithm identifier",
                expected.name()
            ),
        }
    }
}

/// Decodes an identity.json key value to its 32 raw public-key bytes.
pub fn decode_spki(text: &str, expected: KeyAlg) -> Result<[u8; 32], SpkiError> {
    let der = STANDARD
        .decode(text.as_bytes())
        .map_err(|_| SpkiError::NotBase64)?;
    if der.len() != 44 {
        return Err(SpkiError::WrongLength(der.len()));
    }
    let other = match expected {
        KeyAlg::Ed25519 => KeyAlg::X25519,
        KeyAlg::X25519 => KeyAlg::Ed25519,
    };
    if der[..12] == other.spki_prefix() {
        return Err(SpkiError::OtherAlgorithm(other));
    }
    if der[..12] != expected.spki_prefix() {
        return Err(SpkiError::BadPrefix);
    }
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&der[12..]);
    Ok(raw)
}

/// The identity.json value for a raw public key: base64 of its SPKI DER.
pub fn spki_base64(alg: KeyAlg, raw: &[u8; 32]) -> String {
    let mut der = alg.spki_prefix().to_vec();
    der.extend_from_slice(raw);
    STANDARD.encode(der)
}

/// How keys are named in every output: the SHA-256 of the raw public key, as ssh prints it.
pub fn fingerprint(raw_public: &[u8; 32]) -> String {
    let digest = Sha256::digest(raw_public);
    let text = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
    format!("SHA256:{text}")
}

/// A private key as far as the doctor needs it: its algorithm and the derived public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyInfo {
    pub alg: KeyAlg,
    pub public: [u8; 32],
    /// The PEM uses CRLF line endings (Node still reads it; the doctor reports it).
    pub crlf: bool,
    /// PKCS#8 v2 (OneAsymmetricKey) with an embedded public key.
    pub v2: bool,
}

/// Why a file is not an unencrypted PKCS#8 PEM of an Ed25519 or X25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemProblem {
    Empty,
    NotPem,
    /// A PEM block of another kind: `ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`, `RSA PRIVATE
    /// KEY`, `PUBLIC KEY`…
    OtherBlock(String),
    /// A BEGIN line without its END line.
    Truncated,
    BadBase64,
    /// The base64 decodes, but not to a PKCS#8 PrivateKeyInfo.
    BadDer,
    /// A PKCS#8 key of an algorithm other than Ed25519 or X25519 (dotted OID).
    UnknownAlgorithm(String),
    /// The inner key is not a 32-byte OCTET STRING.
    BadKeyLength(usize),
}

impl PemProblem {
    pub fn describe(&self) -> String {
        match self {
            PemProblem::Empty => "is empty".to_string(),
            PemProblem::NotPem => "is not a PEM file (no -----BEGIN line)".to_string(),
            PemProblem::OtherBlock(label) => {
                let why = if label.contains("ENCRYPTED") {
                    "an encrypted key, which instar cannot use without a passphrase"
                } else if label.contains("OPENSSH") {
                    "an OpenSSH-format key, not PKCS#8"
                } else if label.contains("RSA")
                    || label.contains("EC ")
                    || label == "EC PRIVATE KEY"
                {
                    "a key of another algorithm in a legacy format, not PKCS#8"
                } else if label.contains("PUBLIC") || label.contains("CERTIFICATE") {
                    "public data, not a private key"
                } else {
                    "not an unencrypted PKCS#8 private key"
                };
                format!("holds a `{label}` block: {why}")
            }
            PemProblem::Truncated => {
                "is truncated: its -----BEGIN PRIVATE KEY----- line has no matching END line"
                    .to_string()
            }
            PemProblem::BadBase64 => {
                "has a body that is not valid base64 (truncated or damaged)".to_string()
            }
            PemProblem::BadDer => {
                "has a body that is not a PKCS#8 PrivateKeyInfo (truncated or damaged)".to_string()
            }
            PemProblem::UnknownAlgorithm(oid) => {
                format!("holds a PKCS#8 key of algorithm {oid}, neither Ed25519 nor X25519")
            }
            PemProblem::BadKeyLength(n) => {
                format!("holds a {n}-byte private key where 32 bytes belong")
            }
        }
    }
}

/// Parses a private-key PEM the way spec §6.3 describes and derives its public key.
pub fn parse_private_pem(bytes: &[u8]) -> Result<PrivateKeyInfo, PemProblem> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(PemProblem::Empty);
    }
    let text = String::from_utf8_lossy(bytes);
    let crlf = text.contains("\r\n");
    let mut lines = text.lines().map(|l| l.trim());
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(PemProblem::NotPem);
        };
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            break rest.trim_end_matches('-').trim().to_string();
        }
    };
    if label != "PRIVATE KEY" {
        return Err(PemProblem::OtherBlock(label));
    }
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line.starts_with("-----END ") {
            ended = true;
            break;
        }
        body.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    if !ended {
        return Err(PemProblem::Truncated);
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| PemProblem::BadBase64)?;
    let info =
        pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).map_err(|_| PemProblem::BadDer)?;
    let oid = info.algorithm.oid;
    let Some(alg) = KeyAlg::from_oid_body(oid.as_bytes()) else {
        return Err(PemProblem::UnknownAlgorithm(oid.to_string()));
    };
    // CurvePrivateKey ::= OCTET STRING, itself inside the PrivateKeyInfo's OCTET STRING.
    let inner = info.private_key.as_bytes();
    let key = match inner {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => return Err(PemProblem::BadDer),
    };
    let Ok(secret): Result<[u8; 32], _> = key.try_into() else {
        return Err(PemProblem::BadKeyLength(key.len()));
    };
    let public = derive_public(alg, secret);
    Ok(PrivateKeyInfo {
        alg,
        public,
        crlf,
        v2: info.public_key.is_some(),
    })
}

fn derive_public(alg: KeyAlg, secret: [u8; 32]) -> [u8; 32] {
    match alg {
        KeyAlg::Ed25519 => ed25519_dalek::SigningKey::from_bytes(&secret)
            .verifying_key()
            .to_bytes(),
        KeyAlg::X25519 => {
            let secret = x25519_dalek::StaticSecret::from(secret);
            x25519_dalek::PublicKey::from(&secret).to_bytes()
        }
    }
}

/// Why a signature could not be checked, or that it does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    Valid,
    Invalid,
    /// The signature is not base64 of 64 bytes.
    Malformed,
    /// The public key is not a valid Ed25519 point.
    BadKey,
}

/// Verifies a base64 Ed25519 signature over `message` (raw, no prehash), as Node's
/// `crypto.verify(null, …)` does.
pub fn verify_ed25519(public: &[u8; 32], message: &[u8], signature_b64: &str) -> SignatureVerdict {
    let Ok(sig) = STANDARD.decode(signature_b64.as_bytes()) else {
        return SignatureVerdict::Malformed;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
        return SignatureVerdict::Malformed;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return SignatureVerdict::BadKey;
    };
    match key.verify_strict(message, &sig) {
        Ok(()) => SignatureVerdict::Valid,
        Err(_) => SignatureVerdict::Invalid,
    }
}

/// A JavaScript number as `JSON.stringify` prints it (integers without a fraction).
pub fn js_number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e21 {
        format!("{}", value as i128)
    } else if value.is_finite() {
        format!("{value}")
    } else {
        "null".to_string()
    }
}

pub use crate::calendar::{iso_millis, iso_seconds};

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §6.5: published throwaway test vectors, not anyone's keys.
    pub const SIGNING_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJzufkNno/3DuEXQUdjVk8fS5j8DuoIRIjGg2S0T+fI3\n-----END PRIVATE KEY-----\n";
    pub const ENCRYPTION_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIDBEW00gyVveQo8f4PI44iPtRFrZ70XJM4b26hzNV2Rt\n-----END PRIVATE KEY-----\n";
    const SIGNING_ID: &str = "MCowBQYDK2VwAyEAGZZDi+T5ZvWOOj267mwbWGnqQCocNxpj0Qb6I/2CrnA=";
    const ENCRYPTION_ID: &str = "MCowBQYDK2VuAyEAl+vGf+WUEusq8I8BO+LTGvwoXpk6NngAKrP7p7IDpGY=";

    #[test]
    fn derives_the_spec_vectors_public_keys() {
        let signing = parse_private_pem(SIGNING_PEM.as_bytes()).unwrap();
        assert_eq!(signing.alg, KeyAlg::Ed25519);
        assert_eq!(spki_base64(KeyAlg::Ed25519, &signing.public), SIGNING_ID);
        let encryption = parse_private_pem(ENCRYPTION_PEM.as_bytes()).unwrap();
        assert_eq!(encryption.alg, KeyAlg::X25519);
        assert_eq!(
            spki_base64(KeyAlg::X25519, &encryption.public),
            ENCRYPTION_ID
        );
        assert_eq!(
            decode_spki(SIGNING_ID, KeyAlg::Ed25519).unwrap(),
            signing.public
        );
    }

    #[test]
    fn the_spec_signature_vectors_verify() {
        let public = decode_spki(SIGNING_ID, KeyAlg::Ed25519).unwrap();
        let sig = "jYO0vbOh0Ug1sh94lox4Utf9aA5C4SjLEnyZs2bHtM4CCL1XKJ8KcyOUY4bCid1HxwJHO1StzbKWU5GdvWLxCw==";
        assert_eq!(
            verify_ed25519(&public, b"instar-doctor", sig),
            SignatureVerdict::Valid
        );
        assert_eq!(
            verify_ed25519(&public, b"instar-doctoR", sig),
            SignatureVerdict::Invalid
        );
        let canonical = r#"["m_3f9a0c2e7b1d4e6fa8c05b9d2e4f6a71",3,"2026-08-20T10:00:00.000Z","2026-08-20T10:05:00.000Z",42]"#;
        let lease = "cdChCa34/NBEGSq1uxY5FSQoQd1xZXvgEeX4Qsow0cm4WnrKuWArk82iDR7gTZFR7i98nm6v1g1Xp5GpRxYTDA==";
        assert_eq!(
            verify_ed25519(&public, canonical.as_bytes(), lease),
            SignatureVerdict::Valid
        );
        let tombstone = r#"["m_3f9a0c2e7b1d4e6fa8c05b9d2e4f6a71",3,"2026-08-20T10:00:00.000Z","2026-08-20T10:05:00.000Z",42,true]"#;
        let tomb_sig = "J93YFOuPZE1RjcCDNRykV27W7yWltsiYrWC7DDj0s/9pzCKBRTwgrZ2415IBa2N/TdAx/rxLEvj4ssXRfOagDw==";
        assert_eq!(
            verify_ed25519(&public, tombstone.as_bytes(), tomb_sig),
            SignatureVerdict::Valid
        );
        assert_eq!(
            verify_ed25519(&public, canonical.as_bytes(), "nope"),
            SignatureVerdict::Malformed
        );
    }

    #[test]
    fn swapped_and_damaged_values_are_classified() {
        assert_eq!(
            decode_spki(ENCRYPTION_ID, KeyAlg::Ed25519),
            Err(SpkiError::OtherAlgorithm(KeyAlg::X25519))
        );
        assert_eq!(
            decode_spki("MCowBQ", KeyAlg::Ed25519),
            Err(SpkiError::NotBase64)
        );
        assert_eq!(
            decode_spki("MCowBQ==", KeyAlg::Ed25519),
            Err(SpkiError::WrongLength(4))
        );
    }

    #[test]
    fn pem_problems_are_classified() {
        let truncated = &SIGNING_PEM[..40];
        assert_eq!(
            parse_private_pem(truncated.as_bytes()),
            Err(PemProblem::Truncated)
        );
        let short_body = SIGNING_PEM.replace("fI3\n", "\n");
        assert!(matches!(
            parse_private_pem(short_body.as_bytes()),
            Err(PemProblem::BadBase64 | PemProblem::BadDer)
        ));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            parse_private_pem(encrypted.as_bytes()),
            Err(PemProblem::OtherBlock(l)) if l == "ENCRYPTED PRIVATE KEY"
        ));
        assert_eq!(parse_private_pem(b""), Err(PemProblem::Empty));
        assert_eq!(parse_private_pem(b"hello"), Err(PemProblem::NotPem));
        let crlf = SIGNING_PEM.replace('\n', "\r\n");
        let parsed = parse_private_pem(crlf.as_bytes()).unwrap();
        assert!(parsed.crlf);
    }

    #[test]
    fn problem_descriptions_never_quote_key_material() {
        for problem in [
            PemProblem::Empty,
            PemProblem::NotPem,
            PemProblem::OtherBlock("RSA PRIVATE KEY".into()),
            PemProblem::Truncated,
            PemProblem::BadBase64,
            PemProblem::BadDer,
            PemProblem::UnknownAlgorithm("1.2.840.113549.1.1.1".into()),
            PemProblem::BadKeyLength(31),
        ] {
            assert!(!problem.describe().contains("MC4CAQ"));
        }
    }

    #[test]
    fn machine_ids_and_timestamps() {
        assert!(is_machine_id("m_3f9a0c2e7b1d4e6fa8c05b9d2e4f6a71"));
        assert!(!is_machine_id("m_3F9A0C2E7B1D4E6FA8C05B9D2E4F6A71"));
        assert!(!is_machine_id("m_studio"));
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            crate::cron::parse_rfc3339(&iso_millis(1_795_000_000)),
            Some(1_795_000_000)
        );
        assert_eq!(js_number(3.0), "3");
    }
}
