//! `textkit` — the typed-ABI demo plugin of xxlang-plugin (plugins-src/README.md), in Rust with
//! the `xxplugin` crate. Every function is an ordinary Rust function; `xxplugin::export!` makes
//! it a wasm export and writes its line of the manifest into the `xxplugin` custom section.

use std::collections::BTreeMap;

use xxplugin::Value;

xxplugin::plugin!(name = "textkit", version = "1.0.0-rust");

/// The ASCII whitespace that separates words: space, `\t`, `\n`, `\v`, `\f`, `\r`. (Unlike
/// `u8::is_ascii_whitespace`, this includes `\v`.)
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The words of `s`: maximal runs of bytes other than ASCII whitespace. Splitting at ASCII
/// bytes never cuts a UTF-8 sequence, so every word is a `&str`.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_ascii() && is_space(c as u8))
        .filter(|w| !w.is_empty())
}

/// The longest `iota`.
const IOTA_MAX: i64 = 1_000_000;

xxplugin::export! {
    /// ASCII letters upper-cased; fails on empty input.
    fn upper(mut s: String) -> Result<String, &'static str> {
        if s.is_empty() {
            return Err("empty input");
        }
        s.make_ascii_uppercase();
        Ok(s)
    }

    /// The characters of s in reverse order.
    fn reverse(s: &str) -> String {
        s.chars().rev().collect()
    }

    /// a followed by b.
    fn concat(a: &str, b: &str) -> String {
        [a, b].concat()
    }

    /// The number of characters (Unicode scalar values) in s.
    fn length(s: &str) -> i64 {
        s.chars().count() as i64
    }

    /// s unchanged.
    fn echo_str(s: &str) -> &str {
        s
    }

    /// Each byte XOR the low 8 bits of key.
    fn xor(mut data: Vec<u8>, key: i64) -> Vec<u8> {
        let k = key as u8;
        data.iter_mut().for_each(|b| *b ^= k);
        data
    }

    /// x times factor.
    fn scale(x: f64, factor: f64) -> f64 {
        x * factor
    }

    /// Whether the characters of s read the same reversed.
    fn is_palindrome(s: &str) -> bool {
        s.chars().eq(s.chars().rev())
    }

    /// a if flag, else b.
    fn choose(flag: bool, a: i64, b: i64) -> i64 {
        if flag { a } else { b }
    }

    /// The words of s (split at ASCII whitespace), in order.
    fn split(s: &str) -> Vec<&str> {
        words(s).collect()
    }

    /// The sum of xs, added left to right.
    fn sum(xs: Vec<f64>) -> f64 {
        xs.iter().fold(0.0, |acc, x| acc + x)
    }

    /// [0, 1, ..., n-1]; fails if n is negative or above 1000000.
    fn iota(n: i64) -> Result<Vec<i64>, &'static str> {
        if n < 0 {
            return Err("negative length");
        }
        if n > IOTA_MAX {
            return Err("too long");
        }
        Ok((0..n).collect())
    }

    /// Each word of s mapped to how often it occurs.
    fn word_counts(s: &str) -> BTreeMap<&str, i64> {
        let mut counts = BTreeMap::new();
        for w in words(s) {
            *counts.entry(w).or_insert(0) += 1;
        }
        counts
    }

    /// v unchanged (decoded and encoded again).
    fn echo(v: Value) -> Value {
        v
    }

    /// Does nothing.
    fn noop(x: i64) {
        let _ = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxplugin::testing::call;
    use xxplugin::{from_msgpack, to_msgpack};

    #[test]
    fn manifest() {
        let lines = [
            XXPLUGIN_HEADER,
            upper::RECORD,
            reverse::RECORD,
            concat::RECORD,
            length::RECORD,
            echo_str::RECORD,
            xor::RECORD,
            scale::RECORD,
            is_palindrome::RECORD,
            choose::RECORD,
            split::RECORD,
            sum::RECORD,
            iota::RECORD,
            word_counts::RECORD,
            echo::RECORD,
            noop::RECORD,
        ]
        .concat();
        let signatures: Vec<&str> = lines
            .lines()
            .map(|l| l.split(" -- ").next().unwrap())
            .collect();
        assert_eq!(
            signatures,
            [
                "abi 1",
                "name textkit",
                "version 1.0.0-rust",
                "fn upper(s: string) -> string",
                "fn reverse(s: string) -> string",
                "fn concat(a: string, b: string) -> string",
                "fn length(s: string) -> int",
                "fn echo_str(s: string) -> string",
                "fn xor(data: bytes, key: int) -> bytes",
                "fn scale(x: float, factor: float) -> float",
                "fn is_palindrome(s: string) -> bool",
                "fn choose(flag: bool, a: int, b: int) -> int",
                "fn split(s: string) -> array<string>",
                "fn sum(xs: array<float>) -> float",
                "fn iota(n: int) -> array<int>",
                "fn word_counts(s: string) -> map",
                "fn echo(v: any) -> any",
                "fn noop(x: int)",
            ]
        );
        assert!(
            lines.lines().skip(3).all(|l| l.contains(" -- ")),
            "every function has a doc"
        );
    }

    #[test]
    fn strings() {
        assert_eq!(upper("héllo".into()), Ok("HéLLO".to_string()));
        assert_eq!(upper(String::new()), Err("empty input"));
        assert_eq!(reverse("a😀b"), "b😀a");
        assert_eq!(reverse(""), "");
        assert_eq!(length("héllo"), 5);
        assert_eq!(length("a😀b"), 3);
        assert!(is_palindrome(""));
        assert!(is_palindrome("a😀a"));
        assert!(!is_palindrome("ab"));
        assert_eq!(
            split(" a\tb\x0bc\x0cd\re\nf  "),
            ["a", "b", "c", "d", "e", "f"]
        );
        assert_eq!(split("a\u{a0}b"), ["a\u{a0}b"]);
        assert!(split("").is_empty() && split(" \t").is_empty());
        assert_eq!(word_counts("b a b"), BTreeMap::from([("a", 1), ("b", 2)]));
        assert_eq!(sum(vec![]).to_bits(), 0.0f64.to_bits());
        assert_eq!(iota(3), Ok(vec![0, 1, 2]));
        assert_eq!(iota(-1), Err("negative length"));
        assert_eq!(iota(1_000_001), Err("too long"));
        assert_eq!(iota(1_000_000).map(|v| v.len()), Ok(1_000_000));
        assert_eq!(xor(vec![1, 2, 0xff], 0x1ff), [0xfe, 0xfd, 0x00]);
    }

    #[test]
    fn through_the_wrappers() {
        let out = call(&["héllo"], || upper::upper(6));
        assert_eq!(out.result_str(), "HéLLO");
        assert_eq!(call(&[""], || upper::upper(0)).error(), Some("empty input"));
        assert_eq!(
            call(&["a", "😀"], || concat::concat(1, 4)).result_str(),
            "a😀"
        );
        assert_eq!(
            call(&[""], || iota::iota(-1)).error(),
            Some("negative length")
        );
        let out = call(&[""], || iota::iota(4));
        assert_eq!(
            from_msgpack::<Vec<i64>>(out.result_bytes()),
            Ok(vec![0, 1, 2, 3])
        );
        let v = Value::Array(vec![
            Value::Int(1),
            "a".into(),
            Value::Array(vec![Value::Bool(true), Value::Null]),
            Value::Map(vec![("k".into(), Value::Float(2.5))]),
        ]);
        let bytes = v.to_msgpack();
        let out = call(&[&bytes], || echo::echo(bytes.len() as i32));
        assert_eq!(out.result_bytes(), bytes);
        let xs = to_msgpack(&vec![1.5f64, 2.0]);
        assert_eq!(call(&[&xs], || sum::sum(xs.len() as i32)).returned, 3.5);
        assert_eq!(call(&[b""; 3], || choose::choose(0, 1, 2)).returned, 2);
        let out = call(&[b""], || noop::noop(5));
        assert!(out.results.is_empty() && out.errors.is_empty());
    }
}
