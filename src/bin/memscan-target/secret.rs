//! Writes secrets straight into their destination, one byte at a time.
//!
//! A secret is the prefix, a decimal number zero-padded to three digits
//! (more once it passes 999), an underscore and 32 lowercase hex digits
//! of fresh random bytes. The target promises that the process holds no
//! copy of a secret, nor of its prefix, other than the planted ones, so
//! this module never puts either into a `String`, a literal or a scratch
//! buffer: the prefix is kept as separate parts and the random bytes are
//! hex-encoded in place inside the destination.

use anyhow::{bail, Result};
use memchr::memmem;

/// The hex field is this many random bytes, encoded as twice as many
/// lowercase hex digits.
const RANDOM_LEN: usize = 16;

/// The default prefix, split into parts and masked, so that neither this
/// binary's read-only data nor any single heap allocation holds it whole.
const DEFAULT_PARTS: [&[u8]; 3] =
    [b"\x2e\x35\x2a", b"\x29\x3f\x39\x28\x3f\x2e", b"\x05"];
const MASK: u8 = 0x5a;

/// The prefix every secret starts with, as the parts it was given in.
///
/// Invariant: at least two parts, none empty, and no part contains a NUL
/// byte. Each part is its own heap allocation, and malloc puts a chunk
/// header between allocations, so the parts never sit end to end.
pub struct Prefix {
    parts: Vec<Vec<u8>>,
}

impl Prefix {
    /// The standard prefix, unmasked at run time.
    pub fn standard() -> Prefix {
        // black_box keeps the compiler from folding the unmasking into a
        // constant, which would put the whole prefix in read-only data.
        let mask = std::hint::black_box(MASK);
        let parts = DEFAULT_PARTS
            .iter()
            .map(|part| part.iter().map(|b| b ^ mask).collect())
            .collect();
        Prefix { parts }
    }

    /// A prefix from parts given on the command line.
    pub fn from_parts(parts: Vec<String>) -> Result<Prefix> {
        if parts.len() < 2 {
            // One part would leave a whole copy of the prefix in argv.
            bail!("--prefix-parts needs at least two parts");
        }
        if parts.iter().any(|p| p.is_empty()) {
            bail!("--prefix-parts: a part is empty");
        }
        Ok(Prefix {
            parts: parts.into_iter().map(String::into_bytes).collect(),
        })
    }

    /// The length of the whole prefix in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Count the places in `hay` where the whole prefix starts.
    ///
    /// Occurrences may overlap. The prefix is matched part by part, so no
    /// contiguous copy of it is needed.
    pub fn count_in(&self, hay: &[u8]) -> usize {
        let mut count = 0;
        self.for_each_in(hay, |_| count += 1);
        count
    }

    /// Break every occurrence of the prefix in `hay` by zeroing its
    /// first byte, so that planting can add an exact number of them.
    ///
    /// A zero cannot start a new occurrence because no part holds one.
    pub fn scrub(&self, hay: &mut [u8]) {
        let mut found = Vec::new();
        self.for_each_in(hay, |at| found.push(at));
        for at in found {
            hay[at] = 0;
        }
    }

    fn for_each_in(&self, hay: &[u8], mut f: impl FnMut(usize)) {
        let first = memmem::Finder::new(&self.parts[0]);
        let mut from = 0;
        while let Some(found) = first.find(&hay[from..]) {
            let at = from + found;
            if self.rest_matches(&hay[at + self.parts[0].len()..]) {
                f(at);
            }
            from = at + 1;
        }
    }

    fn rest_matches(&self, mut hay: &[u8]) -> bool {
        for part in &self.parts[1..] {
            match hay.strip_prefix(part.as_slice()) {
                Some(rest) => hay = rest,
                None => return false,
            }
        }
        true
    }
}

/// The number of digits `number` takes, zero-padded to at least three.
fn digits(number: u64) -> usize {
    let mut n = 3;
    while n < 20 && number >= 10u64.pow(n as u32) {
        n += 1;
    }
    n
}

/// The length of the secret with this number.
pub fn secret_len(prefix: &Prefix, number: u64) -> usize {
    prefix.len() + digits(number) + 1 + 2 * RANDOM_LEN
}

/// Write the secret with this number at the start of `dest`; return its
/// length. The random part comes from getrandom(2).
pub fn plant(dest: &mut [u8], prefix: &Prefix, number: u64) -> Result<usize> {
    let len = secret_len(prefix, number);
    let Some(dest) = dest.get_mut(..len) else {
        bail!("no room for a {len}-byte secret");
    };
    let hex = write_head(dest, prefix, number);
    fill_random(&mut dest[hex + RANDOM_LEN..])?;
    encode_in_place(&mut dest[hex..]);
    Ok(len)
}

/// Write prefix, digits and underscore; return where the hex field starts.
fn write_head(dest: &mut [u8], prefix: &Prefix, number: u64) -> usize {
    let mut at = 0;
    for part in &prefix.parts {
        for &byte in part {
            dest[at] = byte;
            at += 1;
        }
    }
    let width = digits(number);
    let mut rest = number;
    for i in (0..width).rev() {
        dest[at + i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    at += width;
    dest[at] = b'_';
    at + 1
}

fn fill_random(dest: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < dest.len() {
        let want = dest.len() - done;
        // SAFETY: the pointer and length describe the unfilled tail of
        // `dest`, which is valid for writes and borrowed mutably here.
        let got = unsafe {
            libc::getrandom(dest[done..].as_mut_ptr().cast(), want, 0)
        };
        if got < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            bail!("getrandom failed: {err}");
        }
        done += got as usize;
    }
    Ok(())
}

/// Turn the random bytes in the second half of `field` into lowercase hex
/// over the whole field.
///
/// Working front to back, output bytes 2i and 2i+1 only overwrite random
/// bytes that were already encoded, or byte i itself, which is read
/// first; so no scratch copy of the random bytes is ever made.
fn encode_in_place(field: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in 0..RANDOM_LEN {
        let byte = field[RANDOM_LEN + i];
        field[2 * i] = HEX[usize::from(byte >> 4)];
        field[2 * i + 1] = HEX[usize::from(byte & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard_text() -> Vec<u8> {
        [&b"top"[..], b"secret", b"_"].concat()
    }

    #[test]
    fn standard_prefix_unmasks() {
        let prefix = Prefix::standard();
        assert_eq!(prefix.parts.concat(), standard_text());
        assert_eq!(prefix.len(), 10);
    }

    #[test]
    fn secret_has_padded_number_and_hex() {
        let prefix = Prefix::standard();
        let mut buf = [0xffu8; 64];
        let len = plant(&mut buf, &prefix, 7).unwrap();
        assert_eq!(len, 46);
        assert_eq!(&buf[..10], standard_text().as_slice());
        assert_eq!(&buf[10..14], b"007_");
        assert!(buf[14..46].iter().all(|b| b"0123456789abcdef".contains(b)));
        assert!(buf[46..].iter().all(|&b| b == 0xff));
    }

    #[test]
    fn number_grows_past_three_digits() {
        let prefix = Prefix::standard();
        let mut buf = [0u8; 64];
        assert_eq!(plant(&mut buf, &prefix, 999).unwrap(), 46);
        assert_eq!(&buf[10..14], b"999_");
        assert_eq!(plant(&mut buf, &prefix, 12345).unwrap(), 48);
        assert_eq!(&buf[10..16], b"12345_");
        assert_eq!(plant(&mut buf, &prefix, 0).unwrap(), 46);
        assert_eq!(&buf[10..14], b"000_");
    }

    #[test]
    fn hex_encoding_matches_the_random_bytes() {
        let mut field = [0u8; 32];
        field[16..].copy_from_slice(&[
            0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff, 0x10, 0x32, 0x54,
            0x76, 0x98, 0xba, 0xdc, 0xfe,
        ]);
        encode_in_place(&mut field);
        assert_eq!(&field, b"00017f80abcdefff1032547698badcfe");
    }

    #[test]
    fn too_small_destination_is_an_error() {
        let mut buf = [0u8; 45];
        assert!(plant(&mut buf, &Prefix::standard(), 1).is_err());
    }

    #[test]
    fn count_and_scrub_find_overlapping_occurrences() {
        let prefix = Prefix::from_parts(vec!["a".into(), "a".into()]).unwrap();
        let mut hay = *b"xaaa_aa";
        assert_eq!(prefix.count_in(&hay), 3);
        prefix.scrub(&mut hay);
        assert_eq!(prefix.count_in(&hay), 0);
    }

    #[test]
    fn prefix_needs_two_nonempty_parts() {
        assert!(Prefix::from_parts(vec!["ab".into()]).is_err());
        assert!(Prefix::from_parts(vec!["a".into(), String::new()]).is_err());
    }
}
