// Spans are ranges, so one-span lists are exactly what is meant.
#![allow(clippy::single_range_in_vec_init)]

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

/// What a conformance case expects: `Ok` or an error kind with its exact span.
type Expected = Result<(), (ErrorKind, Span)>;

fn run(src: &[u8]) -> Result<ParseOutcome, ParseError> {
    let mut tape = Tape::new();
    parse(src, &mut tape)
}

fn err(kind: ErrorKind, span: Span) -> Expected {
    Err((kind, span))
}

const OK: Expected = Ok(());

/// Every bullet of the contract's JSON.parse semantics, with exact spans.
#[rustfmt::skip]
fn conformance_table() -> Vec<(&'static [u8], Expected)> {
    use ErrorKind::*;
    vec![
        // accepted
        (b"{}", OK), (b"[]", OK), (b"0", OK), (b"-0", OK), (b"1.5e+10", OK), (b"1E-2", OK),
        (b"-0.0e0", OK), (b"\"x\"", OK), (b"true", OK), (b"false", OK), (b"null", OK),
        (b" \t\r\n[1 ,\t2]\r\n", OK), (b"1e400", OK), (b"-1e400", OK),
        (b"{\"a\":1,\"a\":2}", OK), (b"\"\\u00E9\\u00e9\"", OK),
        (b"[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"]", OK), (b"\"\x7f\"", OK),
        (b"\xEF\xBB\xBF{}", OK),
        // lone surrogates are accepted
        (b"\"\\ud800\"", OK), (b"\"\\uDC00\"", OK), (b"\"\\ud800x\"", OK),
        (b"\"\\ud800\\u0041\"", OK), (b"\"\\udbff\\udbff\"", OK),
        // invalid UTF-8 inside a string is accepted (U+FFFD), outside is not
        (b"\"a\xffb\"", OK), (b"{\"\xc0\xaf\":\"\xed\xa0\x80\"}", OK),
        (b"[\xff]", err(UnexpectedChar, 1..2)), (b"[\xc3]", err(UnexpectedChar, 1..2)),
        (b"\xe2\x82", err(UnexpectedChar, 0..2)), (b"{}\xff", err(TrailingContent, 2..3)),
        // empty
        (b"", err(Empty, 0..0)), (b"  \n\t", err(Empty, 4..4)), (b"\xEF\xBB\xBF", err(Empty, 3..3)),
        (b"\xEF\xBB\xBF \n", err(Empty, 5..5)),
        // UTF-16 and misplaced BOMs
        (b"\xFF\xFE{\x00}\x00", err(Utf16, 0..2)), (b"\xFE\xFF\x00{\x00}", err(Utf16, 0..2)),
        (b"\xEF\xBB\xBF\xEF\xBB\xBF{}", err(BadWhitespace, 3..6)),
        (b"[\xEF\xBB\xBF]", err(BadWhitespace, 1..4)),
        // trailing commas
        (b"[1,]", err(TrailingComma, 2..3)), (b"{\"a\":1 , }", err(TrailingComma, 7..8)),
        (b"[1,\n]", err(TrailingComma, 2..3)), (b"[[],]", err(TrailingComma, 3..4)),
        // comments
        (b"// c\n{}", err(Comment, 0..4)), (b"{} // c", err(Comment, 3..7)),
        (b"{\"a\":1 /* x */}", err(Comment, 7..14)), (b"[1 /* open", err(Comment, 3..5)),
        (b"//x\r\n1", err(Comment, 0..3)), (b"[/**/1]", err(Comment, 1..5)),
        (b"{\"a\": /*/ */ 1}", err(Comment, 6..12)), (b"/", err(UnexpectedChar, 0..1)),
        // JavaScript-only literals
        (b"NaN", err(NonFinite, 0..3)), (b"[Infinity]", err(NonFinite, 1..9)),
        (b"-Infinity", err(NonFinite, 0..9)), (b"{\"a\":undefined}", err(NonFinite, 5..14)),
        (b"[-Infinity, 1]", err(NonFinite, 1..10)), (b"[1, NaN]", err(NonFinite, 4..7)),
        // single quotes
        (b"'a'", err(SingleQuote, 0..3)), (b"{'a':1}", err(SingleQuote, 1..4)),
        (b"['it\\'s']", err(SingleQuote, 1..8)), (b"['open\n]", err(SingleQuote, 1..2)),
        // truncated
        (b"{\"a\":1", err(UnexpectedEnd, 6..6)), (b"[1,2", err(UnexpectedEnd, 4..4)),
        (b"\"abc", err(UnexpectedEnd, 4..4)), (b"[1.", err(UnexpectedEnd, 3..3)),
        (b"-", err(UnexpectedEnd, 1..1)), (b"{\"a\"", err(UnexpectedEnd, 4..4)),
        (b"{\"a\":", err(UnexpectedEnd, 5..5)), (b"[tru", err(UnexpectedEnd, 4..4)),
        (b"{", err(UnexpectedEnd, 1..1)), (b"\"\\u12", err(UnexpectedEnd, 5..5)),
        (b"\"\\", err(UnexpectedEnd, 2..2)), (b"[1e", err(UnexpectedEnd, 3..3)),
        (b"[1e+", err(UnexpectedEnd, 4..4)), (b"[{\"a\":[1, {\"b\": \"x", err(UnexpectedEnd, 18..18)),
        (b"{\"a\":1,", err(UnexpectedEnd, 7..7)), (b"[\n  ", err(UnexpectedEnd, 4..4)),
        (b"1.", err(UnexpectedEnd, 2..2)), (b"n", err(UnexpectedEnd, 1..1)),
        // merge-conflict markers
        (b"<<<<<<< HEAD\n{\"a\":1}\n=======\n{\"a\":2}\n>>>>>>> other\n", err(ConflictMarker, 0..12)),
        (b"{\"a\":1,\n=======\n\"b\":2}", err(ConflictMarker, 8..15)),
        (b"{\r\n<<<<<<< ours\r\n\"a\":1\r\n}", err(ConflictMarker, 3..15)),
        (b"[1,\n]\n>>>>>>>", err(ConflictMarker, 6..13)),
        (b"\xEF\xBB\xBF<<<<<<< HEAD\n{}", err(ConflictMarker, 3..15)),
        (b"[\"<<<<<<< x\"]", OK), (b"[1,\n<<<<<<<x\n]", err(UnexpectedChar, 4..5)),
        (b"[1,\n ======= \n]", err(UnexpectedChar, 5..6)),
        // whitespace JSON does not allow
        (b"[1,\x0b2]", err(BadWhitespace, 3..4)), (b"{\x0c}", err(BadWhitespace, 1..2)),
        (b"[\xC2\xA01]", err(BadWhitespace, 1..3)), (b"[1\xE2\x80\xA8]", err(BadWhitespace, 2..5)),
        (b"{}\xC2\xA0", err(BadWhitespace, 2..4)), (b"\xE2\x80\xA9[]", err(BadWhitespace, 0..3)),
        (b"\xE3\x80\x80 1", err(BadWhitespace, 0..3)), (b"[\xC2\x85]", err(BadWhitespace, 1..3)),
        (b"[\xE2\x80\x8B]", err(UnexpectedChar, 1..4)), (b"[\x1c]", err(UnexpectedChar, 1..2)),
        // raw control characters in strings
        (b"\"a\nb\"", err(ControlChar, 2..3)), (b"\"\x00\"", err(ControlChar, 1..2)),
        (b"{\"k\t\":1}", err(ControlChar, 3..4)), (b"\"\x1f\"", err(ControlChar, 1..2)),
        (b"[\"ok\", \"a\rb\"]", err(ControlChar, 9..10)),
        // escapes
        (b"\"\\x\"", err(BadEscape, 1..3)), (b"\"\\u12G4\"", err(BadEscape, 1..6)),
        (b"\"\\U0041\"", err(BadEscape, 1..3)), (b"\"\\'\"", err(BadEscape, 1..3)),
        (b"\"\\\xC3\xA9\"", err(BadEscape, 1..4)), (b"\"\\u\"", err(BadEscape, 1..4)),
        (b"\"\\\n\"", err(BadEscape, 1..3)), (b"\"\\0\"", err(BadEscape, 1..3)),
        // numbers
        (b"01", err(InvalidNumber, 0..2)), (b"[00]", err(InvalidNumber, 1..3)),
        (b"-01", err(InvalidNumber, 0..3)), (b"+1", err(InvalidNumber, 0..2)),
        (b"[.5]", err(InvalidNumber, 1..3)), (b"[1.]", err(InvalidNumber, 1..3)),
        (b"1. ", err(InvalidNumber, 0..2)), (b"0x1F", err(InvalidNumber, 0..4)),
        (b"[1.e5]", err(InvalidNumber, 1..5)), (b"-a", err(InvalidNumber, 0..2)),
        (b"[- 1]", err(InvalidNumber, 1..2)), (b"1e5.5", err(InvalidNumber, 0..5)),
        (b"[1.5.3]", err(InvalidNumber, 1..6)), (b"[-.5]", err(InvalidNumber, 1..4)),
        (b"{\"a\": 1e}", err(InvalidNumber, 6..8)), (b"[1x]", err(InvalidNumber, 1..3)),
        (b"-NaN", err(InvalidNumber, 0..4)), (b"[+.5]", err(UnexpectedChar, 1..4)),
        // trailing content
        (b"{} x", err(TrailingContent, 3..4)), (b"1 2", err(TrailingContent, 2..3)),
        (b"{}{}", err(TrailingContent, 2..3)), (b"[] \"abc\"", err(TrailingContent, 3..8)),
        (b"null null", err(TrailingContent, 5..9)), (b"{}]", err(TrailingContent, 2..3)),
        (b"[] NaN", err(TrailingContent, 3..6)), (b"[]\n'x'", err(TrailingContent, 3..4)),
        // everything else
        (b"[1 2]", err(UnexpectedChar, 3..4)), (b"{a:1}", err(UnexpectedChar, 1..2)),
        (b"{\"a\" 1}", err(UnexpectedChar, 5..6)), (b"[,1]", err(UnexpectedChar, 1..2)),
        (b"{\"a\":}", err(UnexpectedChar, 5..6)), (b"[True]", err(UnexpectedChar, 1..5)),
        (b"[trueish]", err(UnexpectedChar, 1..8)), (b"[nul1]", err(UnexpectedChar, 1..5)),
        (b"@", err(UnexpectedChar, 0..1)), (b"[1}", err(UnexpectedChar, 2..3)),
        (b"{\"a\":1]", err(UnexpectedChar, 6..7)), (b"\x00", err(UnexpectedChar, 0..1)),
        (b"[\xC3\xA9]", err(UnexpectedChar, 1..3)), (b"{,}", err(UnexpectedChar, 1..2)),
        (b"{\"a\":1,,}", err(UnexpectedChar, 7..8)), (b"{1:2}", err(UnexpectedChar, 1..2)),
        (b"]", err(UnexpectedChar, 0..1)), (b"{\"a\"::1}", err(UnexpectedChar, 5..6)),
    ]
}

#[test]
fn conformance() {
    let mut failures = Vec::new();
    for (src, expected) in conformance_table() {
        let got = run(src).map(|_| ()).map_err(|e| (e.kind, e.span));
        if got != expected {
            failures.push(format!(
                "{:?}: expected {expected:?}, got {got:?}",
                String::from_utf8_lossy(src)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn conformance_covers_every_error_kind() {
    use ErrorKind::*;
    let kinds: Vec<ErrorKind> = conformance_table()
        .into_iter()
        .filter_map(|(_, e)| e.err().map(|(k, _)| k))
        .collect();
    for kind in [
        Empty,
        UnexpectedEnd,
        UnexpectedChar,
        TrailingComma,
        Comment,
        NonFinite,
        SingleQuote,
        ConflictMarker,
        BadWhitespace,
        ControlChar,
        BadEscape,
        InvalidNumber,
        TrailingContent,
        Utf16,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} has no conformance case");
    }
}

#[test]
fn streaming_gives_the_same_verdicts() {
    for (src, expected) in conformance_table() {
        let mut tape = Tape::new();
        let got = stream_root_array(src, &mut tape, |_, _| {})
            .map(|_| ())
            .map_err(|e| (e.kind, e.span));
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(src));
    }
}

#[test]
fn messages_are_ours_and_specific() {
    let msg = |src: &[u8]| run(src).unwrap_err().message;
    assert_eq!(msg(b"[1"), "unexpected end of input: the JSON is truncated");
    assert_eq!(msg(b"// x\n1"), "a comment: JSON does not allow comments");
    assert_eq!(msg(b"x"), "unexpected character 'x'; expected a value");
    assert!(msg(b"{a:1}").contains("keys must be double-quoted"));
    assert!(msg(b"01").contains("leading zeros"));
    assert!(msg(b"+1").contains("'+'"));
    assert!(msg(b"[.5]").contains("digit before the '.'"));
    assert!(msg(b"0x10").contains("hexadecimal"));
    assert!(msg(b"[1.]").contains("followed by digits"));
    assert!(msg(b"\"a\nb\"").contains("U+000A (line feed)"));
    assert!(msg(b"[1,\x0b2]").contains("U+000B (vertical tab)"));
    assert!(msg(b"[\xC2\xA0]").contains("no-break space"));
    assert!(msg(b"[\xff]").contains("0xFF"));
    assert!(msg(b"\"\\x\"").contains("\\\\x"));
    assert!(msg(b"NaN").contains("'NaN'"));
    assert!(msg(b"{} 1").contains("after the JSON value"));
    assert!(msg(b"<<<<<<< a\n").contains("merge-conflict"));
    let e = run(b"[1,]").unwrap_err();
    assert_eq!(e.to_string(), e.message);
}

#[test]
fn bom_is_reported_and_the_content_still_parsed() {
    let src = b"\xEF\xBB\xBF{\"a\": 1}";
    let mut tape = Tape::new();
    assert_eq!(parse(src, &mut tape), Ok(ParseOutcome { bom: true }));
    assert_eq!(tape.root().span(), 3..src.len());
    assert_eq!(tape.pointer("/a").and_then(|v| v.as_f64()), Some(1.0));
    assert_eq!(
        parse(b"{}", &mut Tape::new()),
        Ok(ParseOutcome { bom: false })
    );
}

#[test]
fn too_large_is_refused_before_scanning() {
    let e = errors::check_len(1 << 32).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(errors::check_len(u32::MAX as usize).is_err());
    assert!(errors::check_len(u32::MAX as usize - 1).is_ok());
}

#[test]
fn invalid_utf8_in_strings_is_recorded_and_replaced() {
    let src = b"[\"a\xffb\", \"\xe2\x82\", \"ok\xf0\x9f\x98\x80\"]";
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    assert_eq!(tape.invalid_utf8(), &[3..4, 9..11]);
    let strings: Vec<_> = tape
        .root()
        .elements()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(strings, ["a\u{FFFD}b", "\u{FFFD}", "ok😀"]);
    assert!(matches!(strings[2], Cow::Borrowed(_)));
    // Maximal subparts, as readFileSync's decoder: a surrogate encoding is three U+FFFD.
    parse(b"\"\xed\xa0\x80|\xf0\x9f\x98|\xc0\xaf\"", &mut tape).unwrap();
    assert_eq!(
        tape.invalid_utf8(),
        &[1..2, 2..3, 3..4, 5..8, 9..10, 10..11]
    );
    let decoded = tape.root().as_str().unwrap();
    assert_eq!(
        decoded,
        "\u{FFFD}\u{FFFD}\u{FFFD}|\u{FFFD}|\u{FFFD}\u{FFFD}"
    );
    assert_eq!(
        decoded,
        String::from_utf8_lossy(&b"\xed\xa0\x80|\xf0\x9f\x98|\xc0\xaf"[..])
    );
}

#[test]
fn invalid_utf8_in_keys_is_recorded_and_decoded() {
    let src = b"{\"k\xff\": 1, \"k\xfe\": 2}";
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    assert_eq!(tape.invalid_utf8(), &[3..4, 12..13]);
    // Both keys decode to "k\u{FFFD}": JSON.parse sees one key twice.
    assert_eq!(
        tape.duplicates(),
        &[Duplicate {
            first: 1..5,
            second: 10..14
        }]
    );
    assert_eq!(
        tape.root().get("k\u{FFFD}").and_then(|v| v.as_f64()),
        Some(2.0)
    );
}

#[test]
fn lone_surrogates_decode_to_replacement_and_pairs_join() {
    let cases: &[(&[u8], &str)] = &[
        (b"\"\\ud800\"", "\u{FFFD}"),
        (b"\"\\udc00x\"", "\u{FFFD}x"),
        (b"\"\\ud800\\u0041\"", "\u{FFFD}A"),
        (b"\"\\ud800\\ud800\\udc00\"", "\u{FFFD}\u{10000}"),
        (b"\"\\uD83D\\uDE00\"", "😀"),
        (b"\"\\udbff\\udfff\"", "\u{10FFFF}"),
        (
            b"\"a\\nb\\t\\\"\\\\\\/\\b\\f\\r\"",
            "a\nb\t\"\\/\u{8}\u{c}\r",
        ),
        (b"\"\\u0000\\u001f\\u00e9\\u20AC\"", "\0\u{1f}é€"),
    ];
    for &(src, want) in cases {
        let mut tape = Tape::new();
        parse(src, &mut tape).unwrap();
        assert_eq!(
            tape.root().as_str().unwrap(),
            want,
            "{}",
            String::from_utf8_lossy(src)
        );
    }
}

#[test]
fn duplicate_keys_last_wins_with_both_spans() {
    let src = b"{\"a\":1,\"b\":2,\"\\u0061\":3}";
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    assert_eq!(
        tape.duplicates(),
        &[Duplicate {
            first: 1..4,
            second: 13..21
        }]
    );
    let root = tape.root();
    assert_eq!(root.get("a").unwrap().as_f64(), Some(3.0));
    assert_eq!(root.len(), 3);
    let keys: Vec<_> = root.members().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["a", "b", "a"]);
}

#[test]
fn a_key_seen_three_times_pairs_with_its_first_occurrence() {
    let src = br#"{"x":1,"x":2,"x":3}"#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let firsts: Vec<_> = tape.duplicates().iter().map(|d| d.first.clone()).collect();
    let seconds: Vec<_> = tape.duplicates().iter().map(|d| d.second.clone()).collect();
    assert_eq!(firsts, [1..4, 1..4]);
    assert_eq!(seconds, [7..10, 13..16]);
    assert_eq!(tape.root().get("x").unwrap().raw(), b"3");
}

#[test]
fn duplicates_are_in_document_order_across_nesting() {
    let src = br#"{"a":{"b":1,"b":2},"a":3}"#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let seconds: Vec<_> = tape.duplicates().iter().map(|d| d.second.start).collect();
    assert_eq!(seconds, [12, 19]);
    assert_eq!(tape.root().get("a").unwrap().kind(), Kind::Number);
}

#[test]
fn duplicates_in_large_objects_are_found_by_sorting() {
    let mut src = String::from("{");
    for i in 0..40 {
        src.push_str(&format!("\"k{i}\":{i},"));
    }
    src.push_str("\"k5\":\"again\",\"k\\u0037\":\"escaped\",\"k5\":\"third\"}");
    let mut tape = Tape::new();
    parse(src.as_bytes(), &mut tape).unwrap();
    let root = tape.root();
    assert_eq!(root.len(), 43);
    let text = |span: &Span| &src[span.clone()];
    let pairs: Vec<_> = tape
        .duplicates()
        .iter()
        .map(|d| (text(&d.first), text(&d.second)))
        .collect();
    assert_eq!(
        pairs,
        [
            ("\"k5\"", "\"k5\""),
            ("\"k7\"", "\"k\\u0037\""),
            ("\"k5\"", "\"k5\"")
        ]
    );
    assert_eq!(tape.duplicates()[0].first, tape.duplicates()[2].first);
    assert_eq!(root.get("k5").unwrap().as_str().unwrap(), "third");
    assert_eq!(root.get("k7").unwrap().as_str().unwrap(), "escaped");
    assert_eq!(root.get("k39").unwrap().as_f64(), Some(39.0));
    assert!(root.get("k40").is_none());
}

#[test]
fn no_false_duplicates_between_similar_keys() {
    let src = br#"{"ab":1,"ba":2,"a\u0062c":3,"abc":4,"a\"":5,"a\\":6,"":7,"\u0000":8}"#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    assert_eq!(tape.duplicates().len(), 1, "only abc twice");
    assert_eq!(tape.root().get("abc").unwrap().raw(), b"4");
    assert_eq!(tape.root().get("a\"").unwrap().raw(), b"5");
    assert_eq!(tape.root().get("a\\").unwrap().raw(), b"6");
    assert_eq!(tape.root().get("").unwrap().raw(), b"7");
    assert_eq!(tape.root().get("\0").unwrap().raw(), b"8");
}

#[test]
fn deep_arrays_parse_without_recursion() {
    let depth = 100_000;
    let src = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut tape = Tape::new();
    parse(src.as_bytes(), &mut tape).unwrap();
    assert_eq!(tape.len(), depth);
    let deepest = tape.root().elements().next().unwrap();
    assert_eq!(deepest.span(), 1..src.len() - 1);
    let truncated = &src.as_bytes()[..src.len() - 1];
    assert_eq!(run(truncated).unwrap_err().kind, ErrorKind::UnexpectedEnd);
    let mut count = 0;
    stream_root_array(src.as_bytes(), &mut tape, |_, v| {
        count += 1;
        assert_eq!(v.kind(), Kind::Array);
    })
    .unwrap();
    assert_eq!((count, tape.len()), (1, depth - 1));
}

#[test]
fn deep_objects_parse_without_recursion() {
    let depth = 100_000;
    let src = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let mut tape = Tape::new();
    parse(src.as_bytes(), &mut tape).unwrap();
    assert_eq!(tape.len(), depth + 1);
    let mut ptr = "/a".repeat(depth);
    let leaf = tape.pointer(&ptr).unwrap();
    assert_eq!(leaf.as_f64(), Some(1.0));
    assert_eq!(leaf.pointer(), ptr);
    ptr.push_str("/a");
    assert!(tape.pointer(&ptr).is_none());
}

#[test]
fn pointers_follow_rfc_6901_and_last_wins() {
    let src = br#"[{"execute":{"type":"prompt"},"a/b":1,"m~n":2,"k":1,"k":2,"":3,"arr":[10,11]}]"#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let at = |p: &str| {
        tape.pointer(p)
            .map(|v| String::from_utf8_lossy(v.raw()).into_owned())
    };
    assert_eq!(at("/0/execute/type").as_deref(), Some("\"prompt\""));
    assert_eq!(at("/0/a~1b").as_deref(), Some("1"));
    assert_eq!(at("/0/m~0n").as_deref(), Some("2"));
    assert_eq!(at("/0/k").as_deref(), Some("2"));
    assert_eq!(at("/0/").as_deref(), Some("3"));
    assert_eq!(at("/0/arr/1").as_deref(), Some("11"));
    assert_eq!(at("").as_deref(), Some(std::str::from_utf8(src).unwrap()));
    for missing in [
        "/1",
        "/01",
        "/-",
        "/+0",
        "/0/arr/2",
        "/0/arr/01",
        "x",
        "/0/execute/type/x",
        "/0/~2",
        "/0/m~n",
        "/0/nope",
        "/99999999999999999999999",
    ] {
        assert_eq!(at(missing), None, "{missing}");
    }
    let ty = tape.pointer("/0/execute/type").unwrap();
    assert_eq!(ty.pointer(), "/0/execute/type");
    assert_eq!(tape.pointer("/0/a~1b").unwrap().pointer(), "/0/a~1b");
    assert_eq!(tape.pointer("/0/m~0n").unwrap().pointer(), "/0/m~0n");
    assert_eq!(tape.pointer("/0/arr/1").unwrap().pointer(), "/0/arr/1");
    assert_eq!(tape.root().pointer(), "");
    assert!(Tape::new().pointer("").is_none());
}

#[test]
fn value_accessors() {
    let src =
        br#"{"s":"x\ty","b":true,"f":false,"n":null,"num":-1.5e3,"big":1e400,"o":{"k":[1,"2"]}}"#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let root = tape.root();
    let get = |k| root.get(k).unwrap();
    assert_eq!(root.kind(), Kind::Object);
    assert_eq!(root.len(), 7);
    assert_eq!(root.span(), 0..src.len());
    assert_eq!(root.key_span(), None);
    assert!(matches!(get("s").as_str(), Some(Cow::Owned(s)) if s == "x\ty"));
    assert_eq!(get("s").raw(), br#""x\ty""#);
    assert_eq!(get("s").key_span(), Some(1..4));
    assert_eq!(get("s").key().as_deref(), Some("s"));
    assert_eq!(get("b").as_bool(), Some(true));
    assert_eq!(get("f").as_bool(), Some(false));
    assert!(get("n").is_null());
    assert_eq!(get("num").as_f64(), Some(-1500.0));
    assert_eq!(get("big").as_f64(), Some(f64::INFINITY));
    assert_eq!(get("s").as_f64(), None);
    assert_eq!(get("num").as_str(), None);
    assert_eq!(get("n").as_bool(), None);
    let inner = get("o").get("k").unwrap();
    assert_eq!(inner.len(), 2);
    let kinds: Vec<_> = inner.elements().map(|v| v.kind()).collect();
    assert_eq!(kinds, [Kind::Number, Kind::String]);
    assert_eq!(inner.members().count(), 0);
    assert_eq!(root.elements().count(), 0);
    assert!(inner.get("0").is_none());
    assert!(get("num").is_empty());
    assert_eq!(get("num").elements().count(), 0);
    let members: Vec<_> = root
        .members()
        .map(|(k, v)| (k.into_owned(), v.kind()))
        .collect();
    assert_eq!(members[0], ("s".to_string(), Kind::String));
    assert_eq!(members[6], ("o".to_string(), Kind::Object));
    assert_eq!(tape.pointer("/o/k/1").unwrap().pointer(), "/o/k/1");
    assert_eq!(
        format!("{:?}", get("b")),
        "Value { kind: Bool, span: 16..20, raw: \"true\" }"
    );
}

#[test]
fn an_unparsed_tape_never_panics() {
    let tape = Tape::new();
    let root = tape.root();
    assert!(tape.is_empty());
    assert_eq!(root.kind(), Kind::Null);
    assert_eq!(root.span(), 0..0);
    assert_eq!(root.raw(), b"");
    assert_eq!(root.pointer(), "");
    assert_eq!(root.elements().count(), 0);
    assert_eq!(root.source_range(0..5), 0..0);
    let mut tape = Tape::new();
    assert!(parse(b"[1,", &mut tape).is_err());
    let _ = tape.root().elements().map(|v| v.raw().len()).sum::<usize>();
}

#[test]
fn recycled_tapes_parse_other_sources() {
    let first = br#"{"a":[1,2,3]}"#.to_vec();
    let mut tape = Tape::new();
    parse(&first, &mut tape).unwrap();
    let capacity = tape.nodes.capacity();
    let second = b"[true]".to_vec();
    let mut tape = tape.recycle();
    assert!(tape.is_empty());
    parse(&second, &mut tape).unwrap();
    assert_eq!(tape.source(), b"[true]");
    assert_eq!(tape.nodes.capacity(), capacity);
    assert_eq!(tape.pointer("/0").unwrap().as_bool(), Some(true));
}

#[test]
fn source_range_maps_decoded_offsets_through_escapes() {
    let src = br#""a\tb c""#;
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let v = tape.root();
    let decoded = v.as_str().unwrap();
    let c = decoded.find('c').unwrap();
    assert_eq!((c, v.source_range(c..c + 1)), (4, 6..7));
    assert_eq!(v.source_range(1..2), 2..4, "the tab is the 2-byte escape");
    assert_eq!(v.source_range(0..2), 1..4);
    assert_eq!(v.source_range(2..5), 4..7);
    assert_eq!(v.source_range(0..0), 1..1);
    assert_eq!(v.source_range(5..5), 7..7);
    assert_eq!(v.source_range(3..100), 5..7, "clamped to the body");
    assert_eq!(v.source_range(50..60), 7..7);
    let reversed = Span { start: 4, end: 2 };
    assert_eq!(v.source_range(reversed), 6..6);

    let src = br#"{"cron":"\ud83d\ude00x\u00e9 */5 * * * *"}"#;
    parse(src, &mut tape).unwrap();
    let v = tape.pointer("/cron").unwrap();
    let decoded = v.as_str().unwrap();
    assert_eq!(decoded, "😀xé */5 * * * *");
    let star = decoded.find("*/5").unwrap();
    let span = v.source_range(star..star + 3);
    assert_eq!(&src[span], b"*/5");
    assert_eq!(
        &src[v.source_range(1..3)],
        br"\ud83d\ude00",
        "inside a pair widens to it"
    );
    assert_eq!(&src[v.source_range(0..4)], br"\ud83d\ude00");
    assert_eq!(&src[v.source_range(4..5)], b"x");
    assert_eq!(v.source_range(0..1), v.source_range(0..4));

    let src = b"[\"a\xffb\", 1]";
    parse(src, &mut tape).unwrap();
    let s = tape.pointer("/0").unwrap();
    assert_eq!(
        s.source_range(1..4),
        3..4,
        "U+FFFD maps to the invalid byte"
    );
    assert_eq!(s.source_range(4..5), 4..5);
    let n = tape.pointer("/1").unwrap();
    assert_eq!(n.source_range(0..1), n.span());
}

#[test]
fn line_col_counts_like_an_editor() {
    let src = b"ab\ncd";
    let lc: Vec<_> = (0..=5).map(|o| line_col(src, o)).collect();
    assert_eq!(lc, [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]);
    assert_eq!(line_col(src, 99), (2, 3), "clamped");

    let bom = b"\xEF\xBB\xBF{x\ny";
    assert_eq!(line_col(bom, 0), (1, 1));
    assert_eq!(line_col(bom, 2), (1, 1));
    assert_eq!(line_col(bom, 3), (1, 1));
    assert_eq!(line_col(bom, 4), (1, 2));
    assert_eq!(line_col(bom, 6), (2, 1));
    assert_eq!(line_col(bom, 7), (2, 2));

    let crlf = b"a\r\nb\r\n";
    assert_eq!(line_col(crlf, 1), (1, 2), "CR is a column");
    assert_eq!(line_col(crlf, 3), (2, 1));
    assert_eq!(line_col(crlf, 6), (3, 1));

    let multi = "é€😀x".as_bytes();
    assert_eq!(line_col(multi, 9), (1, 4));
    assert_eq!(line_col(multi, 2), (1, 2));
    assert_eq!(line_col(multi, 1), (1, 1), "inside é");
    assert_eq!(line_col(multi, 7), (1, 3), "inside the emoji");

    let invalid = b"\xff\xe2\x82x\n\xc0\xafy";
    assert_eq!(line_col(invalid, 1), (1, 2));
    assert_eq!(line_col(invalid, 3), (1, 3), "E2 82 is one U+FFFD");
    assert_eq!(line_col(invalid, 2), (1, 2));
    assert_eq!(line_col(invalid, 7), (2, 3), "C0 AF is two U+FFFD");
}

#[test]
fn js_trim_matches_string_prototype_trim() {
    assert_eq!(js_trim("\u{feff} a \u{3000}"), "a");
    assert_eq!(
        js_trim("\t\n\u{b}\u{c}\r a\u{a0}\u{1680}\u{2000}\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}"),
        "a"
    );
    assert_eq!(js_trim("\u{85}a"), "\u{85}a");
    assert_eq!(js_trim("\u{200b}a"), "\u{200b}a");
    assert_eq!(js_trim("\u{1c}a\u{1f}"), "\u{1c}a\u{1f}");
    assert_eq!(js_trim(""), "");
    assert!(is_js_whitespace('\u{feff}'));
    assert!(!is_js_whitespace('\u{85}'));
    assert!(!is_js_whitespace('\u{180e}'));
    let js = (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|&c| is_js_whitespace(c))
        .count();
    assert_eq!(js, 25);
}

#[test]
fn strings_stop_at_the_first_special_byte_wherever_it_falls() {
    // Every offset in and across the 16-byte steps of the plain-byte skip.
    for lead in 0..40 {
        for (special, decoded) in [("\\\"", "\""), ("\\n", "\n"), ("é", "é"), ("\"", "")] {
            let plain = "a".repeat(lead);
            let tail = if special == "\"" {
                ""
            } else {
                "bcdefghijklmnopqrstu\""
            };
            let src = format!("\"{plain}{special}{tail}");
            let mut tape = Tape::new();
            parse(src.as_bytes(), &mut tape).unwrap();
            let expected = format!("{plain}{decoded}{}", tail.trim_end_matches('"'));
            assert_eq!(
                tape.root().as_str().unwrap(),
                expected,
                "lead {lead}, {special}"
            );
            assert_eq!(tape.root().span(), 0..src.len());
        }
        let control = format!("\"{}\u{1}\"", "a".repeat(lead));
        assert!(
            parse(control.as_bytes(), &mut Tape::new()).is_err(),
            "lead {lead}"
        );
    }
}

#[test]
fn nonblank_strings_are_judged_as_decoded_and_trimmed() {
    let src = "[\"a\", \" a\", \"\\u0020\", \"\\n\\t\", \"\\u0041\", \"\u{a0}\u{3000}\", \"\u{a0}x\", \"\", 1, null, [\"x\"], \"\\\\\"]";
    let mut tape = Tape::new();
    parse(src.as_bytes(), &mut tape).unwrap();
    let verdicts: Vec<bool> = tape
        .root()
        .elements()
        .map(|v| v.is_nonblank_string())
        .collect();
    assert_eq!(
        verdicts,
        [true, true, false, false, true, false, true, false, false, false, false, true]
    );
    // Invalid UTF-8 decodes to U+FFFD, which is not whitespace.
    parse(b"\"\xff\"", &mut tape).unwrap();
    assert!(tape.root().is_nonblank_string());
}

#[test]
fn member_key_bytes_borrow_plain_keys_and_decode_the_rest() {
    let src = b"{\"plain\": 1, \"a\\u0062\": 2, \"k\xff\": 3}";
    let mut tape = Tape::new();
    parse(src, &mut tape).unwrap();
    let keys: Vec<_> = tape.root().member_key_bytes().map(|(k, _)| k).collect();
    assert_eq!(keys[0], Cow::Borrowed(&b"plain"[..]));
    assert!(matches!(keys[0], Cow::Borrowed(_)));
    assert_eq!(&*keys[1], b"ab");
    assert_eq!(&*keys[2], "k\u{FFFD}".as_bytes());
    assert_eq!(tape.root().elements().count(), 0);
    parse(b"[1]", &mut tape).unwrap();
    assert_eq!(tape.root().member_key_bytes().count(), 0);
}

#[test]
fn stream_root_array_delivers_each_element() {
    let src = b" [ {\"a\":1,\"a\":2}, [2, {\"b\":\"x\"}], \"s\\u0041\", {\"c\":\"\xff\"} ] ";
    let mut tape = Tape::new();
    let mut seen = Vec::new();
    let (outcome, shape) = stream_root_array(src, &mut tape, |i, v| {
        let dup = v.pointer().len(); // the element is the tape's root
        seen.push((i, v.kind(), v.span(), dup));
    })
    .unwrap();
    assert!(!outcome.bom);
    assert_eq!(
        shape,
        RootShape::Array {
            len: 4,
            span: 1..src.len() - 1
        }
    );
    let kinds: Vec<_> = seen.iter().map(|s| s.1).collect();
    assert_eq!(
        kinds,
        [Kind::Object, Kind::Array, Kind::String, Kind::Object]
    );
    assert_eq!(seen[0].2, 3..16);
    assert!(seen.iter().all(|s| s.3 == 0));
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
}

#[test]
fn streamed_elements_have_their_own_duplicates_and_relative_pointers() {
    let src = b"[{\"a\":1,\"a\":2},{\"b\":[{\"c\":\"\xff\"}]}]";
    let mut tape = Tape::new();
    let mut report = Vec::new();
    stream_root_array(src, &mut tape, |i, v| {
        let tape = v.tape();
        report.push((
            i,
            v.span(),
            v.get("a").map(|a| a.raw().to_vec()),
            tape.duplicates().to_vec(),
            tape.invalid_utf8().to_vec(),
            tape.pointer("/b/0/c").map(|c| c.pointer()),
        ));
    })
    .unwrap();
    let dup = Duplicate {
        first: 2..5,
        second: 8..11,
    };
    assert_eq!(
        report[0],
        (0, 1..14, Some(b"2".to_vec()), vec![dup], vec![], None)
    );
    let c = Some("/b/0/c".to_string());
    assert_eq!(
        report[1],
        (1, 15..src.len() - 1, None, vec![], vec![27..28], c)
    );
}

#[test]
fn streamed_tape_state_is_per_element() {
    let src = b"[{\"a\":1,\"a\":2},{\"b\":[{\"c\":\"\xff\"}]}]";
    let mut tape = Tape::new();
    let mut results = Vec::new();
    {
        let mut state = Vec::new();
        let mut spans = Vec::new();
        stream_root_array(src, &mut tape, |i, v| {
            spans.push((i, v.span()));
            state.push(
                v.get("b")
                    .and_then(|b| b.elements().next())
                    .map(|e| e.pointer()),
            );
        })
        .unwrap();
        results.push((state, spans));
    }
    // After streaming, the tape holds the last element, with absolute spans.
    assert_eq!(tape.duplicates(), &[]);
    assert_eq!(tape.invalid_utf8(), &[27..28]);
    assert_eq!(tape.root().span(), 15..src.len() - 1);
    let (state, spans) = &results[0];
    assert_eq!(state, &[None, Some("/b/0".to_string())]);
    assert_eq!(spans, &[(0, 1..14), (1, 15..src.len() - 1)]);
}

#[test]
fn stream_root_array_handles_other_shapes_and_errors() {
    let mut tape = Tape::new();
    let r = stream_root_array(b"{\"a\":[1]}", &mut tape, |_, _| panic!("not an array"));
    assert_eq!(r.unwrap().1, RootShape::NotArray);
    assert_eq!(tape.pointer("/a/0").unwrap().raw(), b"1");

    let r = stream_root_array(b" [ ] ", &mut tape, |_, _| panic!("empty"));
    assert_eq!(r.unwrap().1, RootShape::Array { len: 0, span: 1..4 });

    let r = stream_root_array(b"\xEF\xBB\xBF[1]", &mut tape, |_, _| {});
    assert_eq!(
        r.unwrap(),
        (
            ParseOutcome { bom: true },
            RootShape::Array { len: 1, span: 3..6 }
        )
    );

    let mut delivered = Vec::new();
    let r = stream_root_array(b"[1, 2, {\"a\" 3}]", &mut tape, |i, _| delivered.push(i));
    assert_eq!(r.unwrap_err().kind, ErrorKind::UnexpectedChar);
    assert_eq!(delivered, [0, 1]);

    let r = stream_root_array(b"[1] [2]", &mut tape, |_, _| {});
    assert_eq!(r.unwrap_err().span, 4..5);
    let r = stream_root_array(b"[1 2]", &mut tape, |_, _| {});
    assert_eq!(r.unwrap_err().span, 3..4);
    let r = stream_root_array(b"[1,\n<<<<<<< HEAD\n2]", &mut tape, |_, _| {});
    assert_eq!(r.unwrap_err().kind, ErrorKind::ConflictMarker);
    let r = stream_root_array(b"\"x\" 1", &mut tape, |_, _| {});
    assert_eq!(r.unwrap_err().kind, ErrorKind::TrailingContent);
}

#[test]
fn nodes_stay_compact() {
    assert!(std::mem::size_of::<value::Node>() <= 32);
}

// ---- property tests against serde_json ----------------------------------

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(J::Number),
        any::<String>().prop_map(J::String),
        "[a-z\\\\\"/\u{0}-\u{1f}\u{7f}-\u{10ffff}]{0,12}".prop_map(J::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(J::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

/// Compares our tape with serde's value without recursion. Numbers compare
/// within `tolerance` ulps-ish (serde's own float parse is not always exact).
fn same_structure(ours: Value<'_>, theirs: &serde_json::Value, exact: bool) -> Result<(), String> {
    use serde_json::Value as J;
    let mut stack = vec![(ours, theirs)];
    while let Some((o, t)) = stack.pop() {
        let at = o.pointer();
        match t {
            J::Null if o.is_null() => {}
            J::Bool(b) if o.as_bool() == Some(*b) => {}
            J::Number(n) => {
                let (a, b) = (
                    o.as_f64().ok_or(format!("{at}: not a number"))?,
                    n.as_f64().unwrap(),
                );
                // serde_json (without float_roundtrip) may be a few ulps off.
                let ulps = (a.to_bits() as i64)
                    .wrapping_sub(b.to_bits() as i64)
                    .unsigned_abs();
                let close = a == b || (!exact && a.signum() == b.signum() && ulps <= 2);
                if !close {
                    return Err(format!("{at}: {a} != {b}"));
                }
            }
            J::String(s) if o.as_str().as_deref() == Some(s.as_str()) => {}
            J::Array(items) if o.kind() == Kind::Array && o.len() == items.len() => {
                stack.extend(o.elements().zip(items));
            }
            J::Object(map) if o.kind() == Kind::Object => {
                for (k, v) in map {
                    let mine = o.get(k).ok_or(format!("{at}: missing key {k:?}"))?;
                    stack.push((mine, v));
                }
                let distinct: std::collections::BTreeSet<_> = o.members().map(|(k, _)| k).collect();
                if distinct.len() != map.len() {
                    return Err(format!("{at}: {} keys vs {}", distinct.len(), map.len()));
                }
            }
            _ => return Err(format!("{at}: {:?} vs {t}", o.kind())),
        }
    }
    Ok(())
}

/// Differences from serde_json that are JSON.parse's behaviour, not bugs.
fn known_serde_difference(src: &[u8], serde_err: &serde_json::Error) -> bool {
    let msg = serde_err.to_string();
    src.starts_with(b"\xEF\xBB\xBF")
        || [
            "number out of range",
            "hex escape",
            "invalid unicode code point",
            "recursion limit",
        ]
        .iter()
        .any(|m| msg.contains(m))
}

fn check_against_serde(src: &[u8]) -> Result<(), TestCaseError> {
    let mut tape = Tape::new();
    let ours = parse(src, &mut tape);
    match (serde_json::from_slice::<serde_json::Value>(src), &ours) {
        (Ok(theirs), Ok(_)) => {
            same_structure(tape.root(), &theirs, false).map_err(TestCaseError::fail)?;
        }
        (Ok(_), Err(e)) => {
            return Err(TestCaseError::fail(format!("serde accepts, we say {e:?}")));
        }
        (Err(se), Ok(_)) => {
            prop_assert!(
                known_serde_difference(src, &se),
                "we accept, serde says {se}"
            );
        }
        (Err(_), Err(e)) => {
            prop_assert!(
                e.span.start <= e.span.end && e.span.end <= src.len(),
                "{e:?}"
            );
        }
    }
    // Streaming must agree with parsing on the verdict.
    let streamed = stream_root_array(src, &mut tape, |_, v| {
        let _ = v.pointer();
    });
    prop_assert_eq!(streamed.is_ok(), ours.is_ok());
    if let (Err(a), Err(b)) = (streamed, ours) {
        prop_assert_eq!(a.kind, b.kind);
    }
    Ok(())
}

fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"{}[]\":,0123456789-+.eEtrufalsn \n\t\\u/'*abcdNI<=>\x00\x0b\x1f\x7f\xc3\xa9\xff\xef\xbb\xbf\xe2\x80\xa8"
        .to_vec();
    let tokens: Vec<&'static [u8]> = vec![
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"a\"",
        b"\"\\u0061\"",
        b"\"\\ud800\"",
        b"\"\xff\"",
        b"\"\\n\"",
        b"1",
        b"-0.5e3",
        b"1e400",
        b"true",
        b"null",
        b" ",
        b"\n",
        b"01",
        b"1.",
        b"NaN",
        b"//c\n",
        b"'x'",
        b"\x0b",
        b"\"\\x\"",
        b"\"",
    ];
    prop_oneof![
        prop::collection::vec(prop::sample::select(alphabet), 0..48),
        prop::collection::vec(any::<u8>(), 0..24),
        prop::collection::vec(prop::sample::select(tokens), 0..24).prop_map(|t| t.concat()),
    ]
}

/// Well-formed structure with leaves, keys and separators drawn from lists
/// that mix valid and invalid spellings: most outputs are near misses.
fn near_json() -> impl Strategy<Value = Vec<u8>> {
    let leaves: Vec<&'static [u8]> = vec![
        b"1",
        b"-0",
        b"0.5",
        b"1e400",
        b"-1E-400",
        b"123456789012345678901234567890",
        b"true",
        b"false",
        b"null",
        b"\"\"",
        b"\"x\"",
        b"\"\\ud800\"",
        b"\"\\udc00\\ud800\"",
        b"\"\\ud83d\\ude00\"",
        b"\"\xff\xfe\"",
        b"\"\xc3\xa9\"",
        b"\"\\u00e9\\/\\b\"",
        b"\"\\u0000\"",
        b"01",
        b"1.",
        b".5",
        b"+1",
        b"NaN",
        b"-Infinity",
        b"'s'",
        b"\"\t\"",
        b"\"\\a\"",
        b"tru",
        b"[]",
        b"{}",
        b"\"\x7f\"",
    ];
    let keys: Vec<&'static [u8]> = vec![
        b"\"a\"",
        b"\"b\"",
        b"\"\\u0061\"",
        b"\"\xff\"",
        b"\"\\ud800\"",
        b"a",
        b"\"\"",
    ];
    let seps: Vec<&'static [u8]> = vec![b",", b", ", b",\n  ", b"\r\n,", b",\t", b",,", b" , "];
    let ws: Vec<&'static [u8]> = vec![b"", b"", b" ", b"\n", b"\xc2\xa0", b"/**/"];
    let leaf = prop::sample::select(leaves).prop_map(<[u8]>::to_vec);
    let tree = leaf.prop_recursive(5, 48, 6, move |inner| {
        let (keys, seps2) = (keys.clone(), seps.clone());
        let sep = prop::sample::select(seps.clone());
        prop_oneof![
            (
                prop::collection::vec((inner.clone(), sep.clone()), 0..6),
                any::<bool>()
            )
                .prop_map(|(items, trailing)| {
                    let mut out = b"[".to_vec();
                    join(
                        &mut out,
                        items.iter().map(|(v, s)| (v.clone(), *s)),
                        trailing,
                    );
                    out.push(b']');
                    out
                }),
            (
                prop::collection::vec(
                    (
                        prop::sample::select(keys),
                        inner,
                        prop::sample::select(seps2)
                    ),
                    0..6
                ),
                any::<bool>()
            )
                .prop_map(|(members, trailing)| {
                    let mut out = b"{".to_vec();
                    let items = members.iter().map(|(k, v, s)| ([*k, b":", v].concat(), *s));
                    join(&mut out, items, trailing);
                    out.push(b'}');
                    out
                }),
        ]
    });
    (
        prop::sample::select(ws.clone()),
        tree,
        prop::sample::select(ws),
    )
        .prop_map(|(a, t, b)| [a, &t, b].concat())
}

/// Joins items with their separators; a trailing separator only on request
/// (and only rarely, so most documents stay valid).
fn join(out: &mut Vec<u8>, items: impl Iterator<Item = (Vec<u8>, &'static [u8])>, trailing: bool) {
    let items: Vec<_> = items.collect();
    for (i, (item, sep)) in items.iter().enumerate() {
        out.extend_from_slice(item);
        if i + 1 < items.len() {
            out.extend_from_slice(if sep == b",," { b"," } else { sep });
        } else if trailing && *sep == b",," {
            out.push(b',');
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn serde_output_round_trips(value in arb_json(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.unwrap();
        let mut tape = Tape::new();
        prop_assert_eq!(parse(&text, &mut tape), Ok(ParseOutcome { bom: false }));
        same_structure(tape.root(), &value, true).map_err(TestCaseError::fail)?;
        prop_assert!(tape.duplicates().is_empty());
        prop_assert!(tape.invalid_utf8().is_empty());
        // Every node's pointer resolves back to itself.
        let mut stack = vec![tape.root()];
        while let Some(v) = stack.pop() {
            let found = tape.pointer(&v.pointer()).map(|f| f.span());
            prop_assert_eq!(found, Some(v.span()));
            stack.extend(v.elements());
            stack.extend(v.members().map(|(_, m)| m));
        }
    }

    /// The shortcut on a string's first byte agrees with decoding and trimming it.
    #[test]
    fn nonblank_agrees_with_decode_and_trim(text in "[ \\t\\n\u{a0}\u{3000}\u{feff}a\u{e9}\\\\\"]{0,6}") {
        let encoded = serde_json::to_vec(&text).unwrap();
        let mut tape = Tape::new();
        parse(&encoded, &mut tape).unwrap();
        prop_assert_eq!(tape.root().is_nonblank_string(), !js_trim(&text).is_empty());
    }

    #[test]
    fn streaming_matches_parsing(items in prop::collection::vec(arb_json(), 0..6), pretty in any::<bool>()) {
        let value = serde_json::Value::Array(items);
        let text = if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.unwrap();
        let mut whole = Tape::new();
        parse(&text, &mut whole).unwrap();
        let expected: Vec<_> = whole.root().elements().map(|v| (v.span(), v.kind(), v.raw().to_vec())).collect();
        let mut tape = Tape::new();
        let mut got = Vec::new();
        let (_, shape) = stream_root_array(&text, &mut tape, |i, v| {
            let theirs = &value[i];
            assert!(same_structure(v, theirs, true).is_ok());
            got.push((v.span(), v.kind(), v.raw().to_vec()));
        }).unwrap();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(shape, RootShape::Array { len: whole.root().len(), span: whole.root().span() });
    }

    #[test]
    fn arbitrary_bytes_agree_with_serde(src in jsonish_bytes()) {
        check_against_serde(&src)?;
    }

    #[test]
    fn near_json_agrees_with_serde(src in near_json()) {
        check_against_serde(&src)?;
    }

    #[test]
    fn mutated_documents_agree_with_serde(
        value in arb_json(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
    ) {
        let mut src = serde_json::to_vec(&value).unwrap();
        for (at, op, byte) in edits {
            let i = at.index(src.len() + 1);
            match op {
                0 => src.insert(i, byte),
                1 if i < src.len() => { src.remove(i); }
                _ if i < src.len() => src[i] = byte,
                _ => src.push(byte),
            }
        }
        check_against_serde(&src)?;
    }

    #[test]
    fn source_range_slices_decode_to_the_substring(s in any::<String>(), extra in "[\\\\\"\n\t\u{0}-\u{1f}\u{e9}\u{1f600}]{0,6}") {
        let s = format!("{s}{extra}{s}");
        let text = serde_json::to_vec(&s).unwrap();
        let mut tape = Tape::new();
        parse(&text, &mut tape).unwrap();
        let v = tape.root();
        prop_assert_eq!(v.as_str().unwrap(), s.as_str());
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        for (a, &start) in bounds.iter().enumerate() {
            for &end in bounds.iter().skip(a).take(4) {
                let span = v.source_range(start..end);
                let decoded = text::decode(&text[span]);
                prop_assert_eq!(decoded.as_str(), &s[start..end]);
            }
        }
    }

    #[test]
    fn decode_agrees_with_pieces(body in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\\'), Just(b'u'), Just(b'd'), Just(b'8')], 0..40)) {
        let pieces: String = text::Pieces::new(&body).map(|(_, t)| match t {
            text::Text::Str(s) => s.to_string(),
            text::Text::Char(c) => c.to_string(),
        }).collect();
        prop_assert_eq!(text::decode(&body), pieces);
        if !body.contains(&b'\\') {
            prop_assert_eq!(text::decode(&body), String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn line_col_matches_a_naive_count(src in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(0xc3), Just(0xa9)], 0..40)) {
        // Offsets at decoded-unit boundaries, as the scanner produces them.
        let mut boundaries = vec![0];
        let mut at = 0;
        for chunk in src.utf8_chunks() {
            for c in chunk.valid().chars() { at += c.len_utf8(); boundaries.push(at); }
            if !chunk.invalid().is_empty() { at += chunk.invalid().len(); boundaries.push(at); }
        }
        for &offset in &boundaries {
            let before = &src[..offset];
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let mut text = String::from_utf8_lossy(&src[start..offset]).into_owned();
            if start == 0 && src.starts_with(b"\xEF\xBB\xBF") {
                text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
            }
            prop_assert_eq!(line_col(&src, offset), (line, 1 + text.chars().count()), "offset {}", offset);
        }
    }

    #[test]
    fn never_panics_and_spans_stay_in_bounds(src in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut tape = Tape::new();
        match parse(&src, &mut tape) {
            Ok(_) => {
                let mut stack = vec![tape.root()];
                while let Some(v) = stack.pop() {
                    prop_assert!(v.span().end <= src.len());
                    let _ = (v.as_str(), v.as_f64(), v.pointer(), v.source_range(0..3));
                    stack.extend(v.elements());
                    stack.extend(v.members().map(|(_, m)| m));
                }
            }
            Err(e) => prop_assert!(e.span.start <= e.span.end && e.span.end <= src.len()),
        }
        for offset in 0..=src.len() + 1 {
            let _ = line_col(&src, offset);
        }
    }
}

// ---- whitespace runs (the scanner skips indentation a word at a time) -----

/// `compact` (serde's compact output) with a whitespace run from `runs` after every
/// structural byte outside strings, taken in turn: indentation of every length around the
/// word-at-a-time skip's edges, tabs, CRLF, and a lone space after colons.
fn with_whitespace(compact: &[u8], runs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut runs = runs.iter().cycle();
    let (mut in_string, mut escaped) = (false, false);
    for &b in compact {
        out.push(b);
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':') {
            if let Some(run) = runs.next() {
                out.extend_from_slice(run);
            }
        }
    }
    out
}

fn whitespace_run() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0usize..40).prop_map(|n| vec![b' '; n]),
        (0usize..30).prop_map(|n| [&b"\n"[..], &vec![b' '; n]].concat()),
        (0usize..30).prop_map(|n| [&b"\r\n"[..], &vec![b' '; n], b"\t"].concat()),
        prop::collection::vec(prop::sample::select(vec![b' ', b'\t', b'\n', b'\r']), 0..24),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any layout of whitespace between tokens: the same verdict and values as serde_json,
    /// and every node's span starts and ends on its own bytes, never on whitespace.
    #[test]
    fn whitespace_runs_agree_with_serde(
        value in arb_json(),
        runs in prop::collection::vec(whitespace_run(), 1..8),
        before in whitespace_run(),
    ) {
        let compact = serde_json::to_vec(&value).unwrap();
        let src = [before, with_whitespace(&compact, &runs)].concat();
        let theirs: serde_json::Value = serde_json::from_slice(&src).unwrap();
        prop_assert_eq!(&theirs, &value);
        let mut tape = Tape::new();
        prop_assert_eq!(parse(&src, &mut tape), Ok(ParseOutcome { bom: false }));
        same_structure(tape.root(), &theirs, true).map_err(TestCaseError::fail)?;
        let is_ws = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t' | b'\n' | b'\r'));
        let mut stack = vec![tape.root()];
        while let Some(v) = stack.pop() {
            let raw = v.raw();
            prop_assert!(!raw.is_empty() && !is_ws(raw.first()) && !is_ws(raw.last()), "{:?}", v.span());
            stack.extend(v.elements());
            stack.extend(v.members().map(|(_, m)| m));
        }
        check_against_serde(&src)?;
    }

    /// A byte that is not JSON whitespace after a run of spaces of any length is reported
    /// exactly where it stands, as serde_json refuses it too.
    #[test]
    fn a_stray_byte_after_spaces_is_found_where_it_is(
        spaces in 0usize..40,
        stray in prop::sample::select(vec![&b"\x0b"[..], b"\x0c", b"\xc2\xa0", b"\x00", b"x", b"/"]),
    ) {
        let src = [&b"[1,"[..], &vec![b' '; spaces], stray, b"2]"].concat();
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&src).is_err());
        let error = run(&src).unwrap_err();
        prop_assert_eq!(error.span.start, 3 + spaces, "{:?}", error);
    }
}
