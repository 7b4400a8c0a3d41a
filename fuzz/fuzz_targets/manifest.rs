#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xxlang_plugin_fuzz::manifest(data));
