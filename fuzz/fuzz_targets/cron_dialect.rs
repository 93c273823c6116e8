//! The croner 8.1.2 dialect on arbitrary strings and clocks: a verdict, never a panic or a hang
//! (the never-fires search is bounded to a 400-year cycle).
#![no_main]

use instar_doctor::cron;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (i64, &str)| {
    let (epoch, pattern) = input;
    // Any instant from 1970 to 2400: the years instar's clock can be at.
    let now = cron::now_from_epoch(epoch.rem_euclid(13_569_465_600));
    let _ = cron::parse(pattern, &now);
});
