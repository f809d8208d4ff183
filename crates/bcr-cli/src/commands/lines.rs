//! The streaming shape `bcr grade` and `bcr score` share: read JSONL lines in
//! chunks, process each chunk on all cores, write the results in input
//! order. Memory stays bounded by one chunk whatever the input size; a bad
//! line stops the run with its file and line.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use bcr_core::run::{Progress, ProgressSpec};
use rayon::prelude::*;

/// Where lines come from and how they are processed.
pub(crate) struct LineJob<'a> {
    /// The input's name in messages.
    pub name: &'a Path,
    /// Lines per parallel chunk.
    pub chunk: usize,
    /// What the spinner counts (`pairs`, `responses`).
    pub unit: &'a str,
    /// The worker threads.
    pub pool: &'a rayon::ThreadPool,
}

impl LineJob<'_> {
    /// Maps every non-blank line (`(text, 1-based line number)`) to its
    /// output text and a value handed to `tally`, in input order.
    pub(crate) fn run<T: Send>(
        &self,
        mut input: impl BufRead,
        out: &mut impl Write,
        map: impl Fn(&str, usize) -> anyhow::Result<(String, T)> + Sync,
        mut tally: impl FnMut(T),
    ) -> anyhow::Result<()> {
        let progress = Progress::new(&ProgressSpec::stream(&self.name.display().to_string(), self.unit), true);
        let mut line_no = 0usize;
        let mut chunk: Vec<(usize, String)> = Vec::with_capacity(self.chunk);
        loop {
            chunk.clear();
            while chunk.len() < self.chunk {
                let mut buf = Vec::new();
                let n = input.read_until(b'\n', &mut buf).with_context(|| format!("{}", self.name.display()))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                let text = String::from_utf8(buf)
                    .map_err(|_| anyhow::anyhow!("{}:{line_no}: field `-`: invalid UTF-8", self.name.display()))?;
                if !text.trim().is_empty() {
                    chunk.push((line_no, text));
                }
            }
            if chunk.is_empty() {
                break;
            }
            let done: Vec<anyhow::Result<(String, T)>> =
                self.pool.install(|| chunk.par_iter().map(|(no, line)| map(line, *no)).collect());
            for result in done {
                let (text, value) = result?;
                out.write_all(text.as_bytes()).and_then(|_| out.write_all(b"\n")).context("writing the output")?;
                tally(value);
            }
            progress.advance(chunk.len() as u64);
        }
        out.flush().context("writing the output")?;
        progress.finish();
        Ok(())
    }
}
