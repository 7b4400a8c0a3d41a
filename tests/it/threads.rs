//! Builtins called from many threads at once, and close while calls run elsewhere.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{call, load};
use xxlang_plugin::{Object, Plugin};

#[test]
fn eight_threads_mixed_calls_on_shared_plugins() {
    let fib = load("fib");
    let test = load("testplugin");
    let fast = common::builtin(&fib, "fast");
    let matrix = common::builtin(&fib, "matrix");
    let mul = common::builtin(&test, "mul");
    let fibs: Vec<i64> = (0..50)
        .map(|n| match call(&fib, "fast", &[Object::Int(n)]) {
            Object::Int(v) => v,
            other => panic!("{other:?}"),
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..8usize {
            let (fast, matrix, mul, fibs) = (fast.clone(), matrix.clone(), mul.clone(), &fibs);
            s.spawn(move || {
                for i in 0..5000usize {
                    let n = (i + t) % 50;
                    let want = Object::Int(fibs[n]);
                    assert_eq!(fast.call(&[Object::Int(n as i64)]), want);
                    assert_eq!(matrix.call(&[Object::Int(n as i64)]), want);
                    assert_eq!(
                        mul.call(&[Object::Int(t as i64), Object::Int(i as i64)]),
                        Object::Int((t * i) as i64)
                    );
                }
            });
        }
    });
}

#[test]
fn close_while_other_threads_call() {
    let fib = Arc::new(load("fib"));
    let other = load("fib");
    let fast = common::builtin(&*fib, "fast");
    let closed = AtomicBool::new(false);
    let after_close_ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..6 {
            let (fast, closed, after_close_ok) = (fast.clone(), &closed, &after_close_ok);
            s.spawn(move || {
                for _ in 0..20_000 {
                    let was_closed = closed.load(Ordering::SeqCst);
                    let r = fast.call(&[Object::Int(30)]);
                    match r {
                        Object::Int(832040) if was_closed => {
                            after_close_ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Object::Int(832040) => {}
                        Object::Error(msg) => assert!(msg.contains("closed"), "{msg}"),
                        other => panic!("wrong result {other:?}"),
                    }
                }
            });
        }
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(5));
            fib.close().expect("close");
            closed.store(true, Ordering::SeqCst);
        });
    });
    assert_eq!(
        after_close_ok.load(Ordering::SeqCst),
        0,
        "no call succeeded after close returned"
    );
    assert!(fib.is_closed());
    assert_eq!(
        call(&other, "fast", &[Object::Int(30)]),
        Object::Int(832040),
        "the other load is unaffected"
    );
}

#[test]
fn builtins_outlive_their_plugin_handle() {
    let fast = {
        let fib = load("fib");
        common::builtin(&fib, "fast")
    };
    assert_eq!(fast.call(&[Object::Int(12)]), Object::Int(144));
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<xxlang_plugin::Object>();
    send_sync::<xxlang_plugin::Builtin>();
    send_sync::<xxlang_plugin::WasmPlugin>();
    send_sync::<xxlang_plugin::Loader>();
    send_sync::<xxlang_plugin::Registry>();
    send_sync::<xxlang_plugin::Error>();
    send_sync::<Arc<dyn Plugin>>();
}
