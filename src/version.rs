//! instar versions, and the version boundaries where the runtime's rules changed (spec §0).
//!
//! Every version-dependent rule asks one of the named boundaries below, so each rule's switch
//! point lives in exactly one place.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version of the form X.Y.Z")]
pub struct BadVersion(pub String);

impl FromStr for Version {
    type Err = BadVersion;

    /// `X.Y.Z`, with an optional leading `v`; a pre-release or build suffix (`-beta.1`, `+sha`)
    /// is ignored, as npm orders `1.2.3-x` just below `1.2.3` and no rule switches inside one.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadVersion(text.to_string());
        let trimmed = text.trim();
        let core = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let core = core.split(['-', '+']).next().ok_or_else(bad)?;
        let mut parts = core.split('.');
        let mut next = || -> Result<u32, BadVersion> {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let version = Version::new(next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(version)
    }
}

/// The oldest version whose rules the doctor knows (the spec's first target).
pub const OLDEST_KNOWN: Version = Version::new(0, 28, 44);
/// The newest version whose rules the doctor knows (the spec's HEAD).
pub const NEWEST_KNOWN: Version = Version::new(1, 3, 1186);

/// Named switch points (spec §0). A rule compares the version in use against one of these.
pub mod boundary {
    use super::Version;

    /// JobLoader skips an invalid entry instead of throwing (fc0798295).
    pub const JOBS_SKIP_INVALID_ENTRIES: Version = Version::new(0, 28, 65);
    /// Per-slug job manifests `jobs/schedule/*.json` are loaded (b01157526).
    pub const JOB_MANIFESTS: Version = Version::new(0, 28, 98);
    /// `scheduler.enabled` defaults to true instead of false (2c4ab0b43).
    pub const SCHEDULER_ENABLED_BY_DEFAULT: Version = Version::new(1, 2, 53);
    /// HEAD exempts 26 more built-in slugs from the grounding audit. The spec gives no boundary,
    /// and design.md §2 counts such a rule as HEAD-only.
    pub const GROUNDING_EXEMPT_EXTENDED: Version = super::NEWEST_KNOWN;
    /// The registry carries a fenced, Ed25519-signed `lease` (e5c32d696).
    pub const REGISTRY_LEASE: Version = Version::new(1, 3, 19);
    /// Registry entries carry an auto-assigned, validated `nickname` (9f2be9c55).
    pub const REGISTRY_NICKNAMES: Version = Version::new(1, 3, 92);
    /// `loadSigningKey` falls back to `signing-private.pem` (2b437c933).
    pub const SIGNING_KEY_LEGACY_FALLBACK: Version = Version::new(1, 3, 151);
    /// `loadEncryptionKey` falls back to `encryption-private.pem` (b35c84e2a).
    pub const ENCRYPTION_KEY_LEGACY_FALLBACK: Version = Version::new(1, 3, 152);
    /// A `null` entry for another machine crashes self-registration (it reads every entry's
    /// nickname). The spec probed it at 1.3.1186 only and gives no boundary: HEAD-only.
    pub const NULL_ENTRY_CRASHES_SELF_REGISTRATION: Version = super::NEWEST_KNOWN;
    /// PostUpdateMigrator moves legacy top-level `maxSessions` into `sessions` (8246198eb).
    pub const MAX_SESSIONS_MIGRATED: Version = Version::new(1, 2, 53);
    /// The migrator repoints the legacy feedback webhook URL (c30d2c6ae).
    pub const FEEDBACK_URL_REPOINTED: Version = Version::new(1, 3, 561);
    /// `mentor.dailySpendCapUsd` is retired by the migrator. The spec gives no boundary: HEAD-only.
    pub const MENTOR_SPEND_CAP_RETIRED: Version = super::NEWEST_KNOWN;
    /// Boot fails fast on unresolved `{secret:true}` placeholders in boot-critical fields (02c38add1).
    pub const SECRET_PLACEHOLDERS_FAIL_FAST: Version = Version::new(1, 3, 281);
    /// The framework prerequisite check honours `sessions.frameworkBinaryPaths`. The spec gives
    /// no boundary: HEAD-only.
    pub const FRAMEWORK_PREREQUISITE: Version = super::NEWEST_KNOWN;
    /// The boot wrapper is always `.cjs` and the other extension is never deleted (f11caf548).
    pub const BOOT_WRAPPER_ALWAYS_CJS: Version = Version::new(1, 1, 2);
    /// The wrapper reinstalls a missing shadow install itself, debounced (d73bcc119).
    pub const BOOT_WRAPPER_SELF_REINSTALL: Version = Version::new(0, 28, 113);
    /// Marker 1: the wrapper's node heal is aware of ABI drift (415aae993).
    pub const BOOT_MARKER_ABI_DRIFT: Version = Version::new(1, 2, 52);
    /// Marker 2: version-managed (asdf/nvm) node candidates (09ed13e60).
    pub const BOOT_MARKER_NODE_CANDIDATES: Version = Version::new(1, 3, 149);
    /// Marker 3: the reinstall puts node on PATH (f0c2d16e4).
    pub const BOOT_MARKER_PREPEND_NODE_PATH: Version = Version::new(1, 3, 198);
}

/// Where the version whose rules are applied came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    Flag,
    ShadowInstall,
    Default,
}

impl VersionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Flag => "flag",
            VersionSource::ShadowInstall => "shadow-install",
            VersionSource::Default => "default",
        }
    }
}

/// The rules to apply for a detected version: clamped into the known range.
pub fn rules_for(detected: Version) -> Version {
    detected.clamp(OLDEST_KNOWN, NEWEST_KNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_prefixed_and_suffixed_versions() {
        assert_eq!("0.28.44".parse(), Ok(Version::new(0, 28, 44)));
        assert_eq!("v1.3.1186".parse(), Ok(Version::new(1, 3, 1186)));
        assert_eq!("1.2.53-beta.1".parse(), Ok(Version::new(1, 2, 53)));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in ["", "1.2", "1.2.3.4", "a.b.c", "1..3", "1.2.x", "-1.2.3"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_order_numerically_not_lexically() {
        assert!(Version::new(0, 28, 65) > Version::new(0, 28, 9));
        assert!(Version::new(1, 3, 1186) > Version::new(1, 3, 999));
    }

    #[test]
    fn rules_clamp_into_known_range() {
        assert_eq!(rules_for(Version::new(0, 1, 0)), OLDEST_KNOWN);
        assert_eq!(rules_for(Version::new(9, 0, 0)), NEWEST_KNOWN);
        assert_eq!(rules_for(Version::new(1, 0, 0)), Version::new(1, 0, 0));
    }
}
