//! The legacy ABI: plugins without a manifest. Their functions are called by rules read from
//! export names and wasm types ([`functions`]); their name and version come from the metadata
//! exports `plugin_name` and `plugin_version`, and array results through a result slot the
//! plugin's `alloc` provides ([`metadata`]).

pub(crate) mod functions;
pub(crate) mod metadata;
