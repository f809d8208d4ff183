//! What long jobs (training runs, evaluation sweeps, the demo) write and how:
//! append-only JSONL logs that survive a crash ([`Appender`], [`read_jsonl`]),
//! files and directories replaced atomically ([`write_atomic`],
//! [`replace_dir`]), and the progress line on stderr ([`Progress`], with
//! the `progress` feature).

mod atomic;
mod log;
#[cfg(feature = "progress")]
mod progress;

pub use atomic::{replace_dir, write_atomic};
pub use log::{read_jsonl, retain_jsonl, Appender, SYNC_EVERY, SYNC_INTERVAL};
#[cfg(feature = "progress")]
pub use progress::{PlainLines, Progress, ProgressSpec};
