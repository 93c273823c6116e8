//! Checking agents on every core with std's scoped threads, results handed on in input order.
//!
//! Workers take the next index from a shared counter and send `(index, result)` through a
//! bounded channel; the caller's thread puts results back in order and hands each on at once.
//! Memory stays bounded by the number of workers (the channel's bound plus results waiting for
//! a slower predecessor), never by the number of agents: each result is dropped as soon as it
//! has been written. A panic inside `work` is caught per item and becomes that item's result, so
//! one agent that crashes a check never stops the others.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` on each item with `threads` workers; `emit` gets every result in item order.
/// `crashed` turns a panic's message into that item's result.
pub fn ordered_map<I, R>(
    items: &[I],
    threads: usize,
    work: impl Fn(&I) -> R + Sync,
    crashed: impl Fn(&I, String) -> R + Sync,
    mut emit: impl FnMut(usize, R),
) where
    I: Sync,
    R: Send,
{
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, R)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, work, crashed) = (&next, &work, &crashed);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = panic::catch_unwind(AssertUnwindSafe(|| work(item)))
                    .unwrap_or_else(|payload| crashed(item, panic_message(&*payload)));
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut due = 0;
        for (i, result) in rx {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&due) {
                emit(due, result);
                due += 1;
            }
        }
    });
}

/// The text of a panic payload (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_and_a_panic_is_one_items_result() {
        let items: Vec<u32> = (0..200).collect();
        let mut seen = Vec::new();
        // Silence the default hook's message for the deliberate panics.
        let hook = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        ordered_map(
            &items,
            4,
            |&n| {
                if n % 50 == 7 {
                    panic!("boom {n}");
                }
                // Uneven work, so workers finish out of order.
                std::thread::sleep(std::time::Duration::from_micros(u64::from(n % 5) * 100));
                format!("ok {n}")
            },
            |&n, why| format!("crashed {n}: {why}"),
            |i, r| seen.push((i, r)),
        );
        panic::set_hook(hook);
        assert_eq!(seen.len(), 200);
        assert!(seen.iter().enumerate().all(|(n, (i, _))| n == *i));
        assert_eq!(seen[7].1, "crashed 7: boom 7");
        assert_eq!(seen[8].1, "ok 8");
    }

    #[test]
    fn no_items_means_no_results() {
        let mut calls = 0;
        ordered_map(&[] as &[u8], 3, |_| (), |_, _| (), |_, _| calls += 1);
        assert_eq!(calls, 0);
    }
}
