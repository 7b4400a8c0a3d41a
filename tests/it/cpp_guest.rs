//! A C++ plugin on the C guest header, `plugins/hello_cpp.wasm` (plugins-src/c/hello.cpp):
//! `xxplugin.h` works unchanged from C++, with the C++ standard library.

use crate::common;

use common::{builtin, call};
use xxlang_plugin::{Map, MapKey, Object, Plugin};

#[test]
fn a_cpp_plugin_declares_and_runs_its_functions() {
    let p = common::load("hello_cpp");
    assert_eq!((p.name(), p.version()), ("hello_cpp", Some("1.0.0-cpp")));
    assert_eq!(
        builtin(&p, "greet").signature().map(ToString::to_string),
        Some(String::from("(who: string) -> string"))
    );
    assert_eq!(
        call(&p, "greet", &[Object::from("C++")]),
        Object::from("Hello, C++!")
    );
    assert_eq!(
        call(&p, "greet", &[Object::from("")]).error_message(),
        Some("hello_cpp.greet: empty name")
    );
    assert_eq!(
        call(&p, "sorted_words", &[Object::from(" pear apple\tfig ")]).to_string(),
        r#"["apple", "fig", "pear"]"#
    );
    let mut counts = Map::new();
    counts.insert(MapKey::from("a"), Object::Int(1));
    counts.insert(MapKey::from("b"), Object::Int(2));
    assert_eq!(
        call(&p, "word_counts", &[Object::from("b a b")]),
        Object::from(counts)
    );
    let xs = Object::from(vec![Object::Int(1), Object::Float(2.5), Object::Int(3)]);
    assert_eq!(call(&p, "mean", &[xs]), Object::Float(6.5 / 3.0));
    assert_eq!(
        call(&p, "mean", &[Object::from(Vec::<Object>::new())]).error_message(),
        Some("hello_cpp.mean: empty array")
    );
}
