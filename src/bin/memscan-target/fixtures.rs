//! The `fixtures` target: one secret in each kind of place a scanner must
//! handle, at addresses the tests know.
//!
//! Each place tests a different part of memscan: an ordinary heap chunk,
//! a thread stack, a private anonymous mapping, a match across a chunk
//! boundary, a readable page right after an unreadable one, and a file
//! mapping that runs past the end of its file (reading those pages gives
//! SIGBUS to the owner and a short read to process_vm_readv).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use anyhow::{anyhow, Context, Result};
use nix::sys::mman::{MapFlags, ProtFlags};

use crate::mem::{Mapping, PAGE};
use crate::secret::{plant, secret_len, Prefix};

/// One planted secret, as reported in the JSON line.
pub struct Planted {
    pub place: &'static str,
    pub addr: usize,
    pub len: usize,
}

/// Where the short_file place is created; its secret reaches the page
/// cache and the disk, so the caller owns DIR and removes it.
pub fn file_path(dir: &Path) -> PathBuf {
    dir.join(format!("memscan-target-{}.bin", std::process::id()))
}

/// Plant the six secrets, numbered 901 to 906, and return where they are.
pub fn plant_all(dir: &Path, chunk: usize) -> Result<Vec<Planted>> {
    let prefix = Prefix::standard();
    let places: [(&'static str, Placer); 6] = [
        ("heap", heap),
        ("thread_stack", thread_stack),
        ("anon_mmap", anon_mmap),
        ("straddle", |p, n, _, chunk| straddle(p, n, chunk)),
        ("after_prot_none", after_prot_none),
        ("short_file", |p, n, dir, _| short_file(p, n, dir)),
    ];
    let mut planted = Vec::new();
    for (number, (place, placer)) in (901..).zip(places) {
        let addr = placer(&prefix, number, dir, chunk)
            .with_context(|| format!("{place}: failed to plant"))?;
        let len = secret_len(&prefix, number);
        planted.push(Planted { place, addr, len });
    }
    Ok(planted)
}

/// Plants one secret and returns its address.
type Placer = fn(&Prefix, u64, &Path, usize) -> Result<usize>;

fn heap(prefix: &Prefix, number: u64, _: &Path, _: usize) -> Result<usize> {
    let chunk = Box::leak(vec![0u8; 64].into_boxed_slice());
    plant(chunk, prefix, number)?;
    Ok(chunk.as_ptr() as usize)
}

fn thread_stack(_: &Prefix, number: u64, _: &Path, _: usize) -> Result<usize> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("stack-secret".into())
        .spawn(move || {
            let mut local = [0u8; 64];
            // The thread makes its own prefix parts, since the caller's
            // cannot outlive this function; parts are never whole, so a
            // second set is no copy of the prefix.
            let result = plant(&mut local, &Prefix::standard(), number)
                .map(|_| local.as_ptr() as usize);
            let _ = tx.send(result);
            loop {
                // black_box keeps `local` on this stack, written, for as
                // long as the thread lives.
                std::hint::black_box(&local);
                thread::park();
            }
        })
        .context("failed to spawn the thread")?;
    rx.recv().map_err(|_| anyhow!("the thread died"))?
}

fn anon_mmap(
    prefix: &Prefix,
    number: u64,
    _: &Path,
    _: usize,
) -> Result<usize> {
    let mut map = Mapping::anon(PAGE, false)?;
    // Away from the mapping's start, so a scanner that only checks the
    // first bytes of a region misses it.
    let offset = 1000;
    plant(&mut map.bytes()[offset..], prefix, number)?;
    Ok(map.addr + offset)
}

/// Put the secret 7 bytes before the first multiple of `chunk` in a fresh
/// mapping, so that it straddles the boundary between two of memscan's
/// chunks, which are aligned to absolute multiples of the chunk size.
fn straddle(prefix: &Prefix, number: u64, chunk: usize) -> Result<usize> {
    let len = chunk.checked_mul(3).context("chunk size too large")?;
    let mut map = Mapping::anon(len, true)?;
    let boundary = (map.addr + 7).next_multiple_of(chunk);
    let offset = boundary - 7 - map.addr;
    plant(&mut map.bytes()[offset..], prefix, number)?;
    Ok(map.addr + offset)
}

/// Three read-write pages with the middle one made PROT_NONE; the secret
/// opens the third page, right after the hole.
fn after_prot_none(
    prefix: &Prefix,
    number: u64,
    _: &Path,
    _: usize,
) -> Result<usize> {
    let mut map = Mapping::anon(3 * PAGE, false)?;
    plant(&mut map.bytes()[2 * PAGE..], prefix, number)?;
    map.protect(PAGE, PAGE, ProtFlags::PROT_NONE)?;
    Ok(map.addr + 2 * PAGE)
}

/// A one-page file holding the secret at offset 100, mapped private and
/// read-only with three pages, so pages two and three lie past its end.
fn short_file(prefix: &Prefix, number: u64, dir: &Path) -> Result<usize> {
    const OFFSET: usize = 100;
    let path = file_path(dir);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    file.set_len(PAGE as u64)
        .with_context(|| format!("{}: cannot resize", path.display()))?;
    write_through_shared_map(&file, prefix, number, OFFSET)?;
    let map = Mapping::file(
        &file,
        3 * PAGE,
        ProtFlags::PROT_READ,
        MapFlags::MAP_PRIVATE,
    )?;
    // One read makes the first page resident in this mapping.
    // SAFETY: the first page of the mapping lies inside the file, so the
    // read cannot fault with SIGBUS.
    unsafe { std::ptr::read_volatile(map.addr as *const u8) };
    Ok(map.addr + OFFSET)
}

/// Writing the file through a temporary shared mapping puts the secret
/// straight into the page cache; a write(2) would need a copy of it in a
/// buffer of ours.
fn write_through_shared_map(
    file: &File,
    prefix: &Prefix,
    number: u64,
    offset: usize,
) -> Result<()> {
    let flags = MapFlags::MAP_SHARED;
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let mut map = Mapping::file(file, PAGE, prot, flags)?;
    plant(&mut map.bytes()[offset..], prefix, number)?;
    // Left mapped, the page would show up a second time in this process.
    map.unmap()
}
