//! Reading values out of guest memory. Every pointer and length comes from the plugin, so every
//! access is bounds-checked with overflow-safe arithmetic and fails with a message that says
//! what was out of range.

use alloc::format;
use alloc::string::String;

/// `len` bytes at `ptr`, or why not. Zero bytes are always there, whatever `ptr` is.
pub(crate) fn bytes(mem: &[u8], ptr: u32, len: u32) -> Result<&[u8], String> {
    let range = range(mem.len(), ptr, len)?;
    Ok(mem.get(range).unwrap_or_default())
}

/// `len` bytes at `ptr` to write to, or why not. Zero bytes are always there.
pub(crate) fn bytes_mut(mem: &mut [u8], ptr: u32, len: u32) -> Result<&mut [u8], String> {
    let range = range(mem.len(), ptr, len)?;
    Ok(mem.get_mut(range).unwrap_or_default())
}

/// Where `len` bytes at `ptr` are in a memory of `size` bytes, or why they are not in it: the
/// one bounds check of every guest memory access.
fn range(size: usize, ptr: u32, len: u32) -> Result<core::ops::Range<usize>, String> {
    if len == 0 {
        return Ok(0..0);
    }
    let start = ptr as usize;
    match start.checked_add(len as usize) {
        Some(end) if end <= size => Ok(start..end),
        _ => Err(format!(
            "{len} bytes at {ptr:#x} are outside the plugin's memory ({size} bytes)"
        )),
    }
}

/// The two little-endian `u32`s of a legacy result slot: `(ptr, len)` or `(ptr, count)`.
pub(crate) fn u32_pair(mem: &[u8], slot: u32) -> Result<(u32, u32), String> {
    let b = bytes(mem, slot, 8)?;
    match (b.get(0..4), b.get(4..8)) {
        (Some(lo), Some(hi)) => Ok((le_u32(lo), le_u32(hi))),
        _ => Err(format!("result slot at {slot:#x} is not 8 bytes")),
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u32::from_le_bytes(a)
}

/// A UTF-8 string of at most `limit` bytes at `ptr`.
pub(crate) fn str(mem: &[u8], ptr: u32, len: u32, limit: u32) -> Result<&str, String> {
    if len > limit {
        return Err(format!("string is {len} bytes long; the limit is {limit}"));
    }
    let b = bytes(mem, ptr, len)?;
    core::str::from_utf8(b).map_err(|e| format!("string at {ptr:#x} is not valid UTF-8 ({e})"))
}

/// `count` little-endian `i64`s at `ptr`.
pub(crate) fn i64s(
    mem: &[u8],
    ptr: u32,
    count: u32,
) -> Result<impl ExactSizeIterator<Item = i64> + '_, String> {
    let len = count
        .checked_mul(8)
        .ok_or_else(|| format!("{count} i64 values do not fit in a 32-bit memory"))?;
    let b = bytes(mem, ptr, len)?;
    Ok(b.chunks_exact(8).map(|c| {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        i64::from_le_bytes(a)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn bounds_are_checked_without_overflow() {
        let mem = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(bytes(&mem, 1, 2), Ok(&mem[1..3]));
        assert_eq!(bytes(&mem, 9, 0), Ok(&mem[9..9]));
        assert!(bytes(&mem, 8, 2).is_err());
        assert!(bytes(&mem, u32::MAX, u32::MAX).is_err());
        assert_eq!(
            bytes(&mem, u32::MAX, 0),
            Ok(&[][..]),
            "zero bytes need no valid pointer"
        );
        assert_eq!(u32_pair(&mem, 0), Ok((0x0403_0201, 0x0807_0605)));
        assert!(u32_pair(&mem, 2).is_err());
    }

    #[test]
    fn strings_are_limited_and_checked() {
        let mem = b"hello\xff";
        assert_eq!(str(mem, 0, 5, 16), Ok("hello"));
        assert!(str(mem, 0, 6, 16).unwrap_err().contains("UTF-8"));
        assert!(str(mem, 0, 5, 4).unwrap_err().contains("limit"));
    }

    #[test]
    fn i64_arrays() {
        let mut mem = Vec::new();
        for v in [1i64, -2, i64::MAX] {
            mem.extend_from_slice(&v.to_le_bytes());
        }
        let got: Vec<i64> = i64s(&mem, 0, 3).unwrap().collect();
        assert_eq!(got, [1, -2, i64::MAX]);
        assert!(i64s(&mem, 8, 3).is_err());
        assert!(i64s(&mem, 0, u32::MAX).is_err());
    }
}
