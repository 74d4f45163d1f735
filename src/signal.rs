//! Ctrl-C for long runs: the first SIGINT or SIGTERM asks the watch to
//! end after its current poll; the second ends memscan at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::sys::signal::{
    sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal,
};

use crate::exit::Exit;

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
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls _exit, both
        // async-signal-safe, so it is sound to run at any point.
        if let Err(e) = unsafe { sigaction(sig, &action) } {
            log::warn!("signal: cannot handle {sig}: {e}");
        }
    }
    &STOP
}
