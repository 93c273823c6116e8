//! Turning a `Report` into text. Every format reads the same report; none of them decides
//! anything about the agent.

pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod snippet;

/// Source bytes and their secret spans: kept in `redact`, re-exported for the renderers.
pub use crate::redact::sources::{RedactedSource, Sources};
