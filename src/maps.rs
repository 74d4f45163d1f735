//! Parsing `/proc/PID/maps` and `/proc/PID/smaps` into [`Region`]s.
//!
//! `smaps` repeats every `maps` line and adds per-region fields, among
//! them `VmFlags`, which classification needs. memscan reads `smaps` and
//! falls back to plain `maps` only on kernels built without it. This
//! module parses text and never reads target memory.

use std::io;

use crate::region::{Perms, Region, VmFlags};

/// Reads and parses the regions of `pid`.
///
/// Errors keep the `io::ErrorKind` of the failed open, so callers can
/// tell a missing process from a permission problem.
pub fn read(pid: i32) -> io::Result<Vec<Region>> {
    let smaps = format!("/proc/{pid}/smaps");
    match std::fs::read(&smaps) {
        Ok(bytes) => parse_smaps(&String::from_utf8_lossy(&bytes)),
        // CONFIG_PROC_PAGE_MONITOR=n kernels have maps but no smaps;
        // regions are then classified by path and permissions alone.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let maps = format!("/proc/{pid}/maps");
            let bytes = std::fs::read(maps)?;
            parse_smaps(&String::from_utf8_lossy(&bytes))
        }
        Err(e) => Err(e),
    }
}

/// Reads `/proc/PID/maps` alone: no flags, but nearly free, where
/// `smaps` walks every region's page tables to count its pages (about
/// 40 ms per GiB mapped, before anything can be read).
pub fn read_quick(pid: i32) -> io::Result<Vec<Region>> {
    let bytes = std::fs::read(format!("/proc/{pid}/maps"))?;
    parse_smaps(&String::from_utf8_lossy(&bytes))
}

/// Parses `smaps` text; plain `maps` text parses too, with empty flags.
pub fn parse_smaps(text: &str) -> io::Result<Vec<Region>> {
    let mut regions: Vec<Region> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        if is_region_line(line) {
            let region =
                parse_line(line).ok_or_else(|| malformed(number, line))?;
            regions.push(region);
            continue;
        }
        let Some(last) = regions.last_mut() else {
            return Err(malformed(number, line));
        };
        let Some((key, value)) = line.split_once(':') else {
            return Err(malformed(number, line));
        };
        // Of the per-region fields only the flags matter: residency comes
        // page by page from pagemap.
        if key == "VmFlags" {
            last.set_flags(VmFlags::parse(value));
        }
    }
    Ok(without_overlaps(regions))
}

/// The kernel prints maps a page of text at a time, so a region that
/// grows or moves while the file is read can appear twice, once before
/// and once after the change. Keep the larger of overlapping entries:
/// every later stage relies on regions being sorted and disjoint.
fn without_overlaps(mut regions: Vec<Region>) -> Vec<Region> {
    regions.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut end = 0;
    regions.retain(|r| {
        let keep = r.start >= end;
        if keep {
            end = r.end;
        }
        keep
    });
    regions
}

fn malformed(number: usize, line: &str) -> io::Error {
    let shown: String = line.chars().take(80).collect();
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed maps line {}: {shown:?}", number + 1),
    )
}

/// A region line starts with `start-end`, both hexadecimal; field lines
/// start with a name and a colon.
fn is_region_line(line: &str) -> bool {
    let first = line.split(' ').next().unwrap_or("");
    match first.split_once('-') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_hexdigit())
                && b.bytes().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Parses `start-end perms offset dev inode [path]`.
///
/// The path is everything after the inode and its padding, so names with
/// spaces and a ` (deleted)` suffix survive whole.
fn parse_line(line: &str) -> Option<Region> {
    let mut rest = line;
    let mut field = || {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        rest = tail;
        head
    };
    let range = field();
    let perms = field();
    let offset = field();
    let _dev = field();
    let inode = field();
    let path = rest.trim_start_matches(' ');

    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    if end <= start {
        return None;
    }
    let perms = parse_perms(perms)?;
    let offset = u64::from_str_radix(offset, 16).ok()?;
    let inode = inode.parse().ok()?;
    Some(Region::new(
        start,
        end,
        perms,
        offset,
        inode,
        unescape(path),
        VmFlags::default(),
    ))
}

fn parse_perms(text: &str) -> Option<Perms> {
    let b = text.as_bytes();
    if b.len() != 4 {
        return None;
    }
    Some(Perms {
        read: b[0] == b'r',
        write: b[1] == b'w',
        exec: b[2] == b'x',
        shared: b[3] == b's',
    })
}

/// The kernel prints a newline in a path as `\012` (seq_file_path escapes
/// only "\n"), so that is the one escape to undo.
fn unescape(path: &str) -> String {
    path.replace("\\012", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::{Kind, Policy};

    const PYTHON_SMAPS: &str = "\
55d4c4a00000-55d4c4a01000 r--p 00000000 fd:01 1315    /usr/bin/python3.11
Size:                  4 kB
Rss:                   4 kB
Swap:                  0 kB
VmFlags: rd mr mw me dw sd
55d4c5e3a000-55d4c5f8e000 rw-p 00000000 00:00 0                          [heap]
Size:               1360 kB
Rss:                1280 kB
Swap:                 12 kB
VmFlags: rd wr mr mw me ac sd
7f1c2a000000-7f1c2a001000 rw-s 00000000 00:01 2057                       /secretmem (deleted)
Rss:                   4 kB
VmFlags: rd wr sh mr mw me ms lo dd sd
7f1c2b400000-7f1c2b600000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me ac sd
7ffd1c6f1000-7ffd1c712000 rw-p 00000000 00:00 0                          [stack]
VmFlags: rd wr mr mw me gd ac
7ffd1c7b4000-7ffd1c7b8000 r--p 00000000 00:00 0                          [vvar]
VmFlags: rd mr pf io de dd sd
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
VmFlags: ex
";

    #[test]
    fn smaps_sample_classified_region_by_region() {
        let regions = parse_smaps(PYTHON_SMAPS).unwrap();
        let kinds: Vec<Kind> = regions.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::File,
                Kind::Heap,
                Kind::SecretMem,
                Kind::Anonymous,
                Kind::Stack,
                Kind::Vvar,
                Kind::Vsyscall
            ]
        );
        let heap = &regions[1];
        assert_eq!(heap.start, 0x55d4c5e3a000);
        assert_eq!(heap.len(), 1360 * 1024);
        assert!(regions[2].flags.locked && regions[2].flags.dontdump);
        assert_eq!(regions[3].path, "");
        assert_eq!(regions[6].end, 0xffffffffff601000);
    }

    #[test]
    fn paths_with_spaces_deleted_and_newlines_kept_whole() {
        let text = "\
7f0000000000-7f0000001000 r--p 00000000 08:01 42   /tmp/my dir/a  b.bin (deleted)
7f0000001000-7f0000002000 r--p 00001000 08:01 43   /tmp/odd\\012name
";
        let regions = parse_smaps(text).unwrap();
        assert_eq!(regions[0].path, "/tmp/my dir/a  b.bin (deleted)");
        assert_eq!(regions[0].kind, Kind::File);
        assert_eq!(regions[1].path, "/tmp/odd\nname");
        assert_eq!(regions[1].offset, 0x1000);
    }

    #[test]
    fn plain_maps_without_flags_still_classified_by_path() {
        let text = "7f00a0000000-7f00a0001000 rw-s 00000000 00:01 9 /secretmem (deleted)\n";
        let regions = parse_smaps(text).unwrap();
        assert_eq!(regions[0].kind, Kind::SecretMem);
        assert_eq!(regions[0].flags, VmFlags::default());
    }

    /// A Gramine loader with a 256 MiB production enclave: the loader maps
    /// the enclave range as many VMAs of `/dev/sgx_enclave` from 0x10000
    /// up, with holes between them, next to ordinary untrusted memory.
    #[test]
    fn gramine_multi_vma_enclave_layout() {
        let text = "\
00010000-00011000 r--s 00000000 00:05 388   /dev/sgx_enclave
VmFlags: rd sh mr mw me ms io pf dd
00011000-00111000 rw-s 00000000 00:05 388   /dev/sgx_enclave
VmFlags: rd wr sh mr mw me ms io pf dd
00111000-00114000 r-xs 00000000 00:05 388   /dev/sgx_enclave
VmFlags: rd ex sh mr mw me ms io pf dd
00200000-0fe00000 rw-s 00000000 00:05 388   /dev/sgx_enclave
VmFlags: rd wr sh mr mw me ms io pf dd
0fe00000-10000000 ---s 00000000 00:05 388   /dev/sgx_enclave
VmFlags: sh mr mw me ms io pf dd
5632a8e00000-5632a8e2c000 r--p 00000000 fd:01 9912   /usr/lib/x86_64-linux-gnu/gramine/sgx/loader
VmFlags: rd mr mw me dw sd
5632aa9e2000-5632aaa03000 rw-p 00000000 00:00 0   [heap]
VmFlags: rd wr mr mw me ac sd
7f55e0000000-7f55e0021000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me nr sd
";
        let regions = parse_smaps(text).unwrap();
        let enclave: Vec<&Region> =
            regions.iter().filter(|r| r.kind == Kind::Enclave).collect();
        assert_eq!(enclave.len(), 5);
        // Even the PROT_NONE part of the enclave counts as enclave, not as
        // an ordinary guard page: the path wins over the permissions.
        assert!(enclave.iter().all(|r| r.policy() == Policy::Probe));
        let bytes: u64 = enclave.iter().map(|r| r.len()).sum();
        assert_eq!(bytes, 0x1000 + 0x100000 + 0x3000 + 0xfc00000 + 0x200000);
        assert_eq!(regions[5].kind, Kind::File);
        assert_eq!(regions[6].kind, Kind::Heap);
        assert_eq!(regions[7].kind, Kind::Anonymous);
    }

    #[test]
    fn region_seen_twice_while_growing_is_kept_once() {
        let text = "\
7f0000000000-7f0000010000 rw-p 00000000 00:00 0
7f0000000000-7f0000800000 rw-p 00000000 00:00 0
7f0000900000-7f0000901000 rw-p 00000000 00:00 0
";
        let regions = parse_smaps(text).unwrap();
        let spans: Vec<(u64, u64)> =
            regions.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(
            spans,
            [
                (0x7f0000000000, 0x7f0000800000),
                (0x7f0000900000, 0x7f0000901000)
            ]
        );
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for text in [
            "garbage\n",
            "1000-0fff r--p 0 00:00 0\n",
            "1000-2000 rw 0 00:00 0\n",
            "1000-2000 rw-p zz 00:00 0\n",
            "VmFlags: rd\n",
            "1000-2000 rw-p 0 00:00 x\n",
        ] {
            let err = parse_smaps(text).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{text}");
        }
    }

    #[test]
    fn own_smaps_parses_and_has_a_stack() {
        let regions = read(std::process::id() as i32).unwrap();
        assert!(regions.iter().any(|r| r.kind == Kind::Stack));
        assert!(regions.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
