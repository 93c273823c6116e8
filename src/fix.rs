//! Fixes: what a finding proposes to change, as concrete changes.
//!
//! Ruff's model: a fix has a title, an applicability and a list of changes. Nothing here touches
//! the disk; `planned_contents` computes what a file would look like after the edits, which the
//! diff renderer and (later) the writer both use, so a preview is exactly what would be written.

use std::path::PathBuf;

use crate::diag::Span;

/// How far a fix may be trusted to run unattended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Applicability {
    /// Cannot lose data or change meaning; `--fix` applies it.
    Safe,
    /// May drop or change data; needs `--unsafe-fixes` or a yes at the prompt.
    Unsafe,
    /// Instructions only; nothing can execute it.
    Manual,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::Manual => "manual",
        }
    }
}

/// One concrete change on disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// Replace the bytes `span` of `file` with `replacement`.
    Edit {
        file: PathBuf,
        span: Span,
        replacement: String,
    },
    /// Write (create or replace) a whole file.
    Write { file: PathBuf, contents: Vec<u8> },
    /// Change a file's permission bits.
    SetMode { file: PathBuf, mode: u32 },
    /// Move a file into the run's quarantine folder (our "delete").
    Quarantine { file: PathBuf },
    /// Save data (e.g. invalid jobs entries) into a named file in the run's quarantine folder.
    QuarantineData { name: String, contents: Vec<u8> },
    /// Rename a file within the project (promote a temp file, swap two key files back). The
    /// bytes move unchanged: this is how a fix relocates a PEM without rewriting it.
    Rename { from: PathBuf, to: PathBuf },
}

impl Change {
    /// The project file this change modifies, if any.
    pub fn file(&self) -> Option<&PathBuf> {
        match self {
            Change::Edit { file, .. }
            | Change::Write { file, .. }
            | Change::SetMode { file, .. }
            | Change::Quarantine { file }
            | Change::Rename { from: file, .. } => Some(file),
            Change::QuarantineData { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fix {
    pub applicability: Applicability,
    pub title: String,
    pub changes: Vec<Change>,
}

impl Fix {
    pub fn safe(title: impl Into<String>, changes: Vec<Change>) -> Self {
        Fix {
            applicability: Applicability::Safe,
            title: title.into(),
            changes,
        }
    }

    pub fn unsafe_(title: impl Into<String>, changes: Vec<Change>) -> Self {
        Fix {
            applicability: Applicability::Unsafe,
            title: title.into(),
            changes,
        }
    }

    /// Instructions only: no change can be executed.
    pub fn manual(title: impl Into<String>) -> Self {
        Fix {
            applicability: Applicability::Manual,
            title: title.into(),
            changes: Vec::new(),
        }
    }
}

/// Error from applying edits that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("edits overlap at bytes {0}..{1}")]
    Overlap(usize, usize),
    #[error("an edit reaches past the end of the file ({0} > {1})")]
    OutOfBounds(usize, usize),
}

/// The contents `original` would have after applying `edits` (spans into `original`).
/// Edits are applied in span order; overlapping edits are refused rather than guessed at.
pub fn apply_edits(original: &[u8], edits: &[(Span, &str)]) -> Result<Vec<u8>, PlanError> {
    let mut sorted: Vec<&(Span, &str)> = edits.iter().collect();
    sorted.sort_by_key(|(span, _)| (span.start, span.end));
    let mut out = Vec::with_capacity(original.len());
    let mut cursor = 0;
    for (span, replacement) in sorted {
        if span.end > original.len() || span.start > span.end {
            return Err(PlanError::OutOfBounds(span.end, original.len()));
        }
        if span.start < cursor {
            return Err(PlanError::Overlap(span.start, cursor));
        }
        out.extend_from_slice(&original[cursor..span.start]);
        out.extend_from_slice(replacement.as_bytes());
        cursor = span.end;
    }
    out.extend_from_slice(&original[cursor..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_regardless_of_input_order() {
        let out = apply_edits(b"abcdef", &[(4..5, "E"), (0..1, "")]).unwrap();
        assert_eq!(out, b"bcdEf");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        assert_eq!(
            apply_edits(b"abcdef", &[(0..3, "x"), (2..4, "y")]),
            Err(PlanError::Overlap(2, 3))
        );
    }

    #[test]
    fn out_of_bounds_edit_is_refused() {
        assert!(apply_edits(b"ab", &[(1..5, "x")]).is_err());
    }
}
