//! instar-doctor: diagnoses (and, on request, repairs) the on-disk state of instar agents.
//!
//! The layout follows design.md §5: `engine` runs the check table of `checks/`, checks push
//! `diag::Diagnostic`s with `fix::Fix`es into a sink, and `render` turns the report into text.

pub mod app;
pub mod calendar;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod cron;
pub mod decimal;
pub mod diag;
pub mod digest;
pub mod engine;
pub mod exit;
pub mod failpoint;
pub mod fix;
pub mod git_index;
pub mod hook;
pub mod host;
pub mod instar_runtime;
pub mod json;
pub mod json_edit;
pub mod line_index;
pub mod lossy;
pub mod machine;
pub mod machine_run;
pub mod output_file;
pub mod packed_spans;
pub mod paths;
pub mod preflight;
pub mod progress;
pub mod prompt;
pub mod redact;
pub mod render;
pub mod repair;
pub mod runs;
pub mod safe_read;
pub mod scan;
pub mod selection;
pub mod source;
pub mod suggest;
pub mod terminal;
pub mod thin;
pub mod usage;
pub mod version;
pub mod write;

#[path = "../checks/mod.rs"]
pub mod checks;
