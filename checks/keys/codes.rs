//! Every code of the keys check (`signing-key.pem`, `encryption-key.pem` and their legacy
//! `*-private.pem` names), with its documentation. No finding ever shows key bytes: keys are named
//! by the SHA-256 fingerprint of their public key.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING, "keys/missing", Error, Some(Manual),
"identity.json exists but a private key is missing under both names",
"What it checks: for each of the signing (Ed25519) and encryption (X25519) keys, that \
.instar/machine/<signing|encryption>-key.pem or the legacy <signing|encryption>-private.pem \
exists when identity.json does. Either name alone is healthy.
Why it matters: the machine cannot sign (wakeup handoffs, machine routes, git signing, the lease) \
or decrypt what peers send it.
What instar does: 0.28.44 reads the canonical name in some places and the legacy one in others \
(raw ENOENT, or signing silently empty); from 1.3.151/1.3.152 every reader falls back to the legacy name.
Fix: manual. A private key cannot be recovered locally: restore it from your backup, or re-key \
(a new identity, re-pair, revoke the old entry). The doctor never generates keys.");

code!(
    UNREADABLE,
    "keys/unreadable",
    Error,
    Some(Manual),
    "a private-key path is not a readable file",
    "What it checks: a key path that is a directory, FIFO, socket, device, dangling or looping \
symlink, or unreadable.
Why it matters: instar's key loaders throw, or find no key.
What instar does: fails wherever the key is used.
Fix: manual: put the real key file back (from your backup)."
);

code!(
    INVALID_PEM,
    "keys/invalid-pem",
    Error,
    Some(Manual),
    "a private-key file is not an unencrypted PKCS#8 PEM",
    "What it checks: the file holds one -----BEGIN PRIVATE KEY----- block whose base64 body is a \
PKCS#8 v1 (or v2) PrivateKeyInfo of an Ed25519 or X25519 key with a 32-byte key. Encrypted, OpenSSH, RSA and EC blocks, public keys, truncated or damaged bodies \
are rejected.
Why it matters: Node's crypto cannot load it: signing or decryption fails.
What instar does: throws where the key is used.
Fix: manual only. The doctor never rewrites a PEM: at HEAD the raw PEM text of the signing key \
keys an HMAC, so even reformatting changes behaviour. Restore the key from your backup, or re-key."
);

code!(
    CRLF,
    "keys/crlf",
    Info,
    None,
    "a private-key PEM has CRLF line endings",
    "What it checks: \\r\\n line endings in a key PEM.
Why it matters: Node still parses it, so the key works; but HEAD derives an HMAC key from the raw \
PEM text, so a CRLF copy and an LF copy of the same key are different secrets there.
What instar does: loads the key.
Fix: none: never rewrite a PEM's bytes (report)."
);

code!(
    WRONG_ALGORITHM,
    "keys/wrong-algorithm",
    Error,
    Some(Manual),
    "a key file holds a key of the other algorithm",
    "What it checks: signing-key.pem / signing-private.pem hold Ed25519, encryption-key.pem / \
encryption-private.pem hold X25519.
Why it matters: signing or decryption fails with the wrong key type.
What instar does: throws where the key is used.
Fix: manual, unless the two files are simply swapped (keys/swapped)."
);

code!(
    SWAPPED,
    "keys/swapped",
    Error,
    Some(Unsafe),
    "the signing and encryption key files are swapped",
    "What it checks: the signing file holds the X25519 key and the encryption file the Ed25519 key.
Why it matters: both signing and decryption fail.
What instar does: throws where the keys are used.
Fix (unsafe): swap the two files back by renaming (their bytes are not touched). Offered only when \
both then match identity.json; otherwise manual."
);

code!(
    PUBLIC_KEY_MISMATCH,
    "keys/public-key-mismatch",
    Error,
    Some(Manual),
    "a private key does not match identity.json's public key",
    "What it checks: the public key derived from each PEM (RFC 8032 for Ed25519, X25519 scalar \
multiplication) equals identity.json's signingPublicKey / encryptionPublicKey. This is instar's own test: a signature made with signing-key.pem \
must verify with identity.signingPublicKey.
Why it matters: everything this machine signs is rejected by its peers (and by the lease check); \
what peers encrypt to it cannot be decrypted.
What instar does: nothing checks it; the failures are silent and remote.
Fix: manual. Restore the private key that matches from your backup, or re-key \
(generateIdentity({force:true}): a new machineId, re-pair, revoke the old entry). The doctor never \
generates keys and never rewrites a PEM."
);

code!(
    NAMES_DIFFER,
    "keys/names-differ",
    Warning,
    Some(Manual),
    "the canonical and the legacy key file hold different keys",
    "What it checks: when both <kind>-key.pem and <kind>-private.pem exist, they hold the same key.
Why it matters: 0.28.44 reads the canonical name in some places and the legacy one in others, so \
one feature signs with one key and another with the other.
What instar does: at HEAD the canonical name wins everywhere.
Fix: manual. The finding says which file matches identity.json; move the other aside yourself \
once you are sure. Renaming is not safe at 0.28.44 (different readers use different names)."
);

code!(
    PERMISSIONS,
    "keys/permissions",
    Error,
    Some(Safe),
    "a private key is readable by other users",
    "What it checks: the key file's mode has no group or other bits (0600 expected). World-readable is an error; group-readable a warning. instar's own doctor checks \
only signing-key.pem; this checks every name.
Why it matters: anyone who can read the key can impersonate the machine.
What instar does: writes keys 0600 and never chmods them later.
Fix (safe: tightening only): chmod 600, when the file belongs to the agent user (the owner of \
.instar/); otherwise manual."
);

code!(
    OWNER,
    "keys/owner",
    Error,
    Some(Manual),
    "a private key is owned by another user",
    "What it checks: the key file's owner is the agent user, the owner of .instar/.
Why it matters: a 0600 key owned by root (after `sudo instar …`) cannot be read by the agent.
What instar does: its key loaders fail with EACCES.
Fix: manual (it needs privileges): sudo chown -R $(whoami) .instar/machine/"
);

code!(STRAY_TEMP_FILE, "keys/stray-temp-file", Info, Some(Safe),
"a temp file of an interrupted key write (private-key material)",
"What it checks: signing-key.pem.tmp.<pid> and encryption-key.pem.tmp.<pid> whose writer is not \
running.
Why it matters: it holds private-key material outside the names .gitignore covers.
What instar does: ignores it.
Fix: when the main file exists and matches identity.json, move the temp file to the doctor's \
quarantine (safe; quarantine is 0600 and ignored by git). When the main file is missing and the \
temp file matches identity.json, promote it by rename (unsafe). Otherwise manual.");

code!(GITIGNORE, "keys/gitignore", Warning, Some(Safe),
".gitignore does not cover the private keys",
"What it checks: the project's .gitignore mentions signing-key.pem (or signing-private.pem) and \
encryption-key.pem (or encryption-private.pem), or ignores them by a broader pattern (*.pem, \
.instar/machine/, .instar/).
Why it matters: identity.json and registry.json are committed and synced; a `git add .` would \
commit the private keys too.
What instar does: ensureGitignore adds the lines at identity generation; a replaced .gitignore \
loses them.
Fix (safe): append instar's block: a \"# Machine secrets (NEVER commit)\" header, the two PEM \
paths, .instar/secrets/ and .instar/pairing/. This is the only fix that edits your .gitignore.");

code!(
    TRACKED_BY_GIT,
    "keys/tracked-by-git",
    Error,
    Some(Manual),
    "a private key is tracked by git",
    "What it checks: .git/index (read directly; git is never spawned) lists a key file.
Why it matters: the key is in the repository's history and every clone: treat it as leaked.
What instar does: nothing.
Fix: manual: git rm --cached the file, then rotate the key (re-key, re-pair, revoke the old \
entry), and consider rewriting history."
);

code!(LEGACY_NAME_ONLY, "keys/legacy-name-only", Error, Some(Manual),
"a private key exists only under its legacy name, which this instar does not read",
"What it checks: signing-private.pem without signing-key.pem from v1.3.19 (the lease signs with \
loadSigningKey) until v1.3.151, and encryption-private.pem without encryption-key.pem from v1.3.44 \
until v1.3.152, the tags where each loader gained its legacy fallback.
Why it matters: `instar join` wrote the legacy names; on these versions the loader throws ENOENT, \
so the machine cannot sign (or decrypt) although the key is on disk.
What instar does: server start catches the error and boots without the feature; not boot-fatal.
Fix (manual): copy the key to its canonical name with mode 0600, or update instar.");

pub static ALL: &[&Code] = &[
    &MISSING,
    &UNREADABLE,
    &INVALID_PEM,
    &CRLF,
    &WRONG_ALGORITHM,
    &SWAPPED,
    &PUBLIC_KEY_MISMATCH,
    &NAMES_DIFFER,
    &LEGACY_NAME_ONLY,
    &PERMISSIONS,
    &OWNER,
    &STRAY_TEMP_FILE,
    &GITIGNORE,
    &TRACKED_BY_GIT,
];
