//! Read-only views of a preopened directory and of the files opened through it: every
//! operation that would change the filesystem fails with `EPERM`, everything else is passed
//! through to the `cap-std` directory (which keeps paths inside the preopen).

use std::any::Any;
use std::boxed::Box;
use std::io::{IoSlice, IoSliceMut, SeekFrom};
use std::path::PathBuf;

use wasmi_wasi::wasi_common::dir::{OpenResult, ReaddirCursor, ReaddirEntity};
use wasmi_wasi::wasi_common::file::{Advice, FdFlags, FileType, Filestat, OFlags};
use wasmi_wasi::wasi_common::{Error, ErrorExt, SystemTimeSpec, WasiDir, WasiFile};

/// A directory the guest may read but not change.
pub(crate) struct ReadOnlyDir(pub(crate) Box<dyn WasiDir>);

/// A file opened through a [`ReadOnlyDir`].
struct ReadOnlyFile(Box<dyn WasiFile>);

fn denied<T>() -> Result<T, Error> {
    Err(Error::perm())
}

#[wiggle::async_trait]
impl WasiDir for ReadOnlyDir {
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
        if write || oflags.intersects(changes) || fdflags.contains(FdFlags::APPEND) {
            return denied();
        }
        Ok(
            match self
                .0
                .open_file(symlink_follow, path, oflags, read, false, fdflags)
                .await?
            {
                OpenResult::File(f) => OpenResult::File(Box::new(ReadOnlyFile(f))),
                OpenResult::Dir(d) => OpenResult::Dir(Box::new(ReadOnlyDir(d))),
            },
        )
    }

    async fn create_dir(&self, _path: &str) -> Result<(), Error> {
        denied()
    }

    async fn readdir(
        &self,
        cursor: ReaddirCursor,
    ) -> Result<Box<dyn Iterator<Item = Result<ReaddirEntity, Error>> + Send>, Error> {
        self.0.readdir(cursor).await
    }

    async fn symlink(&self, _old_path: &str, _new_path: &str) -> Result<(), Error> {
        denied()
    }

    async fn remove_dir(&self, _path: &str) -> Result<(), Error> {
        denied()
    }

    async fn unlink_file(&self, _path: &str) -> Result<(), Error> {
        denied()
    }

    async fn read_link(&self, path: &str) -> Result<PathBuf, Error> {
        self.0.read_link(path).await
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.0.get_filestat().await
    }

    async fn get_path_filestat(
        &self,
        path: &str,
        follow_symlinks: bool,
    ) -> Result<Filestat, Error> {
        self.0.get_path_filestat(path, follow_symlinks).await
    }

    async fn rename(&self, _path: &str, _dest_dir: &dyn WasiDir, _dest: &str) -> Result<(), Error> {
        denied()
    }

    async fn hard_link(
        &self,
        _path: &str,
        _target_dir: &dyn WasiDir,
        _target_path: &str,
    ) -> Result<(), Error> {
        denied()
    }

    async fn set_times(
        &self,
        _path: &str,
        _atime: Option<SystemTimeSpec>,
        _mtime: Option<SystemTimeSpec>,
        _follow_symlinks: bool,
    ) -> Result<(), Error> {
        denied()
    }
}

#[wiggle::async_trait]
impl WasiFile for ReadOnlyFile {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn get_filetype(&self) -> Result<FileType, Error> {
        self.0.get_filetype().await
    }

    #[cfg(unix)]
    fn pollable(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.0.pollable()
    }

    fn isatty(&self) -> bool {
        self.0.isatty()
    }

    async fn get_fdflags(&self) -> Result<FdFlags, Error> {
        self.0.get_fdflags().await
    }

    async fn set_fdflags(&mut self, flags: FdFlags) -> Result<(), Error> {
        if flags.contains(FdFlags::APPEND) {
            return denied();
        }
        self.0.set_fdflags(flags).await
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.0.get_filestat().await
    }

    async fn set_filestat_size(&self, _size: u64) -> Result<(), Error> {
        denied()
    }

    async fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<(), Error> {
        self.0.advise(offset, len, advice).await
    }

    async fn set_times(
        &self,
        _atime: Option<SystemTimeSpec>,
        _mtime: Option<SystemTimeSpec>,
    ) -> Result<(), Error> {
        denied()
    }

    async fn read_vectored<'a>(&self, bufs: &mut [IoSliceMut<'a>]) -> Result<u64, Error> {
        self.0.read_vectored(bufs).await
    }

    async fn read_vectored_at<'a>(
        &self,
        bufs: &mut [IoSliceMut<'a>],
        offset: u64,
    ) -> Result<u64, Error> {
        self.0.read_vectored_at(bufs, offset).await
    }

    async fn write_vectored<'a>(&self, _bufs: &[IoSlice<'a>]) -> Result<u64, Error> {
        denied()
    }

    async fn write_vectored_at<'a>(
        &self,
        _bufs: &[IoSlice<'a>],
        _offset: u64,
    ) -> Result<u64, Error> {
        denied()
    }

    async fn seek(&self, pos: SeekFrom) -> Result<u64, Error> {
        self.0.seek(pos).await
    }

    async fn peek(&self, buf: &mut [u8]) -> Result<u64, Error> {
        self.0.peek(buf).await
    }

    fn num_ready_bytes(&self) -> Result<u64, Error> {
        self.0.num_ready_bytes()
    }

    async fn readable(&self) -> Result<(), Error> {
        self.0.readable().await
    }

    async fn writable(&self) -> Result<(), Error> {
        denied()
    }
}
