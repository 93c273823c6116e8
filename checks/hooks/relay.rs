//! Relay scripts left on an old template (hazard #15): instar never overwrites a customised
//! relay script; it writes the new template beside it as `<script>.new` and moves on.

use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};

use super::codes::*;
use super::files::small_file;

const SCRIPTS: &[&str] = &["telegram-reply.sh", "slack-reply.sh", "whatsapp-reply.sh"];

/// The SHA-256 of the telegram-reply.sh instar shipped before the relay read its port from
/// config (4040 by default, no agent-id header); instar's migrator knows it as a verbatim
/// prior copy.
const PRE_PORT_CONFIG_SHA: &str =
    "3d08c63c6280d0a7ba94a345c259673a461ee5c1d116cb47c95c7626c67cee23";

pub fn check(cx: &Context, sink: &mut Sink) {
    for dir in [
        cx.project_dir.join(".claude/scripts"),
        cx.state_path("scripts"),
    ] {
        for name in SCRIPTS {
            let live = dir.join(name);
            if !cx.is_file(&live) {
                continue;
            }
            let candidate = dir.join(format!("{name}.new"));
            if cx.is_file(&candidate) {
                sink.push(
                    Diagnostic::new(
                        &RELAY_STRANDED,
                        Effect::Silent,
                        format!(
                            "{} is customised, so instar left its new template beside it as {name}.new: the live script still runs the old template",
                            cx.display_path(&live)
                        ),
                    )
                    .file(&live)
                    .help("compare the two files; merge your customisations into the new template after the swap")
                    .fix(Some(Fix::unsafe_(
                        format!("move {name} to quarantine and put {name}.new in its place"),
                        vec![
                            Change::Quarantine { file: live.clone() },
                            Change::Rename {
                                from: candidate.clone(),
                                to: live.clone(),
                            },
                        ],
                    ))),
                );
                continue;
            }
            if *name != "telegram-reply.sh" {
                continue;
            }
            let Some(bytes) = small_file(cx, &live) else {
                continue;
            };
            let digest = hex(&Sha256::digest(&bytes[..]));
            if digest == PRE_PORT_CONFIG_SHA {
                sink.push(
                    Diagnostic::new(
                        &RELAY_STRANDED,
                        Effect::Silent,
                        format!(
                            "{} is instar's old relay template: it posts to port 4040 unless INSTAR_PORT is set, and sends no agent id",
                            cx.display_path(&live)
                        ),
                    )
                    .file(&live)
                    .help("on a machine with several agents, port 4040 may be another agent's server")
                    .fix(Some(Fix::manual(
                        "run `instar migrate` (or update instar): it replaces a verbatim old copy with the current template",
                    ))),
                );
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
