//! The `bench` target: a large heap-like region with a known number of
//! secrets, for timing memscan and checking its count.
//!
//! Dense mode maps SIZE bytes and fills all of them. Sparse mode reserves
//! RESERVE bytes with MAP_NORESERVE and fills only SIZE bytes of it, in a
//! few runs spread from the start to the end of the reservation, which is
//! what a Go or Java heap, or a Gramine enclave, looks like to a scanner
//! that reads everything it is given.
//!
//! Each run is cut into slots, one secret per slot, so secrets never
//! overlap. About one slot in eight puts its secret across a 4 MiB
//! aligned address and as many across a 1 MiB aligned one, where
//! memscan's chunks meet; the last slot of the region puts its secret in
//! the region's very last bytes.

use anyhow::{bail, Result};

use crate::fill::{fill, Rng};
use crate::mem::{Mapping, PAGE};
use crate::secret::{plant, secret_len, Prefix};

const MIB: usize = 1 << 20;
/// Random placements keep this far from their slot's edges, so that
/// secrets in neighbouring slots are always separated by filler.
const MARGIN: usize = 64;
/// The filler is the same on every run, so benchmarks compare alike.
const FILL_SEED: u64 = 0x6d65_6d73_6361_6e31;
const PLACE_SEED: u64 = 0x706c_6163_6531;

/// What the bench target was asked to build.
pub struct Config {
    /// Bytes to fill; a positive multiple of the page size.
    pub size: usize,
    /// Secrets to plant; at least one.
    pub secrets: u64,
    /// In sparse mode, the bytes to reserve; at least twice `size`.
    pub sparse: Option<usize>,
    pub prefix: Prefix,
}

/// Where the region is, for the JSON line.
pub struct Region {
    pub start: usize,
    pub len: usize,
    pub touched: usize,
}

/// How the planted secrets were placed, for a line on stderr.
#[derive(Default)]
pub struct Tally {
    pub across_4m: u64,
    pub across_1m: u64,
    pub at_end: u64,
}

pub fn build(config: &Config) -> Result<(Region, Tally)> {
    if config.size == 0 || config.size % PAGE != 0 {
        bail!("--size must be a positive multiple of {PAGE}");
    }
    if config.secrets == 0 {
        bail!("--secrets must be at least 1");
    }
    let (len, runs) = match config.sparse {
        None => (config.size, vec![(0, config.size)]),
        Some(reserve) => (reserve, sparse_runs(config.size, reserve)?),
    };
    let mut map = Mapping::anon(len, config.sparse.is_some())?;
    let start = map.addr;
    let mut fill_rng = Rng::new(FILL_SEED);
    for &(offset, run_len) in &runs {
        map.populate(offset, run_len);
        let run = &mut map.bytes()[offset..offset + run_len];
        fill(run, &mut fill_rng);
        // Filler could spell a caller's prefix by chance; break any such
        // spot first so that the count below is exactly the planted ones.
        config.prefix.scrub(run);
    }

    let mut tally = Tally::default();
    let mut place_rng = Rng::new(PLACE_SEED);
    let mut number = 0;
    for (j, &(offset, run_len)) in runs.iter().enumerate() {
        let count = share(config.secrets, runs.len(), j);
        let ends_region = j + 1 == runs.len();
        let run = Run { addr: start + offset, len: run_len, ends_region };
        let bytes = &mut map.bytes()[offset..offset + run_len];
        for slot in 0..count {
            let plan =
                run.slot(slot, count, config, number, &tally, &mut place_rng)?;
            plant(&mut bytes[plan.at - run.addr..], &config.prefix, number)?;
            plan.tally(&mut tally);
            number += 1;
        }
    }

    let found: usize = runs
        .iter()
        .map(|&(offset, run_len)| {
            config.prefix.count_in(&map.bytes()[offset..offset + run_len])
        })
        .sum();
    if found as u64 != config.secrets {
        bail!(
            "the prefix occurs {found} times, not {}: it also appears \
             inside the secrets; choose a longer prefix",
            config.secrets
        );
    }
    Ok((Region { start, len, touched: config.size }, tally))
}

/// Split `size` into up to four page-aligned runs across `reserve`: the
/// first at its start, the last ending at its end.
fn sparse_runs(size: usize, reserve: usize) -> Result<Vec<(usize, usize)>> {
    if reserve % PAGE != 0 || reserve / 2 < size {
        bail!(
            "--sparse must be a multiple of {PAGE} and at least twice --size"
        );
    }
    let count = if size >= 4 * PAGE { 4 } else { 1 };
    let each = size / count / PAGE * PAGE;
    let last = size - each * (count - 1);
    let mut runs: Vec<(usize, usize)> = (0..count - 1)
        .map(|j| (reserve / count * j / PAGE * PAGE, each))
        .collect();
    runs.push((reserve - last, last));
    // Runs must be apart, or a scanner would see fewer, longer runs.
    if runs.windows(2).any(|w| w[0].0 + w[0].1 >= w[1].0) {
        bail!("--sparse is too small to keep the runs apart");
    }
    Ok(runs)
}

/// How many of `total` secrets go to run `j` of `runs`; the remainder
/// goes to the last runs, so the final run always has at least one.
fn share(total: u64, runs: usize, j: usize) -> u64 {
    let runs = runs as u64;
    let extra = total % runs;
    total / runs + u64::from(j as u64 >= runs - extra)
}

/// One filled run, in absolute addresses.
struct Run {
    addr: usize,
    len: usize,
    /// This run's last byte is the region's last byte.
    ends_region: bool,
}

/// Where one secret goes, and why.
struct Plan {
    at: usize,
    /// The aligned address the secret crosses, if it is placed across one.
    across: Option<usize>,
    at_end: bool,
}

impl Plan {
    fn tally(&self, tally: &mut Tally) {
        match self.across {
            Some(a) if a % (4 * MIB) == 0 => tally.across_4m += 1,
            Some(_) => tally.across_1m += 1,
            None => {}
        }
        tally.at_end += u64::from(self.at_end);
    }
}

impl Run {
    /// Choose the place for secret `number` in slot `slot` of `count`.
    fn slot(
        &self,
        slot: u64,
        count: u64,
        config: &Config,
        number: u64,
        tally: &Tally,
        rng: &mut Rng,
    ) -> Result<Plan> {
        // Slot edges sit half a stride off the multiples of the stride.
        // The kernel aligns large anonymous mappings to 2 MiB, so with a
        // stride of 1 MiB unshifted edges would fall exactly on the
        // aligned addresses the straddling secrets need inside a slot.
        let stride = self.len / count as usize;
        let edge = |k: u64| self.addr + stride * k as usize - stride / 2;
        let last = slot + 1 == count;
        let lo = if slot == 0 { self.addr } else { edge(slot) };
        let hi = if last { self.addr + self.len } else { edge(slot + 1) };
        let len = secret_len(&config.prefix, number);
        let need = len + 2 * MARGIN + 1;
        if hi - lo < need {
            bail!(
                "--size is too small for {} secrets: each needs {} bytes",
                config.secrets,
                2 * need
            );
        }
        if last && self.ends_region {
            return Ok(Plan { at: hi - len, across: None, at_end: true });
        }
        // Cut at a different spot each time: after the first byte, inside
        // the prefix, inside the hex, before the last byte.
        let cut = [7, 1, 23, len - 1][(number / 8 % 4) as usize];
        // Each kind of straddle goes to about one slot in eight: the first
        // slot that can take one once the tally has fallen behind. Which
        // slots can depends on where the kernel put the mapping.
        let due = |done: u64| done * 8 <= number;
        let across = across(lo, hi, len, cut, 4 * MIB, false)
            .filter(|_| due(tally.across_4m))
            .or_else(|| {
                across(lo, hi, len, cut, MIB, true)
                    .filter(|_| due(tally.across_1m))
            });
        let at = match across {
            Some(a) => a - cut,
            None => {
                let room = hi - lo - len - 2 * MARGIN;
                lo + MARGIN + rng.below(room as u64) as usize
            }
        };
        Ok(Plan { at, across, at_end: false })
    }
}

/// The first multiple of `align` that a secret of `len` bytes can cross,
/// `cut` bytes in, while staying `MARGIN` inside `lo..hi`; with `skip_4m`
/// multiples of 4 MiB are passed over.
fn across(
    lo: usize,
    hi: usize,
    len: usize,
    cut: usize,
    align: usize,
    skip_4m: bool,
) -> Option<usize> {
    let mut a = (lo + MARGIN + cut).next_multiple_of(align);
    if skip_4m && a % (4 * MIB) == 0 {
        a += align;
    }
    (a - cut + len + MARGIN <= hi).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_last_run_gets_one() {
        for total in [1, 2, 3, 4, 5, 64, 1001] {
            let sum: u64 = (0..4).map(|j| share(total, 4, j)).sum();
            assert_eq!(sum, total);
            assert!(share(total, 4, 3) >= 1);
        }
    }

    #[test]
    fn sparse_runs_span_the_reservation_apart() {
        let runs = sparse_runs(256 * MIB, 64 << 30).unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0].0, 0);
        let (last, len) = runs[3];
        assert_eq!(last + len, 64 << 30);
        assert_eq!(runs.iter().map(|r| r.1).sum::<usize>(), 256 * MIB);
        assert!(sparse_runs(256 * MIB, 300 * MIB).is_err());
    }

    #[test]
    fn across_crosses_the_boundary_at_the_cut() {
        let lo = 4 * MIB - 1000;
        let a = across(lo, lo + 2 * MIB, 46, 7, MIB, false).unwrap();
        assert_eq!(a, 4 * MIB);
        let b = across(lo, lo + 2 * MIB, 46, 7, MIB, true).unwrap();
        assert_eq!(b, 5 * MIB);
        assert!(across(lo, lo + 900, 46, 7, MIB, false).is_none());
    }
}
