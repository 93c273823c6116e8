//! "Now" for every command, from `INSTAR_DOCTOR_NOW` (RFC 3339) when set, so tests are
//! reproducible.

/// Seconds since the Unix epoch; an `INSTAR_DOCTOR_NOW` that is no RFC 3339 timestamp is an
/// error, never silently the real time.
pub fn now() -> Result<i64, String> {
    match std::env::var("INSTAR_DOCTOR_NOW") {
        Ok(text) => crate::cron::parse_rfc3339(&text)
            .ok_or_else(|| format!("INSTAR_DOCTOR_NOW={text:?} is not an RFC 3339 timestamp")),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)),
    }
}
