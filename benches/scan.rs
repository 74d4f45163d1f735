//! Scanner throughput on memory-like data: how fast each kind of pattern
//! set searches a buffer that is already in memscan's hands.
//!
//! The data imitates a heap: mostly zeros and pointers, some text. Run
//! `cargo bench --bench scan`; the pipeline benchmarks (which also read
//! from another process) are in `benches/pipeline.rs`.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, Throughput,
};

use memscan::pattern::Patterns;
use memscan::scanner::{scan, Filled, Hits};

const SIZE: usize = 16 << 20;

/// splitmix64: small, fast, and enough for filler.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// 16 MiB shaped like a heap: 60% zero words, 30% pointers, 10% text.
fn heap_like() -> Vec<u8> {
    let mut rng = Rng(42);
    let mut data = Vec::with_capacity(SIZE);
    let words = b"the of and session token user name value error http json ";
    while data.len() < SIZE {
        match rng.next() % 10 {
            0..=5 => data.extend_from_slice(&[0; 8]),
            6..=8 => {
                let ptr =
                    0x0000_7f00_0000_0000 | (rng.next() & 0xff_ffff_fff8);
                data.extend_from_slice(&ptr.to_le_bytes());
            }
            _ => {
                let at = (rng.next() % 40) as usize;
                data.extend_from_slice(&words[at..at + 16]);
            }
        }
    }
    data.truncate(SIZE);
    data
}

/// `n` distinct literals of 12 to 24 printable bytes.
fn literals(n: usize) -> Vec<String> {
    let mut rng = Rng(7);
    let alphabet =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    (0..n)
        .map(|_| {
            let len = 12 + (rng.next() % 13) as usize;
            (0..len)
                .map(|_| alphabet[(rng.next() % 63) as usize] as char)
                .collect()
        })
        .collect()
}

fn bench_scanner(c: &mut Criterion) {
    let data = heap_like();
    let chunk = Filled {
        buf: data,
        at: 0,
        len: SIZE,
        addr: 0,
        pre: 0,
        own: SIZE,
        region: 0,
    };
    let mut group = c.benchmark_group("scanner");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(20);
    let sets: Vec<(&str, Patterns)> = vec![
        (
            "literal_1",
            Patterns::new(&["topsecret_".into()], &[], 256).unwrap(),
        ),
        ("literals_100", Patterns::new(&literals(100), &[], 256).unwrap()),
        ("literals_1000", Patterns::new(&literals(1000), &[], 256).unwrap()),
        (
            "regex_secret",
            Patterns::new(
                &[],
                &["topsecret_[0-9]{3}_[0-9a-f]{32}".into()],
                256,
            )
            .unwrap(),
        ),
    ];
    for (name, patterns) in &sets {
        group.bench_with_input(
            BenchmarkId::from_parameter(name),
            patterns,
            |b, p| {
                b.iter(|| {
                    let mut hits = Hits::with_cap(1000);
                    scan(p, &chunk, 0, &mut hits);
                    hits.total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_scanner);
criterion_main!(benches);
