//! Exit statuses, the same as grep's, in one place.

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
