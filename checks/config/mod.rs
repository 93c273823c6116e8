//! The config check: `.instar/config.json` with the exact verdicts of instar's `loadConfig` at the
//! version in use, our JSON Schema of the keys it reads, and the hazards it misses (spec §7).

pub mod codes;
mod file;
mod hazards;
mod members;
mod paths;
mod schema;
mod secrets;

use std::path::PathBuf;

use crate::diag::{Code, Sink};
use crate::engine::Context;
use crate::json::Kind;
use crate::source::FileState;

use super::Check;

pub struct ConfigCheck;

impl Check for ConfigCheck {
    fn id(&self) -> &'static str {
        "config"
    }
    fn about(&self) -> &'static str {
        "config.json"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let path = config_path(cx);
        let state = cx.file(&path);
        let mut parses = false;
        match &*state {
            FileState::Present(loaded) => {
                let doc = cx.json(&path).expect("a present file has a document");
                match &doc.parsed {
                    Err(err) => sink.push(file::parse_error(cx, &path, &loaded.bytes, err)),
                    Ok(outcome) => {
                        parses = !outcome.bom;
                        if outcome.bom {
                            sink.push(file::bom(cx, &path));
                        }
                        let tape = doc.tape().expect("the document parses");
                        let root = tape.root();
                        file::duplicates_and_utf8(&path, tape, sink);
                        if root.kind() == Kind::Object {
                            let cfg = Config {
                                cx,
                                path: &path,
                                root,
                                mode: loaded.mode,
                                uid: loaded.uid,
                            };
                            // Type checks never stop the boot, and compiling the schema is
                            // most of a preflight's own time.
                            if !cx.fatal_only {
                                schema::check(&cfg, sink);
                            }
                            schema::port(&cfg, sink);
                            secrets::check(&cfg, sink);
                            paths::check(&cfg, sink);
                            hazards::check(&cfg, sink);
                        } else {
                            sink.push(file::root_not_object(cx, &path, root));
                        }
                    }
                }
            }
            FileState::Missing | FileState::Dangling { .. } | FileState::SymlinkLoop => {
                sink.push(file::missing(cx, &path, &state))
            }
            other => sink.push(file::unreadable(cx, &path, other)),
        }
        file::stray_temp_files(cx, &path, parses, sink);
        file::backup_newer(cx, &path, sink);
    }
}

/// `.instar/config.json`: loadConfig derives it from the project folder alone.
pub fn config_path(cx: &Context) -> PathBuf {
    cx.state_path("config.json")
}

/// A config.json that parses to an object: what every rule below looks at.
pub struct Config<'a> {
    pub cx: &'a Context,
    pub path: &'a PathBuf,
    pub root: crate::json::Value<'a>,
    pub mode: u32,
    pub uid: u32,
}
