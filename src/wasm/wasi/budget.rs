//! What one instance may still open and write through WASI: the cap on the files and
//! directories it holds open, and the optional write quota. One [`Budget`] per plugin,
//! shared by every directory and file it reaches (see [`super::guarded`]).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use wasmi_wasi::wasi_common::Error;
use wasmi_wasi::wasi_common::snapshots::preview_1::types::Errno;

/// What a new directory entry (a file, a directory, a link) costs against the write quota, in
/// bytes: about one filesystem block, so creating empty files or directories in a loop runs
/// out of quota too.
pub(crate) const ENTRY_BYTES: u64 = 4096;

/// The open-file count and the bytes written of one instance.
#[derive(Debug)]
pub(crate) struct Budget {
    max_open: usize,
    open: AtomicUsize,
    quota: Option<u64>,
    charged: AtomicU64,
}

/// One file or directory held open; gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<Budget>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Budget {
    /// Up to `max_open` files and directories open at once, and `quota` bytes written if set.
    pub(crate) fn new(max_open: usize, quota: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            max_open,
            open: AtomicUsize::new(0),
            quota,
            charged: AtomicU64::new(0),
        })
    }

    /// A place for one more open file or directory, or `EMFILE` when all are taken.
    pub(crate) fn open(self: &Arc<Self>) -> Result<Slot, Error> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_open).then_some(n + 1)
            })
            .map(|_| Slot(self.clone()))
            .map_err(|_| {
                Error::from(Errno::Mfile).context(alloc::format!(
                    "the plugin has {} files and directories open, its limit",
                    self.max_open
                ))
            })
    }

    /// Whether writes are counted at all.
    pub(crate) fn has_quota(&self) -> bool {
        self.quota.is_some()
    }

    /// Takes `bytes` from the quota, or fails with `EDQUOT` (taking nothing) when they do not
    /// fit. Without a quota, always succeeds.
    pub(crate) fn charge(&self, bytes: u64) -> Result<(), Error> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        if bytes == 0 {
            return Ok(());
        }
        self.charged
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= quota)
            })
            .map(|_| ())
            .map_err(|used| {
                Error::from(Errno::Dquot).context(alloc::format!(
                    "write quota: {used} of {quota} bytes used, {bytes} more asked"
                ))
            })
    }

    /// Gives back bytes [`charge`](Budget::charge)d for an operation that failed or did less.
    pub(crate) fn refund(&self, bytes: u64) {
        if self.quota.is_some() && bytes != 0 {
            // Never below zero: only what was charged is refunded.
            let _ = self
                .charged
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                    Some(used.saturating_sub(bytes))
                });
        }
    }
}

/// What a write of `len` bytes at `start` into a file of `size` bytes costs: the larger of the
/// bytes written and the bytes it grows the file by (a write past the end also pays for the
/// gap it leaves, which a filesystem without holes fills).
pub(crate) fn write_cost(start: u64, len: u64, size: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    len.max(start.saturating_add(len).saturating_sub(size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmi_wasi::wasi_common::snapshots::preview_1::types::Errno;

    fn errno(e: Error) -> Option<Errno> {
        e.downcast().ok()
    }

    #[test]
    fn slots_are_capped_and_given_back_on_drop() {
        let b = Budget::new(2, None);
        let one = b.open().ok();
        let two = b.open().ok();
        assert!(one.is_some() && two.is_some());
        assert_eq!(b.open().err().and_then(errno), Some(Errno::Mfile));
        drop(one);
        assert!(b.open().is_ok());
        assert_eq!(
            Budget::new(0, None).open().err().and_then(errno),
            Some(Errno::Mfile)
        );
    }

    #[test]
    fn the_quota_takes_what_fits_and_refunds() {
        let b = Budget::new(1, Some(100));
        assert!(b.has_quota());
        assert!(b.charge(60).is_ok());
        assert_eq!(b.charge(41).err().and_then(errno), Some(Errno::Dquot));
        assert!(b.charge(40).is_ok());
        assert_eq!(b.charge(1).err().and_then(errno), Some(Errno::Dquot));
        assert!(b.charge(0).is_ok());
        b.refund(30);
        assert!(b.charge(30).is_ok());
        assert_eq!(b.charge(u64::MAX).err().and_then(errno), Some(Errno::Dquot));
        let unlimited = Budget::new(1, None);
        assert!(!unlimited.has_quota());
        assert!(unlimited.charge(u64::MAX).is_ok() && unlimited.charge(u64::MAX).is_ok());
    }

    #[test]
    fn a_write_costs_its_bytes_or_the_growth_if_larger() {
        assert_eq!(write_cost(0, 10, 0), 10, "a new file");
        assert_eq!(write_cost(0, 10, 100), 10, "an overwrite");
        assert_eq!(write_cost(95, 10, 100), 10, "partly past the end");
        assert_eq!(write_cost(1000, 10, 100), 910, "the gap too");
        assert_eq!(
            write_cost(1000, 0, 100),
            0,
            "nothing written: nothing grows"
        );
        assert_eq!(write_cost(u64::MAX, 10, 0), u64::MAX);
    }
}
