use xxlang_plugin::{Object, Plugin, WasmPlugin};
fn main() {
    let p = WasmPlugin::from_file("plugins/testplugin.wasm").unwrap();
    let add = match p.exports().get("add") {
        Some(Object::Builtin(b)) => b.clone(),
        _ => panic!(),
    };
    let args = [Object::Int(10), Object::Int(20)];
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20_000_000);
    let mut acc = 0i64;
    for _ in 0..n {
        if let Object::Int(v) = add.call(std::hint::black_box(&args)) {
            acc += v
        }
    }
    println!("{acc}");
}
