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

/// One instar rule the doctor applies from a given version on: the single table of switch points
/// (spec §0 and §3.9). `list`-style output and the `rules_table_snapshot` test read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The constant's name in [`boundary`].
    pub name: &'static str,
    /// The first instar version that behaves this way.
    pub first: Version,
    /// Where the boundary comes from: the commit (first tag found with `git tag --contains`),
    /// "probed" when instar's own loaders were run on both sides, or why it is HEAD-only.
    pub source: &'static str,
    /// What changes at that version, in the doctor's words.
    pub what: &'static str,
}

/// Declares every boundary once: each line makes a `boundary::NAME` constant and a row of
/// [`RULES`], so a rule's version cannot drift between the code that applies it and the table.
macro_rules! rules {
    ($($name:ident = ($maj:literal, $min:literal, $patch:literal), $source:literal, $what:literal;)*) => {
        /// Named switch points. A rule compares the version in use against one of these; none is
        /// written anywhere else.
        pub mod boundary {
            use super::Version;
            $(
                #[doc = $what]
                pub const $name: Version = Version::new($maj, $min, $patch);
            )*
        }
        /// Every rule, oldest first (the order of the macro call, checked by a test).
        pub static RULES: &[Rule] = &[$(Rule {
            name: stringify!($name),
            first: boundary::$name,
            source: $source,
            what: $what,
        }),*];
    };
}

rules! {
    JOBS_SKIP_INVALID_ENTRIES = (0, 28, 64), "9c9d55610, probed (fatal at v0.28.63)",
        "JobLoader skips an invalid jobs.json entry instead of throwing";
    PROJECT_PATH_DECODED = (0, 28, 79), "f7d163bbd, 7969889a1",
        "instar decodes its own module path, so a project path with a space, % or # works";
    SEMANTIC_DB_QUARANTINE = (0, 28, 79), "28e54f82e",
        "a corrupt semantic.db is quarantined beside itself with a marker; over a 50 MB JSONL the rebuild is skipped and the DB starts empty";
    JOB_MANIFESTS = (0, 28, 98), "b01157526, probed",
        "per-slug job manifests jobs/schedule/*.json and agentmd bodies are loaded";
    MANIFEST_VERSION_VALIDATED = (0, 28, 100), "8cbb04be2, probed (a fractional value loads at v0.28.98)",
        "a manifest's manifestVersion must be an integer >= 0";
    BOOT_WRAPPER_SELF_REINSTALL = (0, 28, 113), "d73bcc119",
        "the boot wrapper reinstalls a missing shadow install itself, debounced";
    FRAMEWORK_PREREQUISITE = (0, 28, 114), "748b60c5b",
        "loadConfig requires the binary of the framework sessions.framework or INSTAR_FRAMEWORK names (claude-code or codex-cli), not always claude's";
    BOOT_WRAPPER_ALWAYS_CJS = (1, 1, 2), "f11caf548",
        "the boot wrapper is always .cjs and the other extension is never deleted";
    LISTENER_SOCKET_BIND_LOOP = (1, 2, 4), "b98772568:upgrades/1.2.7.md (v1.2.4-v1.2.6 cold-start loop)",
        "a leftover listener.sock stops the server from starting (EADDRINUSE)";
    FRAMEWORK_FROM_ENABLED_FRAMEWORKS = (1, 2, 31), "a68d240ac",
        "the first of enabledFrameworks picks the framework when sessions.framework and INSTAR_FRAMEWORK do not";
    LIFELINE_RESTART_SIGNAL = (1, 2, 37), "da84a642d",
        "an update writes a coordinated restart signal for a lifeline running older code";
    BOOT_MARKER_ABI_DRIFT = (1, 2, 52), "415aae993",
        "wrapper marker 1: the node heal is aware of ABI drift";
    SEMANTIC_VEC0_NOT_CORRUPTION = (1, 2, 52), "4e2b98a73",
        "a missing vec0 module no longer counts as corruption: semantic.db is not quarantined and rebuilt on every boot";
    SCHEDULER_ENABLED_BY_DEFAULT = (1, 2, 53), "2c4ab0b43",
        "an unset (or null) scheduler.enabled means on instead of off";
    MAX_SESSIONS_MIGRATED = (1, 2, 53), "8246198eb",
        "PostUpdateMigrator moves a legacy top-level maxSessions into sessions";
    REGISTRY_LEASE = (1, 3, 19), "e5c32d696",
        "the registry carries a fenced, Ed25519-signed lease";
    SIGNING_KEY_READ_AT_BOOT = (1, 3, 19), "39c6591e8",
        "server start signs the lease with loadSigningKey (canonical name only until the fallback)";
    AGENTMD_FRONTMATTER_SCHEDULING = (1, 3, 27), "ebcd8ec0b, probed (refused, so skipped, before)",
        "an agentmd body's frontmatter may carry schedule and priority";
    HOOKS_ESM_SAFE = (1, 3, 28), "e8d2baa8e, shipped as 4350d2f18",
        "generated hooks use dynamic import() instead of require(), safe in \"type\": \"module\" agents";
    GUARDRAILS_WIRED_ON_UPDATE = (1, 3, 32), "6ca69fd18, shipped as 7ddaa3408",
        "each update appends missing canonical guardrail entries to .claude/settings.json";
    MENTOR_SPEND_CAP_RETIRED = (1, 3, 42), "fc9826aff",
        "the migrator retires mentor.dailySpendCapUsd";
    ENCRYPTION_KEY_READ_AT_BOOT = (1, 3, 44), "11988d2b4",
        "server start reads loadEncryptionKey (canonical name only until the fallback)";
    REGISTRY_NICKNAMES = (1, 3, 92), "9f2be9c55",
        "registry entries carry an auto-assigned, validated nickname";
    NULL_ENTRY_CRASHES_SELF_REGISTRATION = (1, 3, 92), "9f2be9c55, probed",
        "self-registration reads every other entry's nickname: a null entry is a TypeError at boot";
    IDENTITY_NAME_CRASHES_SELF_REGISTRATION = (1, 3, 92), "9f2be9c55, probed",
        "self-registration derives a nickname from identity.json's name: a non-string is a TypeError at boot";
    LISTENER_SOCKET_PROBED = (1, 3, 96), "eac83ff0c",
        "the server probes a leftover listener.sock, unlinks it and carries on";
    TOKEN_LEDGER_BACKFILL_ASYNC = (1, 3, 97), "aae6da8b4",
        "the token ledger's attribution backfill runs in bounded chunks after boot, not as one scan on the boot path";
    BOOT_MARKER_NODE_CANDIDATES = (1, 3, 149), "09ed13e60",
        "wrapper marker 2: version-managed (asdf/nvm) node candidates";
    SIGNING_KEY_LEGACY_FALLBACK = (1, 3, 151), "2b437c933, probed (fails at v1.3.150)",
        "loadSigningKey falls back to signing-private.pem";
    ENCRYPTION_KEY_LEGACY_FALLBACK = (1, 3, 152), "b35c84e2a, probed (fails at v1.3.151)",
        "loadEncryptionKey falls back to encryption-private.pem";
    AGENTMD_DISABLED_WITHOUT_BODY = (1, 3, 188), "cde425365, probed",
        "a disabled agentmd manifest loads without its .md body (and shadows the jobs.json entry)";
    BOOT_MARKER_PREPEND_NODE_PATH = (1, 3, 198), "f0c2d16e4",
        "wrapper marker 3: the reinstall puts node on PATH";
    FRAMEWORK_GEMINI_CLI = (1, 3, 203), "6c4154cd2",
        "gemini-cli is a framework loadConfig can require";
    TELEGRAM_USER_IDS_TYPE_TOLERANT = (1, 3, 244), "f0e3c726e, shipped as 04eee12ab",
        "Telegram authorizedUserIds match whether stored as numbers or numeric strings";
    CONFIG_SECRETS_FORCE_FILE_KEY = (1, 3, 271), "3a7cdf203",
        "the server reads config.json's secrets.forceFileKey";
    SECRET_PLACEHOLDERS_FAIL_FAST = (1, 3, 281), "02c38add1",
        "boot fails fast on unresolved {secret:true} placeholders in boot-critical fields";
    MANIFEST_MCP_ACCESS_VALIDATED = (1, 3, 292), "a1e365f9f, probed",
        "a manifest's mcpAccess must be project or none";
    AGENTMD_FRONTMATTER_MCP_ACCESS = (1, 3, 292), "a1e365f9f",
        "an agentmd body's frontmatter may carry mcpAccess (an unknown key, so the job is skipped, before)";
    REGISTRY_HEARTBEAT_REREGISTERS = (1, 3, 299), "fe84ef32b",
        "the server's heartbeat puts a running agent missing from ~/.instar/registry.json back";
    FRAMEWORK_PI_CLI = (1, 3, 344), "94cb26df4",
        "pi-cli is a framework loadConfig can require";
    REVOKED_MACHINE_STAYS_REVOKED = (1, 3, 412), "8cfefbd7c",
        "registerMachine refuses to bring a revoked machine back as active";
    THREADLINE_KEYPAIR_NOT_MINTED = (1, 3, 455), "d03146ccd, shipped as 58216bb17",
        "threadline/identity-keys.json is no longer minted at boot (files already there are left in place)";
    POOL_HOMES_INTERACTIVE_READY = (1, 3, 467), "d34d43ec9",
        "the migrator and every pinned or swapped launch seed a pool config home's onboarding flags";
    GHOST_SESSIONS_SUPERSEDED = (1, 3, 488), "4114b3251, shipped as 059b4f9f4",
        "saving a live session record completes every other live record of the same tmux session";
    FEEDBACK_URL_REPOINTED = (1, 3, 561), "c30d2c6ae",
        "the migrator repoints the legacy feedback webhook URL";
    RESUME_QUEUE_AUTO_RESUME = (1, 3, 564), "05ea5257c, shipped as 383a26961",
        "a stale emergency-stop pause of the resume queue lifts itself";
    JOB_RUNS_CACHED = (1, 3, 646), "077665305, shipped as 43757f32d",
        "ledger/job-runs.jsonl is read incrementally, not whole on every scheduler tick";
    TELEGRAM_LOG_TAIL_READS = (1, 3, 647), "3a0f768a5, shipped as b06c27943",
        "telegram-messages.jsonl is read by bounded tails, not whole on a 5-minute timer";
    AUTO_UPDATE_STRAND_DETECTED = (1, 3, 649), "0c7699a13",
        "the auto-updater detects and notifies (never re-applies) an update recorded but not installed";
    AGENTMD_FRONTMATTER_PER_MACHINE = (1, 3, 759), "e42db45df",
        "an agentmd body's frontmatter may carry perMachineIndependent (an unknown key, so the job is skipped, before)";
    FRAMEWORK_GROK_BUILD = (1, 3, 1169), "6f8585363",
        "grok-build is a framework loadConfig can require";
    FRAMEWORK_BINARY_PATHS_HONOURED = (1, 3, 1169), "6f8585363",
        "loadConfig honours sessions.frameworkBinaryPaths (an absolute path that does not exist is dropped with a warning); before, it read nothing there";
    LAUNCHD_PROCESS_CEILING_RAISED = (1, 3, 1181), "9c04fb768, 0c9a2af9a",
        "the migrator raises a launchd plist's NumberOfProcesses below 2048 to 2048 (applied at the next start)";
    GROUNDING_EXEMPT_EXTENDED = (1, 3, 1186), "HEAD-only: the spec gives no boundary",
        "the grounding audit exempts 26 more built-in slugs";
}

/// The row of [`RULES`] named `name` (a [`boundary`] constant's name), for rules kept as data, such
/// as the config schema's `x-since` annotations.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
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

    /// The one table of switch points, as reviewers read it: a changed boundary shows up here.
    #[test]
    fn rules_table_snapshot() {
        let listing: Vec<String> = RULES
            .iter()
            .map(|r| format!("v{:<10} {:<40} {} [{}]", r.first, r.name, r.what, r.source))
            .collect();
        insta::assert_snapshot!(listing.join("\n"));
    }

    #[test]
    fn rules_are_in_version_order_unique_and_in_the_known_range() {
        let mut names = std::collections::HashSet::new();
        for pair in RULES.windows(2) {
            assert!(
                pair[0].first <= pair[1].first,
                "{} is out of order",
                pair[1].name
            );
        }
        for rule in RULES {
            assert!(names.insert(rule.name), "{} twice", rule.name);
            assert!(
                (OLDEST_KNOWN..=NEWEST_KNOWN).contains(&rule.first),
                "{}",
                rule.name
            );
        }
    }

    /// Spec §0 (corrected): the skip-instead-of-throw boundary is v0.28.64, not v0.28.65.
    #[test]
    fn invalid_jobs_entries_are_skipped_from_0_28_64() {
        assert_eq!(boundary::JOBS_SKIP_INVALID_ENTRIES, Version::new(0, 28, 64));
    }

    #[test]
    fn rules_clamp_into_known_range() {
        assert_eq!(rules_for(Version::new(0, 1, 0)), OLDEST_KNOWN);
        assert_eq!(rules_for(Version::new(9, 0, 0)), NEWEST_KNOWN);
        assert_eq!(rules_for(Version::new(1, 0, 0)), Version::new(1, 0, 0));
    }
}
