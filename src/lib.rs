//! memscan finds plaintext secrets in the memory of live Linux processes.
//!
//! The data flows through the modules in this order:
//!
//! - `resolve`, `target`, `container`: turn `--pid`, `--name` and
//!   `--container` into processes (the engine API and cgroups live in
//!   `container`).
//! - `maps`: parses `/proc/PID/maps` and `smaps` and classifies each region;
//!   it never reads target memory.
//! - `reader`: reads target memory with `process_vm_readv` (or
//!   `/proc/PID/mem` where that is refused) and never interprets it.
//! - `scanner`: searches filled buffers for the patterns.
//! - `pipeline`: joins reader and scanner threads with bounded channels
//!   and recycles the buffers between them.
//! - `report`, `json`: turn what was found into the human report or
//!   NDJSON.
//! - `run` scans once; `watch` polls, with `track` following matches from
//!   poll to poll and `events` printing what changed.
//!
//! `region` classifies what `maps` parses, `pagemap` and `shmem` find
//! the pages worth reading, `pattern` and `multi` compile the patterns,
//! and `cli`, `exit`, `hint`, `signal` and `clock` serve the command line.

pub mod cli;
pub mod clock;
pub mod container;
pub mod events;
pub mod exit;
pub mod hint;
pub mod json;
pub mod maps;
pub mod multi;
pub mod pagemap;
pub mod pattern;
pub mod pipeline;
pub mod reader;
pub mod region;
pub mod report;
pub mod resolve;
pub mod run;
pub mod scan;
pub mod scanner;
pub mod shmem;
pub mod signal;
pub mod target;
pub mod track;
pub mod watch;
