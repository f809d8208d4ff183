//! The `bcr` binary: argument parsing and wiring only. Every command lives in
//! its own module under `commands/`, turns its flags into the typed config of
//! a library crate, and returns `anyhow::Result<()>`. `main` prints any error
//! as one line and exits with status 1.

#![deny(unsafe_code)]

mod commands;
// mallopt through libc: the one unsafe call of the binary.
#[allow(unsafe_code)]
mod malloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    malloc::tune();
    bcr_model::tune_cpu_threads();
    let cli = match commands::Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors; every usage error is a
        // user error and exits with status 1, like any other bad input.
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, `a: b: c`. Library errors often
/// already quote their cause (`path: No such file or directory`); a cause
/// whose text the line already holds is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}
