//! `rustguest` — what the `xxplugin` guest crate does that only a built plugin shows: a panic
//! reaches the script as the call's error (its message and location, not `unreachable`), and
//! the state a plugin keeps between calls (here a counter) starts over when a trap costs it
//! its instance. The host's `tests/it/rust_guest.rs` runs it.

use std::sync::atomic::{AtomicI64, Ordering};

xxplugin::plugin!(name = "rustguest", version = "1.0.0-rust");

/// What `count` returned last, in this instance.
static COUNT: AtomicI64 = AtomicI64::new(0);

xxplugin::export! {
    /// Panics with message.
    fn boom(message: &str) {
        panic!("{message}");
    }

    /// a divided by b, rounded toward zero (Rust panics when b is 0).
    fn divide(a: i64, b: i64) -> i64 {
        a / b
    }

    /// One more than the call before returned: 1, 2, 3, ... (1 again in a fresh instance).
    fn count() -> i64 {
        COUNT.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest() {
        let lines = [XXPLUGIN_HEADER, boom::RECORD, divide::RECORD, count::RECORD].concat();
        assert_eq!(
            lines,
            "abi 1\nname rustguest\nversion 1.0.0-rust\n\
             fn boom(message: string) -- Panics with message.\n\
             fn divide(a: int, b: int) -> int -- a divided by b, rounded toward zero (Rust \
             panics when b is 0).\n\
             fn count() -> int -- One more than the call before returned: 1, 2, 3, ... (1 \
             again in a fresh instance).\n"
        );
    }

    #[test]
    fn functions() {
        assert_eq!(divide(7, -2), -3);
        let first = count();
        assert_eq!(count(), first + 1);
        let panicked = std::panic::catch_unwind(|| boom("out of cheese"));
        assert!(panicked.is_err());
    }
}
