//! Ctrl-C for long runs: the first SIGINT, SIGTERM or SIGHUP asks the
//! watch to end after its current poll; the second ends memscan at once.
//!
//! Worker threads block these signals, so the kernel always delivers them
//! to the main thread. Otherwise it may pick a reader stuck in a
//! killable sleep inside the target's page fault (a userfaultfd region
//! registered behind memscan's back), where a caught signal stays pending
//! forever and even the second Ctrl-C would go unheard.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::sys::signal::{
    pthread_sigmask, sigaction, SaFlags, SigAction, SigHandler, SigSet,
    SigmaskHow, Signal,
};

use crate::exit::Exit;

const HANDLED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

static STOP: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    // Only async-signal-safe work here: atomics and _exit.
    if COUNT.fetch_add(1, Ordering::SeqCst) >= 1 {
        // SAFETY: _exit is async-signal-safe and ends the process
        // without running destructors, which is what a second Ctrl-C
        // asks for.
        unsafe { libc::_exit(Exit::Interrupted.code()) };
    }
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handlers; returns the flag the first signal raises.
pub fn install() -> &'static AtomicBool {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in HANDLED {
        // SAFETY: the handler only touches atomics and calls _exit, both
        // async-signal-safe, so it is sound to run at any point.
        if let Err(e) = unsafe { sigaction(sig, &action) } {
            log::warn!("signal: cannot handle {sig}: {e}");
        }
    }
    &STOP
}

/// Blocks the handled signals in the calling thread; worker threads call
/// this first thing.
pub fn keep_off_this_thread() {
    let mut set = SigSet::empty();
    for sig in HANDLED {
        set.add(sig);
    }
    if let Err(e) = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        log::debug!("signal: cannot block signals in a worker: {e}");
    }
}
