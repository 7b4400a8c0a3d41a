//! One call of every typed function of `textkit` (plugins-src/README.md), with arguments that
//! exercise its allocations: the leak check of `tests/it/conformance.rs` and the long run of
//! `examples/leak_check.rs` (which includes this file) use the same list.

use xxlang_plugin::{Map, MapKey, Object};

/// `(function, arguments)` for every typed function, some more than once (an error path too).
pub fn every_typed_function() -> Vec<(&'static str, Vec<Object>)> {
    let text = Object::from("lorem ipsum dolor sit amet ".repeat(40));
    let mut map = Map::new();
    map.insert(MapKey::from("k"), Object::Float(1.0));
    vec![
        ("upper", vec![text.clone()]),
        ("upper", vec![Object::from("")]),
        ("reverse", vec![text.clone()]),
        ("concat", vec![text.clone(), text.clone()]),
        ("length", vec![text.clone()]),
        ("echo_str", vec![text.clone()]),
        ("xor", vec![Object::from(vec![7u8; 1024]), Object::Int(3)]),
        ("scale", vec![Object::Float(1.5), Object::Float(2.0)]),
        ("is_palindrome", vec![text.clone()]),
        (
            "choose",
            vec![Object::Bool(true), Object::Int(1), Object::Int(2)],
        ),
        ("split", vec![text.clone()]),
        (
            "sum",
            vec![(0..100).map(|i| Object::Float(f64::from(i))).collect()],
        ),
        ("iota", vec![Object::Int(500)]),
        ("iota", vec![Object::Int(-1)]),
        ("word_counts", vec![text.clone()]),
        (
            "echo",
            vec![Object::from(vec![
                text.clone(),
                Object::Int(5),
                Object::from(map),
            ])],
        ),
        ("noop", vec![Object::Int(1)]),
    ]
}
