/// Declares the plugin: emits the manifest's `abi 1`, `name` and `version` lines into the
/// `xxplugin` custom section. Use it once, at the crate root (the functions of [`export!`](crate::export!)
/// refer to it there).
///
/// ```
/// xxplugin::plugin!(name = "textkit", version = "1.0.0-rust");
/// # fn main() { assert_eq!(XXPLUGIN_HEADER, "abi 1\nname textkit\nversion 1.0.0-rust\n"); }
/// ```
///
/// Both are optional (without a name the host uses the file name); any constant `&str`
/// expression works, e.g. `version = env!("CARGO_PKG_VERSION")`. Invalid names and versions
/// are compile errors. The header text is also available as the constant `XXPLUGIN_HEADER`.
#[macro_export]
macro_rules! plugin {
    (name = $name:expr, version = $version:expr $(,)?) => {
        $crate::__plugin_header!(
            ::core::option::Option::Some($name),
            ::core::option::Option::Some($version)
        );
    };
    (name = $name:expr $(,)?) => {
        $crate::__plugin_header!(
            ::core::option::Option::Some($name),
            ::core::option::Option::None
        );
    };
    (version = $version:expr $(,)?) => {
        $crate::__plugin_header!(
            ::core::option::Option::None,
            ::core::option::Option::Some($version)
        );
    };
    () => {
        $crate::__plugin_header!(::core::option::Option::None, ::core::option::Option::None);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_header {
    ($name:expr, $version:expr) => {
        /// The manifest's `abi`, `name` and `version` lines (made by `xxplugin::plugin!`).
        #[doc(hidden)]
        #[allow(dead_code)]
        pub(crate) const XXPLUGIN_HEADER: &str = {
            const HEADER: $crate::__private::Header = $crate::__private::Header {
                name: $name,
                version: $version,
            };
            const LEN: usize = $crate::__private::header_len(&HEADER);
            const BYTES: [u8; LEN] = $crate::__private::header::<LEN>(&HEADER);
            // wasm-ld turns every static of this section into (part of) one custom section.
            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "xxplugin"))]
            #[used]
            static SECTION: [u8; LEN] = BYTES;
            $crate::__private::utf8(&BYTES)
        };
    };
}

/// Exports ordinary Rust functions as typed-ABI plugin functions, each with its manifest line.
///
/// ```
/// use xxplugin::Value;
///
/// xxplugin::plugin!(name = "demo", version = "0.1.0");
///
/// xxplugin::export! {
///     /// ASCII letters upper-cased; fails on empty input.
///     fn upper(s: &str) -> Result<String, &'static str> {
///         if s.is_empty() { Err("empty input") } else { Ok(s.to_ascii_uppercase()) }
///     }
///
///     /// `a` followed by `b`.
///     pub fn concat(a: &str, b: &str) -> String { [a, b].concat() }
///
///     /// Each byte XOR the low 8 bits of `key`.
///     fn xor(mut data: Vec<u8>, key: i64) -> Vec<u8> {
///         data.iter_mut().for_each(|b| *b ^= key as u8);
///         data
///     }
///
///     /// Returns nothing.
///     fn noop(v: Value) { let _ = v; }
/// }
///
/// fn main() {
///     assert_eq!(upper::RECORD, "fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.\n");
///     assert_eq!(xor::RECORD, "fn xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of `key`.\n");
///     assert_eq!(noop::RECORD, "fn noop(v: any) -- Returns nothing.\n");
///     assert_eq!(concat("a", "b"), "ab"); // still an ordinary Rust function
/// }
/// ```
///
/// For each function `NAME` this keeps the function as written and adds a module `NAME` with:
/// - `extern "C" fn NAME(...)`, the wasm export (`#[no_mangle]` on wasm32 only), whose wasm
///   signature follows docs/ABI.md §1. It reads the arguments (`xxplugin.arg`), calls the
///   function, and delivers the result; an `Err`, or an argument that does not decode into
///   the parameter's Rust type, is reported with `xxplugin.error`, and so is a panic (on
///   wasm32, before the panic aborts the call). Everything it allocates is freed before it
///   returns.
/// - `RECORD: &str`, the manifest line, also placed in the `xxplugin` custom section.
///
/// The doc is the first paragraph of the doc comment, on one line. Parameters must be plain
/// identifiers (`mut` is fine); generics, `async`, `unsafe`, `where` and patterns are not
/// supported. Parameter and result types are those of [`Param`](crate::Param) and
/// [`IntoResult`](crate::IntoResult) (see the table in the crate docs).
#[macro_export]
macro_rules! export {
    ($(
        $(#[$($attr:tt)*])*
        $vis:vis fn $name:ident ( $($params:tt)* ) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$($attr)*])*
        $vis fn $name ( $($params)* ) $(-> $ret)? $body

        $crate::__export_fn! {
            @params $name [$($crate::__doc_of!(#[$($attr)*])),*] [$($ret)?] [] $($params)*
        }
    )*};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __doc_of {
    (#[doc = $doc:expr]) => {
        ::core::option::Option::Some($doc)
    };
    (#[$($other:tt)*]) => {
        ::core::option::Option::None
    };
}

#[doc(hidden)]
#[macro_export]
#[allow(clippy::crate_in_macro_def)] // `crate::XXPLUGIN_HEADER` is the plugin's, on purpose
macro_rules! __export_fn {
    // Normalises the parameter list to `[(name: Type) ...]`, dropping `mut`.
    (@params $name:ident $docs:tt $ret:tt [$($acc:tt)*] mut $p:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::__export_fn! { @params $name $docs $ret [$($acc)* ($p : $t)] $($($rest)*)? }
    };
    (@params $name:ident $docs:tt $ret:tt [$($acc:tt)*] $p:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::__export_fn! { @params $name $docs $ret [$($acc)* ($p : $t)] $($($rest)*)? }
    };
    (@params $name:ident $docs:tt [] $params:tt) => {
        $crate::__export_fn! { @emit $name $docs [()] $params }
    };
    (@params $name:ident $docs:tt [$ret:ty] $params:tt) => {
        $crate::__export_fn! { @emit $name $docs [$ret] $params }
    };
    (@emit $name:ident [$($doc:expr),*] [$ret:ty] [$(($p:ident : $t:ty))*]) => {
        #[doc(hidden)]
        #[allow(dead_code, unused_imports, unused_mut, unused_variables, unused_assignments, non_snake_case)]
        mod $name {
            use super::*;

            const __XXPLUGIN_FN: $crate::__private::FnRecord = $crate::__private::FnRecord {
                name: ::core::stringify!($name),
                params: &[$( (::core::stringify!($p), <$t as $crate::AbiTyped>::TYPE) ),*],
                result: <$ret as $crate::IntoResult>::TYPE,
                doc: &[$($doc),*],
            };
            const __XXPLUGIN_LEN: usize = $crate::__private::record_len(&__XXPLUGIN_FN);
            const __XXPLUGIN_BYTES: [u8; __XXPLUGIN_LEN] =
                $crate::__private::record::<__XXPLUGIN_LEN>(&__XXPLUGIN_FN);

            /// This function's manifest line.
            pub const RECORD: &str = $crate::__private::utf8(&__XXPLUGIN_BYTES);

            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "xxplugin"))]
            #[used]
            static __XXPLUGIN_SECTION: [u8; __XXPLUGIN_LEN] = __XXPLUGIN_BYTES;

            // `xxplugin::plugin!(...)` must be used at the crate root: it writes the `abi` line.
            const _: &str = crate::XXPLUGIN_HEADER;

            /// The wasm export (docs/ABI.md §1 gives its wasm type).
            #[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
            pub extern "C" fn $name($($p: <$t as $crate::Param>::Wasm),*)
                -> <$ret as $crate::IntoResult>::Wasm
            {
                $crate::__private::enter();
                let mut index: u32 = 0;
                $(
                    let mut $p = match <$t as $crate::Param>::fetch(index, $p) {
                        ::core::result::Result::Ok(holder) => holder,
                        ::core::result::Result::Err(e) => {
                            $crate::__private::arg_error(::core::stringify!($p), &e);
                            return ::core::default::Default::default();
                        }
                    };
                    index += 1;
                )*
                $crate::IntoResult::send(super::$name($(<$t as $crate::FromArg>::get(&mut $p)),*))
            }
        }
    };
}
