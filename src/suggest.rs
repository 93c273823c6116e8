//! "Did you mean …?": the nearest check ids and codes to a name the user typed.
//!
//! A typo in `--select` or `explain` must be answered with the name that was meant, the way
//! ruff and cargo answer one: the doctor knows every valid name (the check table), so it can
//! rank them by edit distance instead of leaving the user to read `list`.

use crate::checks;

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
/// `jbos` is one slip away from `jobs`, not two.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows are enough: the transposition looks two rows back.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Every name `--select`, `--ignore` and `explain` understand: check ids, then codes, in table
/// order (so ties are broken the way `list` shows them).
fn every_name() -> impl Iterator<Item = &'static str> {
    checks::TABLE
        .iter()
        .map(|check| check.id())
        .chain(checks::all_codes().map(|code| code.id))
}

/// How far `typed` is from `name`. A bare word is also compared with each code's part after
/// the slash, so `invalid-cron` finds `jobs/invalid-cron`.
fn closeness(typed: &str, name: &str) -> usize {
    let whole = distance(typed, name);
    match name.split_once('/') {
        Some((_, tail)) if !typed.contains('/') => whole.min(distance(typed, tail)),
        _ => whole,
    }
}

/// Up to `max` known names nearest to `typed`, all at the same (smallest) distance. "Near" allows about one slip per three
/// characters (at least one), so a short typo still finds its name while unrelated words
/// suggest nothing rather than noise.
pub fn nearest(typed: &str, max: usize) -> Vec<&'static str> {
    let typed = typed.to_ascii_lowercase();
    let allowed = (typed.chars().count() / 3).max(1);
    let mut ranked: Vec<(usize, usize, &'static str)> = every_name()
        .enumerate()
        .map(|(order, name)| (closeness(&typed, name), order, name))
        .filter(|(d, _, _)| *d <= allowed)
        .collect();
    ranked.sort();
    // Only the nearest tier: a name one slip away says what was meant; adding names three slips
    // away would only blur it.
    let best = ranked.first().map(|(d, _, _)| *d);
    ranked
        .into_iter()
        .take_while(|(d, _, _)| Some(*d) == best)
        .take(max)
        .map(|(_, _, n)| n)
        .collect()
}

/// `; did you mean `a` or `b`?`, or nothing when no name is near.
pub fn did_you_mean(typed: &str) -> String {
    let names: Vec<String> = nearest(typed, 3)
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        [init @ .., last] => format!("; did you mean {} or {last}?", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_a_swap_as_one_edit() {
        assert_eq!(distance("jbos", "jobs"), 1);
        assert_eq!(distance("jobs", "jobs"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_of_checks_and_codes_find_what_was_meant() {
        assert_eq!(nearest("jbos", 3).first(), Some(&"jobs"));
        assert_eq!(
            nearest("jobs/invalid-crn", 3).first(),
            Some(&"jobs/invalid-cron")
        );
        assert_eq!(
            nearest("invalid-cron", 3).first(),
            Some(&"jobs/invalid-cron")
        );
        assert_eq!(nearest("CONFIG", 3).first(), Some(&"config"));
    }

    #[test]
    fn unrelated_words_suggest_nothing() {
        assert!(nearest("zzzzzzzz", 3).is_empty());
        assert_eq!(did_you_mean("zzzzzzzz"), "");
        assert_eq!(did_you_mean("jbos"), "; did you mean `jobs`?");
    }
}
