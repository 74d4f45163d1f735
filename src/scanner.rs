//! Searching one filled buffer, and the rule that makes chunk overlap
//! report each match once.
//!
//! A chunk owns the addresses `[addr, addr + own)` and carries up to
//! `max_len - 1` bytes past them, read again by the next chunk. A match is
//! reported by the chunk in which it starts, so a match straddling a
//! boundary is seen whole by the chunk before it and ignored by the one
//! after it, which only sees its tail.

use crate::pattern::Patterns;

/// How many bytes of each match are kept to show; the rest is counted.
pub const SHOWN: usize = 64;

/// A buffer the reader filled, on its way to the scanner.
///
/// The scanner owns `buf` from the moment it receives it until it sends
/// it back on the recycle channel; nobody else keeps a reference.
pub struct Filled {
    pub buf: Vec<u8>,
    /// Where in `buf` the target's bytes start (see `pipeline::skew`).
    pub at: usize,
    /// Bytes of target memory from `at` on; `pre + own <= len`, and
    /// `at + len <= buf.len()`.
    pub len: usize,
    /// Target address of `buf[at]`.
    pub addr: u64,
    /// Bytes before the span this chunk reports for: context only.
    pub pre: usize,
    /// Length of the span this chunk reports for, from `pre` on.
    pub own: usize,
    /// Index of the region in the target's region list.
    pub region: usize,
}

/// One match, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Target address of the first matched byte.
    pub addr: u64,
    /// Index of the region in the target's region list.
    pub region: usize,
    /// Which pattern matched (see `Patterns::name`).
    pub pattern: usize,
    /// Full length of the match.
    pub len: usize,
    /// The first `SHOWN` bytes of the match at most.
    pub bytes: Vec<u8>,
    /// Up to the requested number of bytes that follow the match.
    pub after: Vec<u8>,
}

/// Matches of one scan, kept up to a cap so that a pattern that matches
/// everywhere cannot exhaust memscan's memory; the total keeps counting.
#[derive(Debug, Default)]
pub struct Hits {
    /// Kept matches; never more than `cap`.
    pub list: Vec<Hit>,
    /// Every match found, kept or not.
    pub total: u64,
    cap: usize,
}

impl Hits {
    pub fn with_cap(cap: usize) -> Hits {
        Hits { list: Vec::new(), total: 0, cap }
    }

    fn push(&mut self, hit: Hit) {
        self.total += 1;
        if self.list.len() < self.cap {
            self.list.push(hit);
        }
    }

    /// Folds another scanner's matches into these, keeping the cap.
    ///
    /// Each scanner keeps its lowest-addressed matches (jobs go out in
    /// address order), so sorting the union and cutting it keeps the
    /// lowest `cap` overall: the same set on every run, whichever thread
    /// was first. A target cannot push a match out of the report by
    /// winning a race.
    pub fn absorb(&mut self, other: Hits) {
        self.list.extend(other.list);
        self.list.sort_by_key(|h| h.addr);
        self.list.truncate(self.cap);
        self.total += other.total;
    }
}

/// Searches one chunk and records the matches that start in its span,
/// with up to `after` bytes of what follows each.
pub fn scan(
    patterns: &Patterns,
    chunk: &Filled,
    after: usize,
    hits: &mut Hits,
) {
    debug_assert!(chunk.pre + chunk.own <= chunk.len);
    debug_assert!(chunk.at + chunk.len <= chunk.buf.len());
    let data = &chunk.buf[chunk.at..chunk.at + chunk.len];
    patterns.for_each(data, chunk.pre, |range, pattern| {
        if range.start >= chunk.pre + chunk.own {
            return;
        }
        let shown = range.start..range.end.min(range.start + SHOWN);
        let tail = range.end..range.end.saturating_add(after).min(data.len());
        hits.push(Hit {
            addr: chunk.addr + range.start as u64,
            region: chunk.region,
            pattern,
            len: range.len(),
            bytes: data[shown].to_vec(),
            after: data[tail].to_vec(),
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(data: &[u8], addr: u64, own: usize) -> Filled {
        Filled {
            buf: data.to_vec(),
            at: 0,
            len: data.len(),
            addr,
            pre: 0,
            own,
            region: 0,
        }
    }

    #[test]
    fn straddling_match_found_once() {
        let p = Patterns::new(&["secret".to_string()], &[], 256).unwrap();
        // Memory "....sec|ret...." with the boundary at 0x1007; overlap is
        // max_len - 1 = 5 bytes.
        let memory = b"....secret......";
        let first = chunk(&memory[..7 + 5], 0x1000, 7);
        let second = chunk(&memory[7..], 0x1007, memory.len() - 7);
        let mut hits = Hits::with_cap(10);
        scan(&p, &first, 0, &mut hits);
        scan(&p, &second, 0, &mut hits);
        assert_eq!(hits.total, 1);
        assert_eq!(hits.list[0].addr, 0x1004);
        assert_eq!(hits.list[0].bytes, b"secret");
    }

    #[test]
    fn match_starting_in_overlap_left_to_next_chunk() {
        let p = Patterns::new(&["ab".to_string()], &[], 256).unwrap();
        let mut hits = Hits::with_cap(10);
        scan(&p, &chunk(b"xxab", 0, 2), 0, &mut hits);
        assert_eq!(hits.total, 0);
        scan(&p, &chunk(b"ab", 2, 2), 0, &mut hits);
        assert_eq!(hits.list[0].addr, 2);
    }

    #[test]
    fn bytes_after_match_kept_up_to_chunk_end() {
        let p = Patterns::new(&["key=".to_string()], &[], 256).unwrap();
        let mut hits = Hits::with_cap(10);
        scan(&p, &chunk(b"key=abcdef key=xy", 0, 17), 4, &mut hits);
        assert_eq!(hits.list[0].after, b"abcd");
        assert_eq!(hits.list[1].after, b"xy");
    }

    #[test]
    fn word_boundary_sees_the_byte_before_and_after_the_chunk() {
        let p = Patterns::new(&[], &["\\bword\\b".to_string()], 256).unwrap();
        let mut hits = Hits::with_cap(10);
        // Own span starts at "word", but an "x" precedes it: no match.
        let glued = Filled {
            buf: b"xword ".to_vec(),
            at: 0,
            len: 6,
            addr: 0,
            pre: 1,
            own: 5,
            region: 0,
        };
        scan(&p, &glued, 0, &mut hits);
        assert_eq!(hits.total, 0);
        // The same with a space before it matches, at the right address.
        let spaced = Filled { buf: b" word ".to_vec(), ..glued };
        scan(&p, &spaced, 0, &mut hits);
        assert_eq!((hits.total, hits.list[0].addr), (1, 1));
    }

    #[test]
    fn cap_keeps_counting() {
        let p = Patterns::new(&["a".to_string()], &[], 256).unwrap();
        let mut hits = Hits::with_cap(2);
        scan(&p, &chunk(b"aaaaa", 0, 5), 0, &mut hits);
        assert_eq!((hits.list.len(), hits.total), (2, 5));
        let mut more = Hits::with_cap(2);
        scan(&p, &chunk(b"aa", 5, 2), 0, &mut more);
        hits.absorb(more);
        assert_eq!((hits.list.len(), hits.total), (2, 7));
    }

    #[test]
    fn long_match_shown_truncated_but_length_kept() {
        let p = Patterns::new(&[], &["k=[a-z]+".to_string()], 256).unwrap();
        let data = [b"k=".as_slice(), &[b'z'; 100]].concat();
        let mut hits = Hits::with_cap(1);
        scan(&p, &chunk(&data, 0, data.len()), 0, &mut hits);
        assert_eq!(hits.list[0].len, 102);
        assert_eq!(hits.list[0].bytes.len(), SHOWN);
    }
}
