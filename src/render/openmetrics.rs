//! `scan --format openmetrics`: the Prometheus text exposition format, which node_exporter's
//! textfile collector reads, written so that it is also valid OpenMetrics (gauges only, a
//! closing `# EOF`, which the Prometheus parser takes for a comment). Fleet monitoring then
//! alerts on it; the doctor itself collects nothing.
//!
//! Families are written in one pass as the scan goes: the findings family first (its samples
//! stream per agent), then the run's own gauges once the scan is over.

use std::collections::BTreeMap;

/// The label value escaping of the text format: backslash, double quote and newline.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn head() -> &'static str {
    "# HELP instar_doctor_findings Findings of instar-doctor by agent, area and severity (absent means none).\n# TYPE instar_doctor_findings gauge\n"
}

/// One agent's samples (`agent` is its folder; the machine area's findings have an empty
/// agent). Only non-zero counts are written, so a fleet of healthy agents stays small.
pub fn findings(agent: &str, counts: &BTreeMap<(&'static str, &'static str), usize>) -> String {
    let agent = escape_label(agent);
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|((area, severity), n)| {
            format!("instar_doctor_findings{{agent=\"{agent}\",area=\"{area}\",severity=\"{severity}\"}} {n}\n")
        })
        .collect()
}

/// The run's own gauges and the end marker.
pub fn tail(agents: &BTreeMap<&'static str, usize>, up: bool, timestamp: i64) -> String {
    let mut out = String::from(
        "# HELP instar_doctor_agents Agents checked by the last scan, by verdict.\n# TYPE instar_doctor_agents gauge\n",
    );
    for (status, n) in agents {
        out.push_str(&format!(
            "instar_doctor_agents{{status=\"{status}\"}} {n}\n"
        ));
    }
    out.push_str(&format!(
        "# HELP instar_doctor_up Whether the last scan gave an answer (1) or failed (0).\n# TYPE instar_doctor_up gauge\ninstar_doctor_up {}\n",
        u8::from(up)
    ));
    out.push_str(&format!(
        "# HELP instar_doctor_last_run_timestamp_seconds When the last scan ran, in seconds since the Unix epoch.\n# TYPE instar_doctor_last_run_timestamp_seconds gauge\ninstar_doctor_last_run_timestamp_seconds {timestamp}\n"
    ));
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_zero_counts_left_out() {
        let mut counts = BTreeMap::new();
        counts.insert(("jobs", "error"), 2);
        counts.insert(("keys", "info"), 0);
        let text = findings("/a \"b\"\\c", &counts);
        assert_eq!(
            text,
            "instar_doctor_findings{agent=\"/a \\\"b\\\"\\\\c\",area=\"jobs\",severity=\"error\"} 2\n"
        );
    }
}
