//! Fills memory with deterministic data that looks like a program's heap.
//!
//! Scanners behave differently on a zeroed page than on a busy heap: the
//! first byte of a pattern is rare in zeros but common in text. So the
//! benchmark region gets what a heap mostly holds: about half zeros,
//! about a third 8-byte pointers into the usual user-space range, and the
//! rest short runs of ASCII words. The data comes from a fixed seed, so
//! every run of a benchmark scans the same bytes.

/// splitmix64 (Steele, Lea and Flood, 2014): tiny, fast, and good enough
/// to make filler that no scanner can predict or skip.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound`; `bound` must not be zero.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// Heap data is laid out in blocks of this many bytes, each one kind.
const BLOCK: usize = 64;

/// Words for the text blocks. None of them contains an underscore, so
/// they can never spell the standard prefix; for other prefixes the
/// caller scrubs accidental matches after filling.
const WORDS: [&[u8]; 24] = [
    b"the", b"request", b"user", b"session", b"error", b"value", b"null",
    b"config", b"buffer", b"return", b"http", b"index", b"python", b"list",
    b"object", b"string", b"length", b"token", b"cache", b"debug", b"json",
    b"path", b"time", b"status",
];

/// Overwrite all of `dest` with heap-like data drawn from `rng`.
pub fn fill(dest: &mut [u8], rng: &mut Rng) {
    let mut blocks = dest.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        match rng.below(16) {
            0..=7 => block.fill(0),
            8..=12 => pointers(block, rng),
            _ => text(block, rng),
        }
    }
    blocks.into_remainder().fill(0);
}

/// Eight words: pointers of the form 0x00007fxx_xxxxxxxx (8-aligned),
/// small integers and zeros.
fn pointers(block: &mut [u8], rng: &mut Rng) {
    for word in block.chunks_exact_mut(8) {
        let r = rng.next();
        let value = match r & 3 {
            0 | 1 => (0x7f << 40) | ((r >> 8) & 0xff_ffff_fff8),
            2 => r >> 58,
            _ => 0,
        };
        word.copy_from_slice(&value.to_le_bytes());
    }
}

/// Words separated by spaces, NUL-terminated like a C string.
fn text(block: &mut [u8], rng: &mut Rng) {
    let end = block.len() - 1;
    let mut at = 0;
    loop {
        let word = WORDS[rng.below(WORDS.len() as u64) as usize];
        if at + word.len() > end {
            break;
        }
        block[at..at + word.len()].copy_from_slice(word);
        at += word.len();
        if at < end {
            block[at] = b' ';
            at += 1;
        }
    }
    block[at..].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let mut a = vec![1u8; 10_000];
        let mut b = vec![2u8; 10_000];
        fill(&mut a, &mut Rng::new(5));
        fill(&mut b, &mut Rng::new(5));
        assert_eq!(a, b);
    }

    #[test]
    fn filler_is_mostly_zero_with_text_and_pointers() {
        let mut buf = vec![0xaau8; 1 << 20];
        fill(&mut buf, &mut Rng::new(1));
        let zeros = buf.iter().filter(|&&b| b == 0).count();
        let letters = buf.iter().filter(|b| b.is_ascii_lowercase()).count();
        assert!(zeros > buf.len() / 2, "{zeros} zeros");
        assert!(letters > buf.len() / 20, "{letters} letters");
        assert!(buf.windows(2).any(|w| w == [0x7f, 0]));
    }
}
