//! The JSON scanner on arbitrary bytes: it must give a verdict (never panic, never hang), and
//! the streaming pass jobs.json uses must agree with the whole-document parse.
#![no_main]

use instar_doctor::json::{self, Tape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut tape = Tape::new();
    let whole = json::parse(data, &mut tape);
    if whole.is_ok() {
        // Walking the accepted tree must stay in bounds.
        let _ = tape.root().kind();
    }
    let mut streamed_tape = Tape::new();
    let mut entries = 0usize;
    let streamed = json::stream_root_array(data, &mut streamed_tape, |_, value| {
        let _ = value.kind();
        entries += 1;
    });
    assert_eq!(
        whole.is_ok(),
        streamed.is_ok(),
        "parse and stream disagree: {whole:?} vs {streamed:?}"
    );
});
