//! Where a plugin's WASI stdout and stderr go: [`WasiOutput`], and the bounded buffer that
//! captures it, [`OutputBuffer`].

use std::boxed::Box;
use std::io::{self, Write};
use std::string::String;
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

use wasmi_wasi::WasiFile;
use wasmi_wasi::wasi_common::pipe::WritePipe;

/// Where a plugin's standard output or standard error goes; see
/// [`WasiPolicy::stdout`](crate::WasiPolicy::stdout).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum WasiOutput {
    /// One `tracing` event per line, at `INFO` for stdout and `WARN` for stderr, with target
    /// `xxlang_plugin::guest` and the plugin's name in the `plugin` field. The default.
    #[default]
    Tracing,
    /// The host process's own stdout or stderr.
    Inherit,
    /// Into a buffer the host reads (bounded: what does not fit is dropped and counted).
    Capture(OutputBuffer),
    /// Nowhere.
    Discard,
}

/// The longest line forwarded to `tracing` as one event; longer lines are split.
const LINE_LIMIT: usize = 4096;

impl WasiOutput {
    /// The WASI file for this output of `plugin`; `stream` is "stdout" or "stderr".
    pub(crate) fn file(&self, plugin: &Arc<str>, stream: Stream) -> Box<dyn WasiFile> {
        match self {
            WasiOutput::Tracing => Box::new(WritePipe::new(TracingWriter {
                plugin: plugin.clone(),
                stream,
                line: Vec::new(),
            })),
            WasiOutput::Inherit => match stream {
                Stream::Stdout => Box::new(wasmi_wasi::stdio::stdout()),
                Stream::Stderr => Box::new(wasmi_wasi::stdio::stderr()),
            },
            WasiOutput::Capture(buffer) => Box::new(WritePipe::new(buffer.clone())),
            WasiOutput::Discard => Box::new(WritePipe::new(io::sink())),
        }
    }
}

/// Which output stream.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Lines of guest output as `tracing` events.
struct TracingWriter {
    plugin: Arc<str>,
    stream: Stream,
    line: Vec<u8>,
}

impl TracingWriter {
    fn emit(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end_matches(['\n', '\r']);
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "xxlang_plugin::guest", plugin = &*self.plugin, stream = "stdout", "{text}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "xxlang_plugin::guest", plugin = &*self.plugin, stream = "stderr", "{text}")
            }
        }
        self.line.clear();
    }
}

impl Write for TracingWriter {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            let room = LINE_LIMIT - self.line.len();
            let end = match buf.iter().position(|&b| b == b'\n') {
                Some(i) if i < room => i + 1,
                _ => buf.len().min(room),
            };
            let (now, rest) = buf.split_at(end);
            self.line.extend_from_slice(now);
            buf = rest;
            if self.line.ends_with(b"\n") || self.line.len() >= LINE_LIMIT {
                self.emit();
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TracingWriter {
    /// A last line without a newline is still forwarded when the instance goes.
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit();
        }
    }
}

/// A bounded, shared buffer that captures a plugin's output: give a clone to
/// [`WasiOutput::Capture`] and read it from the host. It keeps the first `limit` bytes and
/// counts the rest as dropped, so a plugin cannot fill the host's memory by printing.
///
/// ```
/// use xxlang_plugin::{Config, OutputBuffer, WasiOutput, WasiPolicy};
/// let out = OutputBuffer::with_limit(1 << 20);
/// let config = Config::new().wasi(WasiPolicy::new().stdout(WasiOutput::Capture(out.clone())));
/// // ... load a plugin with `config` and call it, then:
/// let printed: String = out.take_string();
/// assert_eq!(printed, "");
/// assert_eq!(out.dropped(), 0);
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct OutputBuffer(Arc<Mutex<Captured>>);

#[derive(Debug)]
struct Captured {
    bytes: Vec<u8>,
    limit: usize,
    dropped: u64,
}

impl Default for OutputBuffer {
    /// A buffer that keeps up to 1 MiB.
    fn default() -> Self {
        Self::with_limit(1 << 20)
    }
}

impl OutputBuffer {
    /// A buffer that keeps up to 1 MiB.
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer that keeps up to `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self(Arc::new(Mutex::new(Captured {
            bytes: Vec::new(),
            limit,
            dropped: 0,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        // Only this module writes to the buffer, and nothing there can panic while holding
        // the lock; a poisoned lock still holds consistent bytes.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What was captured so far (a copy).
    pub fn contents(&self) -> Vec<u8> {
        self.lock().bytes.clone()
    }

    /// Takes what was captured so far, leaving the buffer empty (and the dropped count at 0).
    pub fn take(&self) -> Vec<u8> {
        let mut c = self.lock();
        c.dropped = 0;
        core::mem::take(&mut c.bytes)
    }

    /// [`take`](OutputBuffer::take) as text (invalid UTF-8 replaced by U+FFFD).
    pub fn take_string(&self) -> String {
        String::from_utf8_lossy(&self.take()).into_owned()
    }

    /// How many bytes did not fit and were dropped since the last [`take`](OutputBuffer::take).
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut c = self.lock();
        let room = c.limit.saturating_sub(c.bytes.len());
        let (keep, drop) = buf.split_at(buf.len().min(room));
        c.bytes.extend_from_slice(keep);
        c.dropped = c.dropped.saturating_add(drop.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_keeps_its_limit_and_counts_the_rest() {
        let mut b = OutputBuffer::with_limit(4);
        assert_eq!(b.write(b"abc").ok(), Some(3));
        assert_eq!(b.write(b"defg").ok(), Some(4));
        assert_eq!(b.contents(), b"abcd");
        assert_eq!(b.dropped(), 3);
        assert_eq!(b.take_string(), "abcd");
        assert_eq!((b.contents(), b.dropped()), (Vec::new(), 0));
    }

    #[test]
    fn tracing_lines_are_split_and_bounded() {
        let mut w = TracingWriter {
            plugin: Arc::from("p"),
            stream: Stream::Stdout,
            line: Vec::new(),
        };
        assert_eq!(w.write(b"one\ntwo").ok(), Some(7));
        assert_eq!(w.line, b"two");
        let long = std::vec![b'x'; LINE_LIMIT * 2 + 10];
        assert_eq!(w.write(&long).ok(), Some(long.len()));
        assert!(w.line.len() < LINE_LIMIT);
    }
}
