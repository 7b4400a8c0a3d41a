//! Unit tests: MessagePack round trips and hostile input, manifest text, and the generated
//! wrappers run against the test double of the host.

use std::collections::{BTreeMap, HashMap};

use crate::msgpack::{self, MAX_DEPTH};
use crate::testing::call;
use crate::{AbiType, AbiTyped, DecodeError, Map, Value, from_msgpack, to_msgpack};

fn enc(v: &Value) -> Vec<u8> {
    v.to_msgpack()
}

fn roundtrip(v: Value) {
    let bytes = enc(&v);
    assert_eq!(Value::from_msgpack(&bytes), Ok(v.clone()), "{bytes:02x?}");
}

// ------------------------------------------------------------------------- MessagePack

#[test]
fn ints_use_the_shortest_format() {
    let cases: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0xcc, 0x80]),
        (255, &[0xcc, 0xff]),
        (256, &[0xcd, 0x01, 0x00]),
        (65535, &[0xcd, 0xff, 0xff]),
        (65536, &[0xce, 0x00, 0x01, 0x00, 0x00]),
        (4294967295, &[0xce, 0xff, 0xff, 0xff, 0xff]),
        (4294967296, &[0xd3, 0, 0, 0, 1, 0, 0, 0, 0]),
        (-1, &[0xff]),
        (-32, &[0xe0]),
        (-33, &[0xd0, 0xdf]),
        (-128, &[0xd0, 0x80]),
        (-129, &[0xd1, 0xff, 0x7f]),
        (-32768, &[0xd1, 0x80, 0x00]),
        (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
        (i64::from(i32::MIN), &[0xd2, 0x80, 0, 0, 0]),
        (
            i64::from(i32::MIN) - 1,
            &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff],
        ),
        (
            i64::MAX,
            &[0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for &(n, bytes) in cases {
        assert_eq!(enc(&Value::Int(n)), bytes, "{n}");
        roundtrip(Value::Int(n));
    }
}

#[test]
fn every_int_format_decodes() {
    let cases: &[(&[u8], i64)] = &[
        (&[0xcc, 0x05], 5),
        (&[0xcd, 0x00, 0x05], 5),
        (&[0xce, 0x00, 0x00, 0x00, 0x05], 5),
        (&[0xcf, 0, 0, 0, 0, 0, 0, 0, 5], 5),
        (
            &[0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            i64::MAX,
        ),
        (&[0xd0, 0x05], 5),
        (&[0xd1, 0x00, 0x05], 5),
        (&[0xd2, 0x00, 0x00, 0x00, 0x05], 5),
        (&[0xd3, 0, 0, 0, 0, 0, 0, 0, 5], 5),
        (&[0xd0, 0xfb], -5),
    ];
    for &(bytes, n) in cases {
        assert_eq!(from_msgpack::<i64>(bytes), Ok(n), "{bytes:02x?}");
        assert_eq!(Value::from_msgpack(bytes), Ok(Value::Int(n)));
    }
    assert_eq!(
        from_msgpack::<i64>(&[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::IntOutOfRange)
    );
}

#[test]
fn floats() {
    for f in [0.0, -0.0, 1.5, -2.25e300, f64::INFINITY, f64::MIN_POSITIVE] {
        let bytes = enc(&Value::Float(f));
        assert_eq!(bytes[0], 0xcb);
        assert_eq!(bytes.len(), 9);
        let back = from_msgpack::<f64>(&bytes).unwrap();
        assert_eq!(back.to_bits(), f.to_bits());
    }
    let nan = from_msgpack::<f64>(&enc(&Value::Float(f64::NAN))).unwrap();
    assert!(nan.is_nan());
    // float32 is accepted, and an int where a float is wanted.
    assert_eq!(from_msgpack::<f64>(&[0xca, 0x3f, 0xc0, 0, 0]), Ok(1.5));
    assert_eq!(
        Value::from_msgpack(&[0xca, 0x3f, 0xc0, 0, 0]),
        Ok(Value::Float(1.5))
    );
    assert_eq!(from_msgpack::<f64>(&[0x07]), Ok(7.0));
    assert_eq!(
        from_msgpack::<Vec<f64>>(&[0x92, 0x01, 0xd0, 0xfe]),
        Ok(vec![1.0, -2.0])
    );
}

#[test]
fn strings_bytes_and_containers_pick_the_right_header() {
    let s = |n: usize| "x".repeat(n);
    let cases: &[(usize, &[u8])] = &[
        (0, &[0xa0]),
        (31, &[0xbf]),
        (32, &[0xd9, 32]),
        (255, &[0xd9, 255]),
        (256, &[0xda, 1, 0]),
        (65535, &[0xda, 0xff, 0xff]),
        (65536, &[0xdb, 0, 1, 0, 0]),
    ];
    for &(n, head) in cases {
        let bytes = enc(&Value::Str(s(n)));
        assert_eq!(&bytes[..head.len()], head, "str {n}");
        assert_eq!(bytes.len(), head.len() + n);
        roundtrip(Value::Str(s(n)));
    }
    let cases: &[(usize, &[u8])] = &[
        (0, &[0xc4, 0]),
        (255, &[0xc4, 255]),
        (256, &[0xc5, 1, 0]),
        (65536, &[0xc6, 0, 1, 0, 0]),
    ];
    for &(n, head) in cases {
        let bytes = enc(&Value::Bytes(vec![7; n]));
        assert_eq!(&bytes[..head.len()], head, "bin {n}");
        roundtrip(Value::Bytes(vec![7; n]));
    }
    let cases: &[(usize, &[u8])] = &[
        (0, &[0x90]),
        (15, &[0x9f]),
        (16, &[0xdc, 0, 16]),
        (65536, &[0xdd, 0, 1, 0, 0]),
    ];
    for &(n, head) in cases {
        let bytes = enc(&Value::Array(vec![Value::Null; n]));
        assert_eq!(&bytes[..head.len()], head, "array {n}");
        roundtrip(Value::Array(vec![Value::Null; n]));
    }
    let map = |n: usize| {
        Value::Map(
            (0..n as i64)
                .map(|i| (Value::Int(i), Value::Null))
                .collect(),
        )
    };
    let cases: &[(usize, &[u8])] = &[
        (0, &[0x80]),
        (15, &[0x8f]),
        (16, &[0xde, 0, 16]),
        (65536, &[0xdf, 0, 1, 0, 0]),
    ];
    for &(n, head) in cases {
        let bytes = enc(&map(n));
        assert_eq!(&bytes[..head.len()], head, "map {n}");
        roundtrip(map(n));
    }
}

#[test]
fn nested_values_round_trip() {
    let v = Value::Array(vec![
        Value::Int(1),
        Value::Str("a".into()),
        Value::Array(vec![Value::Bool(true), Value::Null]),
        Value::Map(vec![(Value::Str("k".into()), Value::Float(2.5))]),
        Value::Bytes(vec![0, 255]),
        Value::Str("héllo a😀b".into()),
        Value::Map(vec![
            (Value::Int(-3), Value::Array(vec![])),
            (Value::Bool(false), Value::Map(vec![])),
        ]),
    ]);
    assert_eq!(
        enc(&v)[..20],
        [
            0x97, 0x01, 0xa1, b'a', 0x92, 0xc3, 0xc0, 0x81, 0xa1, b'k', 0xcb, 0x40, 0x04, 0, 0, 0,
            0, 0, 0, 0xc4
        ]
    );
    roundtrip(v);
    roundtrip(Value::Null);
    roundtrip(Value::Bool(false));
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    let cases: &[(&[u8], DecodeError)] = &[
        (&[], DecodeError::Truncated),
        (&[0xcd, 0x01], DecodeError::Truncated),
        (&[0xcb, 0, 0, 0], DecodeError::Truncated),
        (&[0xa3, b'a'], DecodeError::LengthTooLarge),
        (
            &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
            DecodeError::LengthTooLarge,
        ),
        (&[0xc6, 0xff, 0xff, 0xff, 0xff], DecodeError::LengthTooLarge),
        // Four billion elements promised, none present: refused before anything is reserved.
        (&[0xdd, 0xff, 0xff, 0xff, 0xff], DecodeError::LengthTooLarge),
        (
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0, 0],
            DecodeError::LengthTooLarge,
        ),
        (&[0x92, 0x01], DecodeError::LengthTooLarge),
        (&[0x92, 0xcd, 0x01], DecodeError::Truncated),
        (&[0x81, 0x01], DecodeError::LengthTooLarge),
        (&[0x81, 0x01, 0xd9], DecodeError::Truncated),
        (&[0xc1], DecodeError::Unsupported(0xc1)),
        (&[0xd4, 0x01, 0x00], DecodeError::Unsupported(0xd4)),
        (&[0xc7, 0x01, 0x01, 0x00], DecodeError::Unsupported(0xc7)),
        (&[0x91, 0xd8, 0, 0], DecodeError::Unsupported(0xd8)),
        (&[0xa2, 0xc3, 0x28], DecodeError::InvalidUtf8),
        (&[0xc0, 0xc0], DecodeError::TrailingBytes),
        (&[0x90, 0x00], DecodeError::TrailingBytes),
    ];
    for (bytes, err) in cases {
        assert_eq!(
            Value::from_msgpack(bytes).as_ref(),
            Err(err),
            "{bytes:02x?}"
        );
    }
    assert_eq!(
        from_msgpack::<Vec<i64>>(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::LengthTooLarge)
    );
    assert_eq!(
        from_msgpack::<String>(&[0xa2, 0xff, 0xfe]),
        Err(DecodeError::InvalidUtf8)
    );
}

#[test]
fn nesting_is_limited_like_the_host() {
    // 64 arrays around an int: the int is at depth 64, the limit.
    let mut ok = vec![0x91u8; MAX_DEPTH];
    ok.push(0x01);
    assert!(Value::from_msgpack(&ok).is_ok());
    assert!(from_msgpack::<Value>(&ok).is_ok());
    // An empty array at depth 64 is fine too; one element more is not.
    let mut ok = vec![0x91u8; MAX_DEPTH];
    ok.push(0x90);
    assert!(Value::from_msgpack(&ok).is_ok());
    let mut deep = vec![0x91u8; MAX_DEPTH + 1];
    deep.push(0x01);
    assert_eq!(Value::from_msgpack(&deep), Err(DecodeError::TooDeep));
    let mut deep_map = [0x81u8, 0x01].repeat(MAX_DEPTH + 1);
    deep_map.push(0x01);
    assert_eq!(Value::from_msgpack(&deep_map), Err(DecodeError::TooDeep));
    // Typed decoding counts the same way.
    type Deep = Vec<Vec<Vec<i64>>>;
    assert_eq!(
        from_msgpack::<Deep>(&[0x91, 0x91, 0x91, 0x05]),
        Ok(vec![vec![vec![5]]])
    );
    // A huge hostile nesting does not overflow the stack.
    let huge = vec![0x91u8; 1_000_000];
    assert_eq!(Value::from_msgpack(&huge), Err(DecodeError::TooDeep));
}

#[test]
fn typed_decoding_checks_types() {
    assert_eq!(
        from_msgpack::<Vec<i64>>(&[0x92, 0x01, 0xa1, b'x']),
        Err(DecodeError::Expected {
            expected: "int",
            found: "string"
        })
    );
    assert_eq!(
        from_msgpack::<BTreeMap<String, i64>>(&[0x81, 0x01, 0x01]),
        Err(DecodeError::Expected {
            expected: "string",
            found: "int"
        })
    );
    assert_eq!(
        from_msgpack::<BTreeMap<String, i64>>(&[0x82, 0xa1, b'a', 0x01, 0xa1, b'a', 0x02]),
        Err(DecodeError::DuplicateKey)
    );
    assert_eq!(
        from_msgpack::<HashMap<i64, bool>>(&[0x82, 0x01, 0xc3, 0x02, 0xc2]),
        Ok(HashMap::from([(1, true), (2, false)]))
    );
    assert_eq!(
        from_msgpack::<Map>(&[0x82, 0x01, 0xc3, 0xa1, b'k', 0xc0]),
        Ok(Map(vec![
            (Value::Int(1), Value::Bool(true)),
            (Value::Str("k".into()), Value::Null)
        ]))
    );
    assert_eq!(
        from_msgpack::<Vec<Vec<u8>>>(&[0x91, 0xc4, 0x01, 0x09]),
        Ok(vec![vec![9]])
    );
    assert_eq!(
        DecodeError::Expected {
            expected: "int",
            found: "string"
        }
        .to_string(),
        "expected int, found string"
    );
}

#[test]
fn typed_encoding_matches_value_encoding() {
    let words = vec!["a", "bb"];
    assert_eq!(
        to_msgpack(&words),
        enc(&Value::Array(vec!["a".into(), "bb".into()]))
    );
    let counts = BTreeMap::from([("a", 2i64), ("b", 1)]);
    assert_eq!(
        to_msgpack(&counts),
        enc(&Value::Map(vec![
            ("a".into(), Value::Int(2)),
            ("b".into(), Value::Int(1))
        ]))
    );
    assert_eq!(to_msgpack(&vec![vec![1u8, 2]]), [0x91, 0xc4, 0x02, 1, 2]);
    assert_eq!(
        to_msgpack(&vec![1.5f64]),
        [0x91, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
    );
    let mut out = Vec::new();
    msgpack::write_array_len(&mut out, 2);
    msgpack::write_int(&mut out, 300);
    msgpack::write_str(&mut out, "é");
    assert_eq!(
        from_msgpack::<Value>(&out),
        Ok(Value::Array(vec![Value::Int(300), "é".into()]))
    );
}

#[test]
fn type_names() {
    let name = |t: AbiType| t.to_string();
    assert_eq!(name(<i64 as AbiTyped>::TYPE), "int");
    assert_eq!(name(<&str as AbiTyped>::TYPE), "string");
    assert_eq!(name(<&[u8] as AbiTyped>::TYPE), "bytes");
    assert_eq!(name(<Vec<u8> as AbiTyped>::TYPE), "bytes");
    assert_eq!(name(<Vec<Vec<u8>> as AbiTyped>::TYPE), "array<bytes>");
    assert_eq!(name(<Vec<Vec<i64>> as AbiTyped>::TYPE), "array<array<int>>");
    assert_eq!(name(<Vec<Value> as AbiTyped>::TYPE), "array<any>");
    assert_eq!(
        name(<Vec<BTreeMap<String, f64>> as AbiTyped>::TYPE),
        "array<map>"
    );
    assert_eq!(name(<HashMap<String, Value> as AbiTyped>::TYPE), "map");
}

// ----------------------------------------------------------------- manifest and wrappers

crate::export! {
    /// ASCII letters upper-cased; fails on empty input.
    fn upper(mut s: String) -> Result<String, &'static str> {
        if s.is_empty() {
            return Err("empty input");
        }
        s.make_ascii_uppercase();
        Ok(s)
    }

    /// `s` unchanged, borrowed.
    ///
    /// This second paragraph is not part of the manifest.
    pub fn echo_str(s: &str) -> &str { s }

    /// Mixes numbers
    ///   and memory types;
    /// the doc's lines are joined.
    #[inline]
    fn mixed(flag: bool, r#type: &[u8], n: i64, xs: Vec<Vec<i64>>, x: f64) -> Vec<Value> {
        vec![flag.into(), r#type.to_vec().into(), n.into(), Value::Int(xs.len() as i64), x.into()]
    }

    fn undocumented(m: BTreeMap<String, i64>) -> HashMap<String, i64> {
        m.into_iter().map(|(k, v)| (k, v * 2)).collect()
    }

    /** Block doc,
        on two lines. */
    fn nothing(v: Value, m: Map) { let _ = (v, m); }

    /// Fails or returns a bool.
    fn check(n: i64) -> Result<bool, String> {
        if n < 0 { Err(format!("{n} is negative")) } else { Ok(n % 2 == 0) }
    }

    /// No parameters.
    fn zero() -> f64 { 0.5 }

    /// Parameter names that are also names inside the wrapper.
    fn hygiene(index: &str, holder: i64, e: Vec<String>, h: bool) -> Result<(), String> {
        Err(format!("{index} {holder} {e:?} {h}"))
    }
}

#[test]
fn manifest_records() {
    assert_eq!(
        crate::XXPLUGIN_HEADER,
        "abi 1\nname xxplugin-selftest\nversion 0.0.0 (test)\n"
    );
    assert_eq!(
        upper::RECORD,
        "fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.\n"
    );
    assert_eq!(
        echo_str::RECORD,
        "fn echo_str(s: string) -> string -- `s` unchanged, borrowed.\n"
    );
    assert_eq!(
        mixed::RECORD,
        "fn mixed(flag: bool, type: bytes, n: int, xs: array<array<int>>, x: float) -> array<any> \
         -- Mixes numbers and memory types; the doc's lines are joined.\n"
    );
    assert_eq!(undocumented::RECORD, "fn undocumented(m: map) -> map\n");
    assert_eq!(
        nothing::RECORD,
        "fn nothing(v: any, m: map) -- Block doc, on two lines.\n"
    );
    assert_eq!(
        check::RECORD,
        "fn check(n: int) -> bool -- Fails or returns a bool.\n"
    );
    assert_eq!(zero::RECORD, "fn zero() -> float -- No parameters.\n");
}

#[test]
fn header_variants() {
    use crate::manifest::{Header, header, header_len};
    const H: Header = Header {
        name: None,
        version: None,
    };
    const B: [u8; header_len(&H)] = header(&H);
    assert_eq!(&B, b"abi 1\n");
    const H2: Header = Header {
        name: Some("a-b_9"),
        version: Some("1.0 béta"),
    };
    const B2: [u8; header_len(&H2)] = header(&H2);
    assert_eq!(&B2, "abi 1\nname a-b_9\nversion 1.0 béta\n".as_bytes());
}

#[test]
fn wrapper_reads_arguments_and_sends_results() {
    // The functions are still plain Rust functions.
    assert_eq!(upper("abc".into()), Ok("ABC".to_string()));

    let out = call(&["héllo"], || upper::upper(6));
    assert_eq!(out.result_str(), "HéLLO");
    let out = call(&[""], || upper::upper(0));
    assert!(out.results.is_empty());
    assert_eq!(out.error(), Some("empty input"));

    let out = call(&["a😀b"], || echo_str::echo_str(6));
    assert_eq!(out.result_str(), "a😀b");

    // Indexes count every parameter, numbers included.
    let xs = to_msgpack(&vec![vec![1i64], vec![]]);
    let args: [&[u8]; 5] = [b"", b"\x01\x02", b"", &xs, b""];
    let out = call(&args, || mixed::mixed(1, 2, 7, xs.len() as i32, 2.5));
    assert_eq!(
        out.result_value(),
        Value::Array(vec![
            Value::Bool(true),
            Value::Bytes(vec![1, 2]),
            Value::Int(7),
            Value::Int(2),
            Value::Float(2.5)
        ])
    );

    let m = to_msgpack(&BTreeMap::from([("a", 1i64), ("b", -2)]));
    let out = call(&[&m], || undocumented::undocumented(m.len() as i32));
    assert_eq!(
        from_msgpack::<BTreeMap<String, i64>>(out.result_bytes()),
        Ok(BTreeMap::from([
            ("a".to_string(), 2),
            ("b".to_string(), -4)
        ]))
    );

    let out = call(&[b""], || check::check(4));
    assert_eq!((out.returned, out.results.len(), out.error()), (1, 0, None));
    let out = call(&[b""], || check::check(-3));
    assert_eq!((out.returned, out.error()), (0, Some("-3 is negative")));

    let out = call(&[b""], || zero::zero());
    assert_eq!(out.returned, 0.5);
    assert!(out.results.is_empty());

    let e = to_msgpack(&vec!["x"]);
    let out = call(&[&b"i"[..], b"", &e, b""], || {
        hygiene::hygiene(1, 2, e.len() as i32, 1)
    });
    assert_eq!((out.returned, out.error()), ((), Some("i 2 [\"x\"] true")));
    assert_eq!(
        hygiene::RECORD,
        "fn hygiene(index: string, holder: int, e: array<string>, h: bool) \
        -- Parameter names that are also names inside the wrapper.\n"
    );

    let v = Value::Map(vec![("k".into(), Value::Array(vec![Value::Null]))]).to_msgpack();
    let m = to_msgpack(&Map(vec![(Value::Int(1), Value::Bool(true))]));
    let out = call(&[&v, &m], || {
        nothing::nothing(v.len() as i32, m.len() as i32)
    });
    assert!(out.results.is_empty() && out.errors.is_empty());
}

#[test]
fn undecodable_arguments_are_reported_not_trapped() {
    // A map the host accepts (it is a `map`) but that `BTreeMap<String, i64>` cannot hold.
    let m = Value::Map(vec![(Value::Int(1), Value::Int(2))]).to_msgpack();
    let out = call(&[&m], || undocumented::undocumented(m.len() as i32));
    assert!(out.results.is_empty());
    assert_eq!(
        out.error(),
        Some("argument `m`: expected string, found int")
    );
}

#[test]
fn a_panicking_call_leaves_the_double_clean() {
    let r = std::panic::catch_unwind(|| call(&[b""], || panic!("trap")));
    assert!(r.is_err());
    let out = call(&["x"], || upper::upper(1));
    assert_eq!(out.result_str(), "X");
}
