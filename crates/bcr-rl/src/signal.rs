//! Ctrl-C: the first SIGINT asks the trainer to save and stop after the
//! current step; the handler then restores the default action, so a second
//! Ctrl-C ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    // Only async-signal-safe work here: an atomic store and signal().
    STOP.store(true, Ordering::SeqCst);
    // SAFETY: signal() is async-signal-safe; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Installs the SIGINT handler (idempotent).
pub fn install_ctrlc_handler() {
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only touches an atomic and calls signal().
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Gives SIGINT its default action back (Ctrl-C ends the process at once),
/// for phases whose output is append-only and needs no clean stop.
pub fn uninstall_ctrlc_handler() {
    // SAFETY: SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Whether Ctrl-C was pressed (or [`request_stop`] called).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Asks a running trainer to stop after its current step, as Ctrl-C does.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Clears a pending stop request (for a new run in the same process).
pub fn clear_stop() {
    STOP.store(false, Ordering::SeqCst);
}
