//! Ports an agent cannot use whatever its config says: the WHATWG Fetch "bad ports", which
//! node's fetch refuses (#11). One list for the config check (the agent's own `port`) and the
//! machine area (registry reservations no agent config shows).

/// The Fetch standard's bad-port list (the list instar's allocator skips). 4045 sits inside
/// instar's own default range 4040–4099.
pub const FETCH_BLOCKED_PORTS: &[u32] = &[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
    103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
    512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
    995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6679, 6697, 10080,
];

/// Whether fetch refuses `port` (a JSON number, so fractions and out-of-range values are not).
pub fn is_fetch_blocked(port: f64) -> bool {
    port.fract() == 0.0
        && (0.0..=f64::from(u32::MAX)).contains(&port)
        && FETCH_BLOCKED_PORTS.contains(&(port as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_holds_instars_own_range_hole() {
        assert!(FETCH_BLOCKED_PORTS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_fetch_blocked(4045.0));
        assert!(!is_fetch_blocked(4040.0));
        assert!(!is_fetch_blocked(4045.5));
        assert!(!is_fetch_blocked(-4045.0));
        assert!(!is_fetch_blocked(f64::NAN));
    }
}
