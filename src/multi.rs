//! Many literals at once, faster than an automaton on memory-like data.
//!
//! An Aho-Corasick automaton looks at every byte; with hundreds of
//! patterns it has no SIMD prefilter left and runs near 0.3-1 GB/s,
//! far below the 5 GB/s at which `process_vm_readv` delivers memory.
//! This is the Wu-Manber scheme (Wu and Manber, "A fast algorithm for
//! multi-pattern searching", 1994): slide a window as long as the
//! shortest pattern and look at its last three bytes. Where those bytes
//! occur in no pattern (true of zero runs and most pointer bytes, which
//! make up most of a heap), the window jumps by nearly its whole length.
//! Only where they occur at a pattern's window end are patterns compared.
//!
//! Matches come out leftmost-longest and non-overlapping, the same as
//! the automaton this replaces.
//!
//! TODO: at about 4.5 GB/s on heap-like data this is still a tenth of
//! `memmem` for one literal (issue 5 asks for 0.7 x). Each step is a
//! dependent chain of loads; a SIMD fingerprint filter in the manner of
//! Teddy (nibble masks over the patterns' first bytes, checked 16 or 32
//! bytes at a time, candidates verified here) would skip zero and pointer
//! words without walking them.

use std::ops::Range;

/// Width of the block whose shift is looked up. Three bytes rather than
/// two: with a thousand patterns most two-byte pairs of text occur in
/// some pattern, while three-byte blocks stay rare enough to jump.
const BLOCK: usize = 3;

/// Bits of the table index the blocks are hashed to.
const TABLE_BITS: u32 = 16;

/// Independent walks interleaved in one loop.
const LANES: usize = 8;

/// Longest window: shifts are stored in a byte.
const MAX_WINDOW: usize = 255;

pub struct WuManber {
    patterns: Vec<Vec<u8>>,
    /// Window length: the shortest pattern's length, at most 255, and at
    /// least `BLOCK`.
    window: usize,
    /// How far the window may move when its last block is this value.
    shift: Vec<u8>,
    /// `ids[starts[b]..starts[b + 1]]` lists the patterns whose window
    /// ends in block `b`, longest first.
    starts: Vec<u32>,
    ids: Vec<u32>,
}

/// Hashes a block to a table index. Collisions only make shifts
/// shorter and buckets longer, never a match missed.
fn block(bytes: &[u8]) -> usize {
    let x = u32::from(bytes[0])
        | u32::from(bytes[1]) << 8
        | u32::from(bytes[2]) << 16;
    (x.wrapping_mul(0x9e37_79b1) >> (32 - TABLE_BITS)) as usize
}

impl WuManber {
    /// Builds the tables; `None` when a pattern is shorter than a block
    /// (the automaton serves such sets better).
    pub fn new(patterns: &[Vec<u8>]) -> Option<WuManber> {
        let shortest = patterns.iter().map(|p| p.len()).min()?;
        if shortest < BLOCK {
            return None;
        }
        let window = shortest.min(MAX_WINDOW);
        let default = (window - BLOCK + 1) as u8;
        let mut shift = vec![default; 1 << TABLE_BITS];
        let mut ends: Vec<(usize, u32)> = Vec::with_capacity(patterns.len());
        for (id, p) in patterns.iter().enumerate() {
            for end in BLOCK - 1..window {
                let b = block(&p[end + 1 - BLOCK..=end]);
                let s = (window - 1 - end) as u8;
                shift[b] = shift[b].min(s);
            }
            ends.push((block(&p[window - BLOCK..window]), id as u32));
        }
        // Longest first within a bucket, so the first hit at a position
        // is the longest there.
        ends.sort_by_key(|&(b, id)| {
            (b, std::cmp::Reverse(patterns[id as usize].len()))
        });
        let mut starts = vec![0u32; (1 << TABLE_BITS) + 1];
        for &(b, _) in &ends {
            starts[b + 1] += 1;
        }
        for i in 0..1 << TABLE_BITS {
            starts[i + 1] += starts[i];
        }
        let ids = ends.into_iter().map(|(_, id)| id).collect();
        Some(WuManber {
            patterns: patterns.to_vec(),
            window,
            shift,
            starts,
            ids,
        })
    }

    /// Calls `found(range, id)` for each leftmost-longest match.
    pub fn for_each(
        &self,
        hay: &[u8],
        mut found: impl FnMut(Range<usize>, usize),
    ) {
        let m = self.window;
        if hay.len() < m {
            return;
        }
        // Every window start where some pattern matches, with the longest
        // one there; overlaps are resolved below, in start order.
        let mut hits: Vec<(usize, u32)> = Vec::new();
        let starts = hay.len() - m + 1;
        let per_lane = starts.div_ceil(LANES);
        // Each lane walks the window ends of its own share of starts. One
        // lane's walk is a chain of dependent loads (block, then shift,
        // then the next block), so several independent lanes in one loop
        // let the CPU overlap their latencies.
        let mut end = [0usize; LANES];
        let mut stop = [0usize; LANES];
        for lane in 0..LANES {
            let first = (lane * per_lane).min(starts);
            end[lane] = first + m - 1;
            stop[lane] = ((lane + 1) * per_lane).min(starts) + m - 1;
        }
        while (0..LANES).all(|l| end[l] < stop[l]) {
            for e in &mut end {
                *e = self.step(hay, *e, &mut hits);
            }
        }
        for lane in 0..LANES {
            while end[lane] < stop[lane] {
                end[lane] = self.step(hay, end[lane], &mut hits);
            }
        }
        hits.sort_unstable_by_key(|&(start, _)| start);
        let mut taken = 0;
        for (start, id) in hits {
            if start >= taken {
                let len = self.patterns[id as usize].len();
                found(start..start + len, id as usize);
                taken = start + len;
            }
        }
    }

    /// Looks at the window ending at `end`: records the longest pattern
    /// starting there, if any, and returns where the next window ends.
    #[inline(always)]
    fn step(
        &self,
        hay: &[u8],
        end: usize,
        hits: &mut Vec<(usize, u32)>,
    ) -> usize {
        let b = block(&hay[end + 1 - BLOCK..=end]);
        let s = self.shift[b];
        if s > 0 {
            return end + usize::from(s);
        }
        let start = end + 1 - self.window;
        let bucket = self.starts[b] as usize..self.starts[b + 1] as usize;
        for &id in &self.ids[bucket] {
            if hay[start..].starts_with(&self.patterns[id as usize]) {
                hits.push((start, id));
                break;
            }
        }
        end + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    fn wm_matches(
        patterns: &[&[u8]],
        hay: &[u8],
    ) -> Vec<(usize, usize, usize)> {
        let owned: Vec<Vec<u8>> =
            patterns.iter().map(|p| p.to_vec()).collect();
        let wm = WuManber::new(&owned).unwrap();
        let mut out = Vec::new();
        wm.for_each(hay, |r, id| out.push((r.start, r.end, id)));
        out
    }

    fn ac_matches(
        patterns: &[&[u8]],
        hay: &[u8],
    ) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .unwrap();
        ac.find_iter(hay)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect()
    }

    #[test]
    fn finds_at_both_ends_and_prefers_longest() {
        let hay = b"keystore\0\0\0\0pass\0\0keys";
        let pats: [&[u8]; 3] = [b"keys", b"keystore", b"pass"];
        assert_eq!(
            wm_matches(&pats, hay),
            [(0, 8, 1), (12, 16, 2), (18, 22, 0)]
        );
    }

    #[test]
    fn agrees_with_aho_corasick_on_random_data() {
        // A tiny alphabet makes overlaps and near misses common.
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let n = 1 + (next() % 40) as usize;
            let pats: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = 3 + (next() % 6) as usize;
                    (0..len).map(|_| b"ab\0c"[(next() % 4) as usize]).collect()
                })
                .collect();
            let mut pats: Vec<Vec<u8>> = pats;
            pats.sort();
            pats.dedup();
            let hay: Vec<u8> =
                (0..500).map(|_| b"ab\0c"[(next() % 4) as usize]).collect();
            let refs: Vec<&[u8]> = pats.iter().map(|p| p.as_slice()).collect();
            assert_eq!(
                wm_matches(&refs, &hay),
                ac_matches(&refs, &hay),
                "round {round}"
            );
        }
    }

    #[test]
    fn short_patterns_left_to_the_automaton() {
        assert!(WuManber::new(&[b"ab".to_vec(), b"long".to_vec()]).is_none());
        assert!(WuManber::new(&[]).is_none());
    }
}
