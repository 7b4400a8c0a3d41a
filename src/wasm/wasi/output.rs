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
    ///
    /// A line longer than 4 KiB comes in events of at most 4 KiB, each but the last with
    /// `partial = true`; so at most 4 KiB is buffered per stream, and the time spent is linear
    /// in the output's size.
    #[default]
    Tracing,
    /// The host process's own stdout or stderr.
    Inherit,
    /// The host process's stderr, for either stream: a plugin's stdout there keeps the host's
    /// stdout for the host's own output (as `xxplugin call --json` does).
    HostStderr,
    /// Into a buffer the host reads (bounded: what does not fit is dropped and counted).
    Capture(OutputBuffer),
    /// Nowhere.
    Discard,
}

/// The longest piece of a line forwarded to `tracing` as one event, in bytes. A longer line
/// is forwarded in pieces of at most this size (cut between UTF-8 characters where the text
/// allows), each but the last marked `partial = true`; so this is also all the sink buffers.
pub(crate) const LINE_LIMIT: usize = 4096;

impl WasiOutput {
    /// The WASI file for this output of `plugin`; `stream` is "stdout" or "stderr".
    pub(crate) fn file(&self, plugin: &Arc<str>, stream: Stream) -> Box<dyn WasiFile> {
        match self {
            WasiOutput::Tracing => Box::new(WritePipe::new(TracingWriter {
                plugin: plugin.clone(),
                stream,
                lines: Lines::default(),
            })),
            WasiOutput::Inherit => match stream {
                Stream::Stdout => Box::new(wasmi_wasi::stdio::stdout()),
                Stream::Stderr => Box::new(wasmi_wasi::stdio::stderr()),
            },
            WasiOutput::HostStderr => Box::new(wasmi_wasi::stdio::stderr()),
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
    lines: Lines,
}

impl TracingWriter {
    fn emit(plugin: &str, stream: Stream, line: &[u8], partial: bool) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\n', '\r']);
        const TARGET: &str = "xxlang_plugin::guest";
        match (stream, partial) {
            (Stream::Stdout, false) => {
                tracing::info!(target: TARGET, plugin, stream = "stdout", "{text}")
            }
            (Stream::Stdout, true) => {
                tracing::info!(target: TARGET, plugin, stream = "stdout", partial, "{text}")
            }
            (Stream::Stderr, false) => {
                tracing::warn!(target: TARGET, plugin, stream = "stderr", "{text}")
            }
            (Stream::Stderr, true) => {
                tracing::warn!(target: TARGET, plugin, stream = "stderr", partial, "{text}")
            }
        }
    }
}

impl Write for TracingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (plugin, stream) = (&*self.plugin, self.stream);
        self.lines.push(buf, |line, partial| {
            Self::emit(plugin, stream, line, partial)
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TracingWriter {
    /// A last line without a newline is still forwarded when the instance goes.
    fn drop(&mut self) {
        let (plugin, stream) = (&*self.plugin, self.stream);
        self.lines
            .finish(|line, partial| Self::emit(plugin, stream, line, partial));
    }
}

/// Splits a byte stream into lines of at most [`LINE_LIMIT`] bytes, in time linear in its
/// length: every byte is looked at once (the unfinished line it keeps never holds a newline,
/// so a search never starts over), and it keeps at most [`LINE_LIMIT`] bytes.
#[derive(Default)]
struct Lines {
    /// The unfinished line: no newline, shorter than [`LINE_LIMIT`].
    line: Vec<u8>,
}

impl Lines {
    /// Adds `bytes`, calling `emit(line, partial)` for each line they finish (with its
    /// newline) and for each [`LINE_LIMIT`]-sized piece of a longer line (`partial` true).
    fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(&[u8], bool)) {
        while !bytes.is_empty() {
            let room = LINE_LIMIT.saturating_sub(self.line.len()).max(1);
            let window = bytes.get(..room).unwrap_or(bytes);
            let take = match window.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => window.len(),
            };
            let (now, rest) = bytes.split_at(take.min(bytes.len()));
            bytes = rest;
            if self.line.is_empty() && now.last() == Some(&b'\n') {
                // A whole line in one piece: no copy.
                emit(now, false);
                continue;
            }
            self.line.extend_from_slice(now);
            if self.line.last() == Some(&b'\n') {
                emit(&self.line, false);
                self.line.clear();
            } else if self.line.len() >= LINE_LIMIT {
                let cut = utf8_cut(&self.line);
                emit(self.line.get(..cut).unwrap_or(&self.line), true);
                self.line.drain(..cut.min(self.line.len()));
            }
        }
    }

    /// Forwards the unfinished line, if any.
    fn finish(&mut self, mut emit: impl FnMut(&[u8], bool)) {
        if !self.line.is_empty() {
            emit(&self.line, false);
            self.line.clear();
        }
    }
}

/// Where to cut `bytes` so that the first part does not end inside a UTF-8 character: before
/// an incomplete character at the end (at most 3 bytes), else at the end. Not valid UTF-8
/// anyway: at the end.
fn utf8_cut(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let b = bytes.get(len - back).copied().unwrap_or(0);
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for its lead byte
        }
        let needs = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if needs > back && len - back > 0 {
            len - back
        } else {
            len
        };
    }
    len
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
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer that keeps up to `limit` bytes.
    #[must_use]
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
    #[must_use]
    pub fn contents(&self) -> Vec<u8> {
        self.lock().bytes.clone()
    }

    /// Takes what was captured so far, leaving the buffer empty (and the dropped count at 0).
    #[must_use]
    pub fn take(&self) -> Vec<u8> {
        let mut c = self.lock();
        c.dropped = 0;
        core::mem::take(&mut c.bytes)
    }

    /// [`take`](OutputBuffer::take) as text (invalid UTF-8 replaced by U+FFFD).
    #[must_use]
    pub fn take_string(&self) -> String {
        String::from_utf8_lossy(&self.take()).into_owned()
    }

    /// How many bytes did not fit and were dropped since the last [`take`](OutputBuffer::take).
    #[must_use]
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

    /// What a [`Lines`] emits for `chunks` written one after another, then finished.
    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.push(chunk, |l, partial| out.push((l.to_vec(), partial)));
            assert!(lines.line.len() < LINE_LIMIT, "it buffers less than a line");
        }
        lines.finish(|l, partial| out.push((l.to_vec(), partial)));
        out
    }

    #[test]
    fn lines_are_split_at_newlines_across_writes() {
        assert_eq!(
            split(&[b"one\ntw", b"o\n", b"\nthree"]),
            [
                (b"one\n".to_vec(), false),
                (b"two\n".to_vec(), false),
                (b"\n".to_vec(), false),
                (b"three".to_vec(), false),
            ]
        );
        assert!(split(&[b"", b""]).is_empty());
    }

    #[test]
    fn long_lines_come_in_pieces_of_at_most_the_limit() {
        let long = std::vec![b'x'; LINE_LIMIT * 2 + 10];
        let mut with_end = long.clone();
        with_end.push(b'\n');
        for chunks in [
            std::vec![&with_end[..]],
            with_end.chunks(1000).collect(),
            with_end.chunks(1).collect(),
        ] {
            let out = split(&chunks);
            let sizes: Vec<(usize, bool)> = out.iter().map(|(l, p)| (l.len(), *p)).collect();
            assert_eq!(sizes, [(LINE_LIMIT, true), (LINE_LIMIT, true), (11, false)]);
        }
    }

    #[test]
    fn pieces_are_not_cut_inside_a_character() {
        // "é" is 2 bytes: LINE_LIMIT - 1 ASCII bytes, then "é" straddles the limit.
        let mut text = std::vec![b'x'; LINE_LIMIT - 1];
        text.extend_from_slice("é€😀".as_bytes());
        let out = split(&[&text]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0.len(), LINE_LIMIT - 1);
        assert_eq!(out[1].0, "é€😀".as_bytes());
        for (piece, _) in &out {
            assert!(core::str::from_utf8(piece).is_ok());
        }
        assert_eq!(utf8_cut("a€".as_bytes()), 4);
        assert_eq!(utf8_cut(&"a€".as_bytes()[..3]), 1);
        assert_eq!(
            utf8_cut(&[0xE2, 0x82]),
            2,
            "nothing before it: cut at the end"
        );
        assert_eq!(utf8_cut(&[0xFF, 0xFF]), 2, "not UTF-8: cut at the end");
        assert_eq!(utf8_cut(&[]), 0);
    }

    #[test]
    fn the_writer_reports_every_byte_written() {
        let mut w = TracingWriter {
            plugin: Arc::from("p"),
            stream: Stream::Stdout,
            lines: Lines::default(),
        };
        assert_eq!(w.write(b"one\ntwo").ok(), Some(7));
        assert_eq!(w.lines.line, b"two");
        let long = std::vec![b'x'; LINE_LIMIT * 2 + 10];
        assert_eq!(w.write(&long).ok(), Some(long.len()));
        assert!(w.lines.line.len() < LINE_LIMIT);
    }
}
