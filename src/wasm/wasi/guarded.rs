//! Guarded views of a preopened directory and of every file and directory opened through it,
//! enforcing the [`WasiPolicy`](super::WasiPolicy) for one instance:
//!
//! - the access mode: in a [`DirAccess::ReadOnly`] directory every operation that would change
//!   the filesystem fails with `EPERM`;
//! - the open-file cap: each file or directory opened holds a [`Slot`] of the instance's
//!   [`Budget`] until it is closed; past the cap, opening fails with `EMFILE`;
//! - the write quota, if set: see [`super::WasiPolicy::write_quota`] for what counts; past it,
//!   the operation fails with `EDQUOT` and changes nothing.
//!
//! Everything else is passed through to the `cap-std` directory (which keeps paths inside the
//! preopen). Without a quota, reads and writes cost nothing extra; with one, a write asks the
//! file for its size (and position), a creating open asks whether the path exists.

use std::any::Any;
use std::boxed::Box;
use std::io::{IoSlice, IoSliceMut, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use wasmi_wasi::wasi_common::dir::{OpenResult, ReaddirCursor, ReaddirEntity};
use wasmi_wasi::wasi_common::file::{Advice, FdFlags, FileType, Filestat, OFlags};
use wasmi_wasi::wasi_common::{Error, ErrorExt, SystemTimeSpec, WasiDir, WasiFile};

use super::DirAccess;
use super::budget::{Budget, ENTRY_BYTES, Slot, write_cost};

/// A directory under the instance's rules: a preopen, or one the guest opened.
pub(crate) struct GuardedDir {
    inner: Box<dyn WasiDir>,
    access: DirAccess,
    budget: Arc<Budget>,
    /// The place this directory takes in the open-file cap; none for a preopen (the policy
    /// grants those, the guest does not open them).
    _slot: Option<Slot>,
}

/// A file opened through a [`GuardedDir`].
struct GuardedFile {
    inner: Box<dyn WasiFile>,
    access: DirAccess,
    budget: Arc<Budget>,
    /// Opened or set to append: a write lands at the end, whatever the position.
    append: bool,
    _slot: Slot,
}

fn denied<T>() -> Result<T, Error> {
    Err(Error::perm())
}

fn total_len(bufs: &[IoSlice<'_>]) -> u64 {
    bufs.iter()
        .map(|b| b.len() as u64)
        .fold(0, u64::saturating_add)
}

impl GuardedDir {
    /// The preopened directory `dir`, under `access` and `budget`.
    pub(crate) fn preopen(dir: Box<dyn WasiDir>, access: DirAccess, budget: Arc<Budget>) -> Self {
        Self {
            inner: dir,
            access,
            budget,
            _slot: None,
        }
    }

    fn read_only(&self) -> bool {
        self.access == DirAccess::ReadOnly
    }

    /// Charges [`ENTRY_BYTES`] (plus `extra`) for an entry `op` creates; refunds it if `op`
    /// fails.
    async fn creating<T>(
        &self,
        extra: u64,
        op: impl core::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let cost = ENTRY_BYTES.saturating_add(extra);
        self.budget.charge(cost)?;
        op.await.inspect_err(|_| self.budget.refund(cost))
    }

    /// The directory behind `dest` for a rename or link from this one: another guarded
    /// directory's own (cap-std only links and renames between its own directories), refused
    /// if read-only.
    fn target<'a>(&self, dest: &'a dyn WasiDir) -> Result<&'a dyn WasiDir, Error> {
        if self.read_only() {
            return denied();
        }
        match dest.as_any().downcast_ref::<GuardedDir>() {
            Some(g) if g.read_only() => denied(),
            Some(g) => Ok(&*g.inner),
            None => Ok(dest),
        }
    }
}

#[wiggle::async_trait]
impl WasiDir for GuardedDir {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn open_file(
        &self,
        symlink_follow: bool,
        path: &str,
        oflags: OFlags,
        read: bool,
        write: bool,
        fdflags: FdFlags,
    ) -> Result<OpenResult, Error> {
        let changes = OFlags::CREATE | OFlags::EXCLUSIVE | OFlags::TRUNCATE;
        if self.read_only()
            && (write || oflags.intersects(changes) || fdflags.contains(FdFlags::APPEND))
        {
            return denied();
        }
        let slot = self.budget.open()?;
        // A new file costs an entry. Whether it will be new is only asked with a quota, and
        // an open that fails gives it back.
        let creates = self.budget.has_quota()
            && oflags.contains(OFlags::CREATE)
            && (oflags.contains(OFlags::EXCLUSIVE)
                || self
                    .inner
                    .get_path_filestat(path, symlink_follow)
                    .await
                    .is_err());
        let cost = if creates { ENTRY_BYTES } else { 0 };
        self.budget.charge(cost)?;
        let opened = self
            .inner
            .open_file(
                symlink_follow,
                path,
                oflags,
                read,
                write && !self.read_only(),
                fdflags,
            )
            .await
            .inspect_err(|_| self.budget.refund(cost))?;
        Ok(match opened {
            OpenResult::File(f) => OpenResult::File(Box::new(GuardedFile {
                inner: f,
                access: self.access,
                budget: self.budget.clone(),
                append: fdflags.contains(FdFlags::APPEND),
                _slot: slot,
            })),
            OpenResult::Dir(d) => OpenResult::Dir(Box::new(GuardedDir {
                inner: d,
                access: self.access,
                budget: self.budget.clone(),
                _slot: Some(slot),
            })),
        })
    }

    async fn create_dir(&self, path: &str) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.creating(0, self.inner.create_dir(path)).await
    }

    async fn readdir(
        &self,
        cursor: ReaddirCursor,
    ) -> Result<Box<dyn Iterator<Item = Result<ReaddirEntity, Error>> + Send>, Error> {
        self.inner.readdir(cursor).await
    }

    async fn symlink(&self, old_path: &str, new_path: &str) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        let target = old_path.len() as u64;
        self.creating(target, self.inner.symlink(old_path, new_path))
            .await
    }

    async fn remove_dir(&self, path: &str) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.inner.remove_dir(path).await
    }

    async fn unlink_file(&self, path: &str) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.inner.unlink_file(path).await
    }

    async fn read_link(&self, path: &str) -> Result<PathBuf, Error> {
        self.inner.read_link(path).await
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.inner.get_filestat().await
    }

    async fn get_path_filestat(
        &self,
        path: &str,
        follow_symlinks: bool,
    ) -> Result<Filestat, Error> {
        self.inner.get_path_filestat(path, follow_symlinks).await
    }

    async fn rename(&self, path: &str, dest_dir: &dyn WasiDir, dest: &str) -> Result<(), Error> {
        let dest_dir = self.target(dest_dir)?;
        self.inner.rename(path, dest_dir, dest).await
    }

    async fn hard_link(
        &self,
        path: &str,
        target_dir: &dyn WasiDir,
        target_path: &str,
    ) -> Result<(), Error> {
        let target_dir = self.target(target_dir)?;
        self.creating(0, self.inner.hard_link(path, target_dir, target_path))
            .await
    }

    async fn set_times(
        &self,
        path: &str,
        atime: Option<SystemTimeSpec>,
        mtime: Option<SystemTimeSpec>,
        follow_symlinks: bool,
    ) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.inner
            .set_times(path, atime, mtime, follow_symlinks)
            .await
    }
}

impl GuardedFile {
    fn read_only(&self) -> bool {
        self.access == DirAccess::ReadOnly
    }

    /// Runs `write`, which writes `len` bytes at `start` (`None`: where the file's position or
    /// append mode puts them), charging the quota for it first; gives back what it did not use.
    async fn charged_write(
        &self,
        start: Option<u64>,
        len: u64,
        write: impl core::future::Future<Output = Result<u64, Error>>,
    ) -> Result<u64, Error> {
        let size = self.inner.get_filestat().await?.size;
        let start = match start {
            _ if self.append => size,
            Some(offset) => offset,
            None => self.inner.seek(SeekFrom::Current(0)).await?,
        };
        let cost = write_cost(start, len, size);
        self.budget.charge(cost)?;
        match write.await {
            Ok(n) => {
                self.budget
                    .refund(cost.saturating_sub(write_cost(start, n, size)));
                Ok(n)
            }
            Err(e) => {
                self.budget.refund(cost);
                Err(e)
            }
        }
    }
}

#[wiggle::async_trait]
impl WasiFile for GuardedFile {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn get_filetype(&self) -> Result<FileType, Error> {
        self.inner.get_filetype().await
    }

    #[cfg(unix)]
    fn pollable(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.inner.pollable()
    }

    fn isatty(&self) -> bool {
        self.inner.isatty()
    }

    async fn datasync(&self) -> Result<(), Error> {
        self.inner.datasync().await
    }

    async fn sync(&self) -> Result<(), Error> {
        self.inner.sync().await
    }

    async fn get_fdflags(&self) -> Result<FdFlags, Error> {
        self.inner.get_fdflags().await
    }

    async fn set_fdflags(&mut self, flags: FdFlags) -> Result<(), Error> {
        if self.read_only() && flags.contains(FdFlags::APPEND) {
            return denied();
        }
        self.inner.set_fdflags(flags).await?;
        self.append = flags.contains(FdFlags::APPEND);
        Ok(())
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.inner.get_filestat().await
    }

    async fn set_filestat_size(&self, size: u64) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        if !self.budget.has_quota() {
            return self.inner.set_filestat_size(size).await;
        }
        let growth = size.saturating_sub(self.inner.get_filestat().await?.size);
        self.budget.charge(growth)?;
        self.inner
            .set_filestat_size(size)
            .await
            .inspect_err(|_| self.budget.refund(growth))
    }

    async fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<(), Error> {
        self.inner.advise(offset, len, advice).await
    }

    async fn set_times(
        &self,
        atime: Option<SystemTimeSpec>,
        mtime: Option<SystemTimeSpec>,
    ) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.inner.set_times(atime, mtime).await
    }

    async fn read_vectored<'a>(&self, bufs: &mut [IoSliceMut<'a>]) -> Result<u64, Error> {
        self.inner.read_vectored(bufs).await
    }

    async fn read_vectored_at<'a>(
        &self,
        bufs: &mut [IoSliceMut<'a>],
        offset: u64,
    ) -> Result<u64, Error> {
        self.inner.read_vectored_at(bufs, offset).await
    }

    async fn write_vectored<'a>(&self, bufs: &[IoSlice<'a>]) -> Result<u64, Error> {
        if self.read_only() {
            return denied();
        }
        if !self.budget.has_quota() {
            return self.inner.write_vectored(bufs).await;
        }
        self.charged_write(None, total_len(bufs), self.inner.write_vectored(bufs))
            .await
    }

    async fn write_vectored_at<'a>(&self, bufs: &[IoSlice<'a>], offset: u64) -> Result<u64, Error> {
        if self.read_only() {
            return denied();
        }
        if !self.budget.has_quota() {
            return self.inner.write_vectored_at(bufs, offset).await;
        }
        self.charged_write(
            Some(offset),
            total_len(bufs),
            self.inner.write_vectored_at(bufs, offset),
        )
        .await
    }

    async fn seek(&self, pos: SeekFrom) -> Result<u64, Error> {
        self.inner.seek(pos).await
    }

    async fn peek(&self, buf: &mut [u8]) -> Result<u64, Error> {
        self.inner.peek(buf).await
    }

    fn num_ready_bytes(&self) -> Result<u64, Error> {
        self.inner.num_ready_bytes()
    }

    async fn readable(&self) -> Result<(), Error> {
        self.inner.readable().await
    }

    async fn writable(&self) -> Result<(), Error> {
        if self.read_only() {
            return denied();
        }
        self.inner.writable().await
    }
}
