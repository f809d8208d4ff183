//! Datasets: [`Problem`]s from JSONL and Parquet files in their native schemas
//! (the math benchmarks of BCR's evaluation and the DeepMath-103K training set,
//! arXiv 2604.02322 §4), pack files, and the bundled benchmarks.
//!
//! ```no_run
//! use bcr_core::data::{load_problems, LoadOptions};
//! let loaded = load_problems("data/benchmarks/math500.jsonl", &LoadOptions::default())?;
//! assert_eq!(loaded.problems.len(), 500);
//! # Ok::<(), bcr_core::Error>(())
//! ```
//!
//! A file is Parquet when its name ends in `.parquet` or it starts with the
//! magic bytes `PAR1`; anything else is read as JSONL. The schema comes from
//! [`LoadOptions::format`] or is detected from the fields of the first record
//! (rules and the field mapping of every format: [`Format`]).
//!
//! Every problem gets `source` = the file stem (`math500`), except in bcr's own
//! Problem format, which keeps its own `source` field. Ids must be unique
//! within a file; a repeated id is a record error on the later line.
//!
//! Errors: a bad record (malformed JSON, a missing field, a wrong type,
//! invalid UTF-8, a repeated id) is an [`Error::Record`] naming file, line (or
//! Parquet row) and field. By default the first one stops the load; with
//! [`LoadOptions::skip_invalid`] each is collected in [`Loaded::skipped`] and
//! loading goes on. A file with no usable record (empty, or every record
//! skipped), an unreadable Parquet file, or an undetectable schema is an
//! [`Error::Input`] and is never skipped.

mod benchmarks;
mod boxed;
mod fields;
mod formats;
mod jsonl;
mod olympiad;
#[cfg(feature = "parquet")]
mod parquet;
mod source;

/// Stand-in when bcr-core is built without its `parquet` feature (the fuzz
/// target does this to avoid compiling arrow with sanitizers).
#[cfg(not(feature = "parquet"))]
mod parquet {
    use super::Collector;
    use crate::{Error, Result};
    use std::path::Path;

    pub(crate) fn load(path: &Path, _out: &mut Collector) -> Result<()> {
        Err(Error::Input {
            path: path.to_path_buf(),
            message: "Parquet support is not compiled in (build bcr-core with its `parquet` feature)".into(),
        })
    }
}
#[cfg(test)]
mod tests;

pub use benchmarks::{benchmark_dir, benchmark_path, Benchmark};
pub use fields::{describe, Record};
pub use formats::Format;
pub use jsonl::{read_packs, read_records, write_jsonl, write_jsonl_to, PackReader};
pub use source::{load_problem_set, ProblemSet, ProblemSource};

use crate::{Error, Location, Problem, Result};
use fields::Site;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::Path;

/// How to read a dataset file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The schema; `Format::Auto` (the default) detects it.
    pub format: Format,
    /// Skip bad records (collecting their errors) instead of stopping at the first.
    pub skip_invalid: bool,
}

/// The result of a load.
#[derive(Debug)]
pub struct Loaded {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
    /// The errors of the records that were skipped (only with `skip_invalid`).
    pub skipped: Vec<Error>,
    /// The format used (the detected one when `Format::Auto` was asked for).
    pub format: Format,
}

/// Loads every problem of a JSONL or Parquet file (see the module doc).
pub fn load_problems(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Loaded> {
    let path = path.as_ref();
    let mut out = Collector::new(path, opts);
    let is_parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet || has_parquet_magic(path)? {
        out.rows = true;
        parquet::load(path, &mut out)?;
    } else {
        for record in jsonl::Records::open(path)? {
            match record {
                Ok((line, obj)) => out.add(line, Ok(obj))?,
                Err(Error::Record { at, field, message }) => out.add(at.line, Err((field, message)))?,
                Err(e) => return Err(e),
            }
        }
    }
    out.finish()
}

/// Gathers problems from records, resolving the format on the first record
/// and applying the skip policy. Shared by the JSONL and Parquet readers.
pub(crate) struct Collector<'a> {
    path: &'a Path,
    source: String,
    format: Format,
    skip_invalid: bool,
    /// Locations are Parquet rows rather than lines.
    rows: bool,
    problems: Vec<Problem>,
    skipped: Vec<Error>,
    ids: HashSet<String>,
}

impl<'a> Collector<'a> {
    fn new(path: &'a Path, opts: &LoadOptions) -> Collector<'a> {
        let source = path.file_stem().map_or_else(|| "input".to_string(), |s| s.to_string_lossy().into_owned());
        Collector {
            path,
            source,
            format: opts.format,
            skip_invalid: opts.skip_invalid,
            rows: false,
            problems: Vec::new(),
            skipped: Vec::new(),
            ids: HashSet::new(),
        }
    }

    /// Takes one record (or the `(field, message)` of a record that could not
    /// be parsed) found at `line`.
    fn add(&mut self, line: usize, record: std::result::Result<Map<String, Value>, (String, String)>) -> Result<()> {
        let at = Location { file: self.path.to_path_buf(), line };
        let site = Site { at: &at, prefix: "" };
        let problem = match record {
            Ok(obj) => {
                if self.format == Format::Auto {
                    self.format = self.detect(&obj, line)?;
                }
                formats::to_problem(self.format, &obj, &site, &self.source)
            }
            Err((field, message)) => Err(site.err(&field, message)),
        };
        let problem = problem.and_then(|p| match self.ids.contains(&p.id) {
            true => Err(site.err("id", format!("id {:?} was already used by an earlier record", p.id))),
            false => Ok(p),
        });
        match problem {
            Ok(p) => {
                self.ids.insert(p.id.clone());
                self.problems.push(p);
                Ok(())
            }
            Err(e) => {
                let e = self.with_row(e);
                if self.skip_invalid {
                    self.skipped.push(e);
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    fn detect(&self, obj: &Map<String, Value>, line: usize) -> Result<Format> {
        Format::detect(|f| obj.contains_key(f)).ok_or_else(|| Error::Input {
            path: self.path.to_path_buf(),
            message: format!(
                "cannot detect the format from the fields of line {line} ({}); use --format",
                fields::keys(obj)
            ),
        })
    }

    /// Says "Parquet row" in the message of a record error from a Parquet file.
    fn with_row(&self, e: Error) -> Error {
        match e {
            Error::Record { at, field, message } if self.rows => {
                let message = format!("{message} (Parquet row {})", at.line);
                Error::Record { at, field, message }
            }
            e => e,
        }
    }

    fn finish(self) -> Result<Loaded> {
        if self.problems.is_empty() {
            let message = match self.skipped.len() {
                0 => "empty file: no records".to_string(),
                k => format!("no valid records ({k} skipped; the first: {})", self.skipped[0]),
            };
            return Err(Error::Input { path: self.path.to_path_buf(), message });
        }
        Ok(Loaded { problems: self.problems, skipped: self.skipped, format: self.format })
    }
}

/// True when the file starts with Parquet's magic bytes `PAR1`.
fn has_parquet_magic(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let n = file.read(&mut head).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(n == 4 && &head == b"PAR1")
}
