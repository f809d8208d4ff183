//! Progress of a run: an indicatif bar with ETA and live reward/tokens when
//! stderr is a terminal, one plain line per step otherwise (logs, CI).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::StepMetrics;

/// Reports steps as they finish.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
}

impl Progress {
    /// A reporter for steps `start+1 ..= total`; `quiet` prints nothing.
    pub fn new(start: usize, total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:30}] {elapsed}<{eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_position(start as u64);
            bar
        });
        Progress { bar, total: if quiet { 0 } else { total } }
    }

    /// Reports a finished step.
    pub fn step(&self, m: &StepMetrics) {
        let line = format!(
            "reward {:.3} acc {:.3} tok/problem {:.0} trunc {:.2} {:.1}s",
            m.reward_mean, m.accuracy, m.tokens_per_problem, m.truncation_rate, m.step_s
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(m.step as u64);
                bar.set_message(line);
            }
            None if self.total > 0 => eprintln!("step {}/{} {line}", m.step, self.total),
            None => {}
        }
    }

    /// Prints a warning without breaking the bar.
    pub fn warn(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("warning: {msg}")),
            None => eprintln!("warning: {msg}"),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
