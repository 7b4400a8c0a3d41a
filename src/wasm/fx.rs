//! FxHash's mix (rustc's): a small, fast, non-cryptographic hash, for keys whose matches are
//! compared in full anyway (function names in a hash map, module bytes in the cache). Names
//! and modules come from plugins; a worst case made to collide slows only their own lookups.

use core::hash::{BuildHasher, Hasher};

/// Makes [`Fx`] hashers, for hash maps.
#[derive(Clone, Copy, Default)]
pub(crate) struct Build;

impl BuildHasher for Build {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx::default()
    }
}

#[derive(Default)]
pub(crate) struct Fx(u64);

impl Fx {
    /// Mixes in one word.
    #[inline]
    pub(crate) fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        // The rest (most names are short) as one word tagged with its length, without a call
        // to `memcpy`.
        let rest = chunks.remainder();
        let word = rest
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, b)| w | u64::from(*b) << (8 * i));
        self.add(word ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
