//! The progress line of every long job: an indicatif bar with its ETA when
//! stderr is a terminal, plain lines otherwise (logs and CI stay readable:
//! one line per update, or one per tenth of the work), nothing when quiet.
//!
//! ```no_run
//! use bcr_core::run::{Progress, ProgressSpec};
//! let p = Progress::new(&ProgressSpec::counted("gsm8k N=3", "requests", 120), true);
//! p.advance(1);
//! p.finish();
//! ```

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// When plain (non-terminal) output prints a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainLines {
    /// At every update (training steps: each carries its metrics).
    EveryUpdate,
    /// When the position crosses each `1/k` of the total (10: tenths),
    /// and at the end.
    Parts(u64),
    /// Never (spinners over unknown totals).
    Never,
}

/// What a progress line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressSpec {
    /// What is running, e.g. `train`, `gsm8k N=3`.
    pub label: String,
    /// What is counted, e.g. `steps`, `requests`.
    pub unit: String,
    /// The total, when known (`None`: a spinner).
    pub total: Option<u64>,
    /// Where it starts (a resumed run).
    pub start: u64,
    /// Plain-output policy.
    pub plain: PlainLines,
}

impl ProgressSpec {
    /// `total` units of work reported a tenth at a time in plain output.
    pub fn counted(label: &str, unit: &str, total: u64) -> Self {
        let plain = PlainLines::Parts(10);
        ProgressSpec { label: label.into(), unit: unit.into(), total: Some(total), start: 0, plain }
    }

    /// Steps from `start` to `total`, one plain line per step.
    pub fn steps(label: &str, start: u64, total: u64) -> Self {
        ProgressSpec { start, plain: PlainLines::EveryUpdate, ..Self::counted(label, "steps", total) }
    }

    /// Work of unknown size (a stream): a spinner, no plain lines.
    pub fn stream(label: &str, unit: &str) -> Self {
        ProgressSpec { total: None, plain: PlainLines::Never, ..Self::counted(label, unit, 0) }
    }
}

/// A progress reporter; safe to share between threads.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    spec: ProgressSpec,
    pos: AtomicU64,
    enabled: bool,
}

impl Progress {
    /// Starts reporting; `enabled = false` prints nothing at all.
    pub fn new(spec: &ProgressSpec, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| bar(spec));
        Progress { bar, spec: spec.clone(), pos: AtomicU64::new(spec.start), enabled }
    }

    /// `n` more units done.
    pub fn advance(&self, n: u64) {
        let pos = self.pos.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => self.plain(pos - n, pos, ""),
        }
    }

    /// The position is `pos`, with a message (e.g. a step's metrics).
    pub fn set(&self, pos: u64, message: &str) {
        let before = self.pos.swap(pos, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(pos);
                bar.set_message(message.to_string());
            }
            None => self.plain(before, pos, message),
        }
    }

    /// Prints a line above the bar (or on its own when there is none).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.enabled => eprintln!("{line}"),
            None => {}
        }
    }

    /// Prints `warning: {message}`, even when quiet.
    pub fn warn(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }

    /// Ends the bar (it stays on screen with its final position).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }

    /// Units done so far.
    pub fn position(&self) -> u64 {
        self.pos.load(Ordering::Relaxed)
    }

    fn plain(&self, before: u64, pos: u64, message: &str) {
        if !self.enabled {
            return;
        }
        let s = &self.spec;
        let total = s.total.unwrap_or(0);
        let print = match s.plain {
            PlainLines::EveryUpdate => true,
            PlainLines::Parts(k) => {
                let part = total.div_ceil(k.max(1)).max(1);
                pos / part != before / part || pos == total
            }
            PlainLines::Never => false,
        };
        if print {
            let sep = if message.is_empty() { "" } else { " " };
            eprintln!("{}: {pos}/{total} {}{sep}{message}", s.label, s.unit);
        }
    }
}

fn bar(spec: &ProgressSpec) -> ProgressBar {
    let (bar, template) = match spec.total {
        Some(total) => (
            ProgressBar::new(total),
            format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {}, {{elapsed}} elapsed, ETA {{eta}} {{msg}}", spec.unit),
        ),
        None => {
            (ProgressBar::new_spinner(), format!("{{spinner}} {{prefix}}: {{pos}} {} {{elapsed}} {{msg}}", spec.unit))
        }
    };
    let style = ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(spec.label.clone());
    bar.set_position(spec.start);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_advance_from_any_thread() {
        let p = Progress::new(&ProgressSpec::counted("t", "requests", 100), false);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..25).for_each(|_| p.advance(1)));
            }
        });
        assert_eq!(p.position(), 100);
        let steps = Progress::new(&ProgressSpec::steps("train", 5, 10), false);
        steps.set(6, "reward 0.5");
        assert_eq!(steps.position(), 6);
        p.finish();
    }
}
