//! Exit statuses, the same as grep's, and the one way errors reach the
//! user: a single `memscan: ...` line on stderr.

use std::io::Write;

/// Prints one error line on stderr. A closed or full stderr is ignored:
/// there is nowhere left to complain to, and panicking would be worse.
pub fn complain(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "memscan: {message}");
}

/// Why memscan exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// At least one match.
    Found = 0,
    /// No match, no error.
    NotFound = 1,
    /// A target or argument could not be handled.
    Error = 2,
    /// Interrupted twice with Ctrl-C.
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  at least one match was found
  1  no match was found (and nothing failed)
  2  an error: bad arguments, a target that could not be read
  130  interrupted

Needs root or CAP_SYS_PTRACE to read other users' processes.";
