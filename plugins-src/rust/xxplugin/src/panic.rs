//! A panic is the call's error. Plugins are built with `panic = "abort"` (wasm32 cannot
//! unwind), so a panic ends the call with a wasm `unreachable` trap, and all the host could say
//! was that. Every export [`export!`](crate::export!) generates first installs (once) a panic
//! hook that reports the panic's message and location with `xxplugin.error`; the host makes an
//! error sent before a trap that call's error (docs/ABI.md §3), so the script sees
//! `textkit.upper: panicked at textkit/src/lib.rs:31:9: index out of bounds: ...`. The trap
//! still costs the plugin its instance, as any trap does: the next call gets a fresh one.
//!
//! Only on wasm32: natively (`cargo test`) the default hook stays, so failing tests print as
//! usual. A hook the plugin sets itself, during a call, replaces this one.

use std::any::Any;
use std::panic::Location;

/// What a panic reports: `panicked at FILE:LINE:COL: MESSAGE`, as Rust prints it, on one line
/// unless the message has several.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // natively: its test only
pub(crate) fn message(location: Option<&Location<'_>>, payload: &(dyn Any + Send)) -> String {
    let text = match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => s,
        (None, Some(s)) => s.as_str(),
        (None, None) => "Box<dyn Any>",
    };
    match location {
        Some(at) => format!("panicked at {at}: {text}"),
        None => format!("panicked: {text}"),
    }
}

/// Installs the hook, the first time only.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            crate::abi::error(&message(info.location(), info.payload()));
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::message;

    #[test]
    fn messages_read_as_rust_prints_them() {
        let at = std::panic::Location::caller();
        let here = format!("{}:{}:{}", at.file(), at.line(), at.column());
        assert_eq!(
            message(Some(at), &"out of cheese"),
            format!("panicked at {here}: out of cheese")
        );
        let formatted = String::from("index 3, length 2");
        assert_eq!(
            message(Some(at), &formatted),
            format!("panicked at {here}: index 3, length 2")
        );
        assert_eq!(message(None, &42_u8), "panicked: Box<dyn Any>");
    }
}
