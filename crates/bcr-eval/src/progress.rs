//! Progress of a sweep: an indicatif bar with ETA when stderr is a terminal,
//! otherwise a plain line at every tenth of a group (logs stay readable).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Progress of one benchmark x N group.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    /// Starts reporting `total` requests of `label`; silent when `enabled` is false.
    pub(crate) fn start(label: String, total: usize, enabled: bool) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} requests, {elapsed} elapsed, ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_prefix(label.clone());
            bar
        });
        if enabled && bar.is_none() {
            eprintln!("{label}: {total} requests to run");
        }
        Progress {
            bar: if enabled { bar } else { None },
            label: if enabled { label } else { String::new() },
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// One request finished.
    pub(crate) fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if !self.label.is_empty() => {
                let step = self.total.div_ceil(10).max(1);
                if done.is_multiple_of(step) || done == self.total {
                    eprintln!("{}: {done}/{} requests", self.label, self.total);
                }
            }
            None => {}
        }
    }

    /// The group ended.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
