//! The frozen exit codes of design.md §2. Scripts and CI gates depend on these numbers.

/// Healthy at the `--fail-on` threshold (and, with `--diff`, nothing to change).
pub const HEALTHY: u8 = 0;
/// Findings at or above the threshold remain.
pub const FINDINGS: u8 = 1;
/// The doctor could not give an answer: bad usage, no agent, a crashed check…
pub const FAILURE: u8 = 2;
/// Interrupted.
pub const INTERRUPTED: u8 = 130;

#[cfg(test)]
mod tests {
    /// These numbers are a public contract; this test exists so changing one is deliberate.
    #[test]
    fn exit_codes_are_frozen() {
        assert_eq!(
            (
                super::HEALTHY,
                super::FINDINGS,
                super::FAILURE,
                super::INTERRUPTED
            ),
            (0, 1, 2, 130)
        );
    }
}
