//! Every code of the identity check (`.instar/machine/identity.json`), with its documentation.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING_ON_MESH, "identity/missing-on-mesh", Error, Some(Unsafe),
"no identity.json, but this machine has keys or a registry: multi-machine is silently off",
"What it checks: .instar/machine/identity.json is absent while private keys exist under either \
name, or the registry lists machines.
Why it matters: instar's hasIdentity() is only \"identity.json exists\". Without it \
MultiMachineCoordinator silently runs as a single machine that is always awake, next to the real \
awake machine: split brain. (The Stage 1 document says it throws; the code does not.)
What instar does (every version): no error, no warning.
Fix: when a remote copy .instar/machines/<id>/identity.json has exactly the public keys derived \
from the PEMs, copy it back (unsafe). Otherwise machineId, name and createdAt cannot be known: \
restore the file from git history or a backup (manual).");

code!(UNREADABLE, "identity/unreadable", Error, Some(Safe),
"identity.json exists but cannot be read",
"What it checks: identity.json is a readable regular file (not a directory, FIFO, socket, \
unreadable file, or a symlink to nothing).
Why it matters: existsSync says yes, then loadIdentity's readFileSync throws: server start aborts.
What instar does (every version): fatal at server start.
Fix: missing read permission → chmod 644 (safe: identity.json is public data). Anything else is manual.");

code!(PARSE_ERROR, "identity/parse-error", Error, Some(Unsafe),
"identity.json is not valid JSON, or its root is null",
"What it checks: identity.json with JSON.parse's exact rules; a null root.
Why it matters: loadIdentity is JSON.parse with no validation and no try/catch.
What instar does (every version): a raw SyntaxError (TypeError for null) aborts server start.
Fix: a BOM alone is stripped (safe). Otherwise, when a remote copy in .instar/machines/*/ has \
exactly the public keys derived from the PEMs, copy it back (unsafe); else restore from git (manual).");

code!(
    NO_MACHINE_ID,
    "identity/no-machine-id",
    Error,
    Some(Unsafe),
    "identity.json has no machineId string: this machine registers as \"undefined\"",
    "What it checks: the root is an object with a string machineId. {}, [], a string or a number \
load.
Why it matters: ensureSelfRegistered then writes a registry entry under the key \"undefined\" \
(probed at both versions): the real machine is never registered, signatures cannot be checked.
What instar does (every version): loads it silently.
Fix: copy back a remote identity copy whose keys match the PEMs (unsafe), else restore from git \
(manual). The registry's \"undefined\" entry is reported by registry/undefined-entry."
);

code!(
    INVALID_MACHINE_ID,
    "identity/invalid-machine-id",
    Warning,
    Some(Manual),
    "machineId is not m_ followed by 32 lowercase hex digits",
    "What it checks: machineId against ^m_[0-9a-f]{32}$.
Why it matters: instar generates ids only of that form; another value was hand-written or comes \
from an example (the multi-machine spec's examples use non-hex letters).
What instar does: uses it verbatim as the registry key.
Fix: manual. The machineId is the identity: changing it means re-pairing as a new machine and \
revoking the old entry."
);

code!(
    INVALID_PUBLIC_KEY,
    "identity/invalid-public-key",
    Error,
    Some(Unsafe),
    "a public key in identity.json is missing or not a 44-byte SPKI of the right algorithm",
    "What it checks: signingPublicKey and encryptionPublicKey are base64 (standard, padded) of a \
44-byte SPKI DER with the Ed25519 (MCowBQYDK2VwAyEA…) and X25519 (MCowBQYDK2VuAyEA…) prefix.
Why it matters: instar turns the value back into a PEM only when it verifies a signature (peer \
routes, git allowed-signers, the HEAD lease); a bad value fails there, silently.
What instar does: loads it.
Fix (unsafe): re-derive the value from the private key when its PEM is present and valid. A value \
that is well-formed but differs from the PEM's key is keys/public-key-mismatch."
);

code!(
    INVALID_FIELD,
    "identity/invalid-field",
    Warning,
    None,
    "an identity field is missing or has the wrong type or format",
    "What it checks: name, platform and createdAt are strings (createdAt an ISO timestamp), \
capabilities is an array of strings. Unknown capability values are \
tolerated, as instar tolerates them.
Why it matters: the registry entry copies the name; jobs address machines by name; pairing sends \
the whole file to peers.
What instar does: loads it without validation.
Fix: none automatic (report): correct the field by hand."
);

code!(
    UNSANITIZED_NAME,
    "identity/unsanitized-name",
    Info,
    None,
    "the machine name is a raw hostname",
    "What it checks: name against ^[a-z0-9-]+$, the form instar's init writes; `instar join` at \
0.28.44 wrote the raw hostname (capitals, dots).
Why it matters: cosmetic only.
What instar does: uses it as is.
Fix: none: the registry and jobs' machines lists may refer to the machine by this name."
);

json_hygiene_codes!("identity", "loadIdentity");

pub static ALL: &[&Code] = &[
    &MISSING_ON_MESH,
    &UNREADABLE,
    &PARSE_ERROR,
    &DUPLICATE_KEY,
    &INVALID_UTF8,
    &NO_MACHINE_ID,
    &INVALID_MACHINE_ID,
    &INVALID_PUBLIC_KEY,
    &INVALID_FIELD,
    &UNSANITIZED_NAME,
];
