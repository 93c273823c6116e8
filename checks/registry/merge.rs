//! Resolving a registry.json left with git conflict markers, with HEAD's mergeRegistry rules
//! (spec §4.4): machines are the union by id; for one id a revoked side wins (both revoked: the
//! earlier revokedAt), else the later lastSeen, then the higher syncSequence; the lease with the
//! higher epoch wins (equal epochs: the lexically larger signature); version is the max.

use std::path::Path;

use serde_json::{Map, Value};

use crate::checks::shared::conflict_sides;
use crate::fix::{Change, Fix};

fn is_revoked(entry: &Value) -> bool {
    entry.get("status").and_then(Value::as_str) == Some("revoked")
        || entry.get("revokedAt").is_some()
}

fn text<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or("")
}

fn number(entry: &Value, key: &str) -> f64 {
    entry
        .get(key)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NEG_INFINITY)
}

/// Which of two entries for one machine id wins.
fn pick<'a>(a: &'a Value, b: &'a Value) -> &'a Value {
    match (is_revoked(a), is_revoked(b)) {
        (true, false) => a,
        (false, true) => b,
        (true, true) => {
            if time(text(b, "revokedAt")) < time(text(a, "revokedAt")) {
                b
            } else {
                a
            }
        }
        (false, false) => {
            let (la, lb) = (time(text(a, "lastSeen")), time(text(b, "lastSeen")));
            if lb > la || (lb == la && number(b, "syncSequence") > number(a, "syncSequence")) {
                b
            } else {
                a
            }
        }
    }
}

fn time(text: &str) -> i64 {
    crate::cron::parse_rfc3339(text).unwrap_or(i64::MIN)
}

pub fn merge(ours: &Value, theirs: &Value) -> Option<Value> {
    let (o, t) = (ours.as_object()?, theirs.as_object()?);
    let om = o.get("machines")?.as_object()?;
    let tm = t.get("machines")?.as_object()?;
    let mut machines = Map::new();
    for (id, entry) in om {
        let winner = match tm.get(id) {
            Some(other) => pick(entry, other),
            None => entry,
        };
        machines.insert(id.clone(), winner.clone());
    }
    for (id, entry) in tm {
        if !machines.contains_key(id) {
            machines.insert(id.clone(), entry.clone());
        }
    }
    let version = number(ours, "version").max(number(theirs, "version"));
    let mut out = Map::new();
    out.insert(
        "version".into(),
        serde_json::json!(if version.is_finite() {
            version as i64
        } else {
            1
        }),
    );
    out.insert("machines".into(), Value::Object(machines));
    let lease = match (o.get("lease"), t.get("lease")) {
        (Some(a), Some(b)) => {
            let (ea, eb) = (number(a, "epoch"), number(b, "epoch"));
            Some(
                if eb > ea || (eb == ea && text(b, "signature") > text(a, "signature")) {
                    b
                } else {
                    a
                },
            )
        }
        (a, b) => a.or(b),
    };
    if let Some(lease) = lease {
        out.insert("lease".into(), lease.clone());
    }
    Some(Value::Object(out))
}

/// The unsafe fix that replaces a conflicted registry with the merge of its two sides.
pub fn merge_fix(path: &Path, bytes: &[u8]) -> Option<Fix> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (ours, theirs) = conflict_sides(text)?;
    let ours: Value = serde_json::from_str(&ours).ok()?;
    let theirs: Value = serde_json::from_str(&theirs).ok()?;
    let merged = merge(&ours, &theirs)?;
    let contents = serde_json::to_string_pretty(&merged).ok()?.into_bytes();
    Some(Fix::unsafe_(
        "merge both sides with instar's mergeRegistry rules (a revoked side wins, then the later lastSeen)",
        vec![Change::Write {
            file: path.to_path_buf(),
            contents,
        }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revocation_is_sticky_and_order_independent() {
        let a = json!({"version": 1, "machines": {"m_1": {"status": "active", "lastSeen": "2026-08-20T10:00:00.000Z"}}});
        let b = json!({"version": 2, "machines": {"m_1": {"status": "revoked", "revokedAt": "2026-06-01T00:00:00.000Z", "lastSeen": "2026-01-01T00:00:00.000Z"}, "m_2": {"status": "active"}}});
        for (x, y) in [(&a, &b), (&b, &a)] {
            let m = merge(x, y).unwrap();
            assert_eq!(m["machines"]["m_1"]["status"], "revoked");
            assert!(m["machines"].get("m_2").is_some());
            assert_eq!(m["version"], 2);
        }
    }

    #[test]
    fn later_last_seen_then_sync_sequence_win() {
        let a = json!({"version": 1, "machines": {"m_1": {"status": "active", "lastSeen": "2026-08-20T10:00:00.000Z", "syncSequence": 1, "role": "standby"}}});
        let b = json!({"version": 1, "machines": {"m_1": {"status": "active", "lastSeen": "2026-08-20T10:00:00.000Z", "syncSequence": 2, "role": "awake"}}});
        assert_eq!(merge(&a, &b).unwrap()["machines"]["m_1"]["role"], "awake");
        assert_eq!(merge(&b, &a).unwrap()["machines"]["m_1"]["role"], "awake");
    }

    #[test]
    fn higher_epoch_lease_wins_and_ties_break_by_signature() {
        let a = json!({"version": 1, "machines": {}, "lease": {"epoch": 3, "signature": "b"}});
        let b = json!({"version": 1, "machines": {}, "lease": {"epoch": 3, "signature": "a"}});
        let c = json!({"version": 1, "machines": {}, "lease": {"epoch": 4, "signature": "a"}});
        assert_eq!(merge(&a, &b).unwrap()["lease"]["signature"], "b");
        assert_eq!(merge(&b, &a).unwrap()["lease"]["signature"], "b");
        assert_eq!(merge(&a, &c).unwrap()["lease"]["epoch"], 4);
        let none = json!({"version": 1, "machines": {}});
        assert_eq!(merge(&none, &a).unwrap()["lease"]["epoch"], 3);
    }
}
