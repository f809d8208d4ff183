//! JSONL: one JSON object per line. Reading is streaming (one line in memory
//! at a time); blank lines are allowed and skipped, a UTF-8 byte-order mark on
//! the first line is ignored, and every other line must be a JSON object in
//! valid UTF-8. Line numbers are 1-based physical lines.

use super::fields::{describe, Record, Site};
use super::formats::{to_problem, Format};
use crate::{Error, Location, Pack, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Streams the records of a JSONL file as `(line, object)`.
///
/// A bad line gives an [`Error::Record`] and reading goes on with the next
/// line; an I/O error is the last item.
pub(crate) struct Records {
    reader: Box<dyn BufRead>,
    path: PathBuf,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

impl Records {
    /// Opens `path` for streaming.
    pub fn open(path: &Path) -> Result<Records> {
        let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Ok(Records::new(Box::new(BufReader::new(file)), path))
    }

    /// Streams from any reader; `path` names it in errors.
    pub fn new(reader: Box<dyn BufRead>, path: &Path) -> Records {
        Records { reader, path: path.to_path_buf(), line: 0, buf: Vec::new(), done: false }
    }

    fn at(&self) -> Location {
        Location { file: self.path.clone(), line: self.line }
    }

    fn parse(&self) -> Result<Option<Map<String, Value>>> {
        let site = Site { at: &self.at(), prefix: "" };
        let mut bytes = self.buf.as_slice();
        if self.line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| site.err("-", format!("invalid UTF-8 at byte {} of the line", e.valid_up_to())))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(obj)) => Ok(Some(obj)),
            Ok(other) => Err(site.err("-", format!("expected a JSON object, found {}", describe(&other)))),
            Err(e) => Err(site.err("-", format!("malformed JSON: {e}"))),
        }
    }
}

impl Iterator for Records {
    type Item = Result<(usize, Map<String, Value>)>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    match self.parse() {
                        Ok(Some(obj)) => return Some(Ok((self.line, obj))),
                        Ok(None) => {}
                        Err(e) => return Some(Err(e)),
                    }
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io { path: self.path.clone(), source }));
                }
            }
        }
        None
    }
}

/// Streams the JSON objects of a JSONL file as [`Record`]s (blank lines
/// skipped; a bad line is an error item and reading goes on).
pub fn read_records(path: impl AsRef<Path>) -> Result<impl Iterator<Item = Result<Record>>> {
    let path = path.as_ref().to_path_buf();
    Ok(Records::open(&path)?
        .map(move |r| r.map(|(line, obj)| Record::from_parts(Location { file: path.clone(), line }, obj))))
}

/// Writes `items` as JSONL to `path` (created or truncated); returns how many.
pub fn write_jsonl<I>(path: impl AsRef<Path>, items: I) -> Result<usize>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    }
    let file = File::create(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    write_jsonl_to(BufWriter::new(file), items, path)
}

/// Writes `items` as JSONL to `writer` and flushes it; `path` names it in errors.
pub fn write_jsonl_to<W, I>(mut writer: W, items: I, path: &Path) -> Result<usize>
where
    W: Write,
    I: IntoIterator,
    I::Item: Serialize,
{
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut count = 0;
    for item in items {
        serde_json::to_writer(&mut writer, &item).map_err(|e| io(e.into()))?;
        writer.write_all(b"\n").map_err(io)?;
        count += 1;
    }
    writer.flush().map_err(io)?;
    Ok(count)
}

/// Streams the packs of a pack JSONL file (`{"pack_id", "n", "problems"}`),
/// checking each: `n` equals the number of problems and every problem has the
/// Problem JSONL fields. An empty file is an [`Error::Input`].
pub struct PackReader {
    records: Records,
    seen: bool,
}

impl PackReader {
    /// Opens a pack file.
    pub fn open(path: impl AsRef<Path>) -> Result<PackReader> {
        Ok(PackReader { records: Records::open(path.as_ref())?, seen: false })
    }
}

impl Iterator for PackReader {
    type Item = Result<Pack>;

    fn next(&mut self) -> Option<Result<Pack>> {
        match self.records.next() {
            Some(Ok((line, obj))) => {
                self.seen = true;
                let at = Location { file: self.records.path.clone(), line };
                Some(to_pack(&obj, &at))
            }
            Some(Err(e)) => {
                self.seen = true;
                Some(Err(e))
            }
            None if !self.seen => {
                self.seen = true;
                let path = self.records.path.clone();
                Some(Err(Error::Input { path, message: "empty file: no packs".to_string() }))
            }
            None => None,
        }
    }
}

/// Reads a whole pack file; the first bad line is the error.
pub fn read_packs(path: impl AsRef<Path>) -> Result<Vec<Pack>> {
    PackReader::open(path)?.collect()
}

fn to_pack(obj: &Map<String, Value>, at: &Location) -> Result<Pack> {
    let site = Site { at, prefix: "" };
    site.get(obj, "pack_id")?;
    let pack_id = site.id(obj, &["pack_id"], "pack")?;
    let n = match site.get(obj, "n")? {
        Value::Number(x) => x.as_u64().and_then(|x| usize::try_from(x).ok()),
        _ => None,
    }
    .ok_or_else(|| site.err("n", format!("expected a non-negative integer, found {}", describe(&obj["n"]))))?;
    let Value::Array(items) = site.get(obj, "problems")? else {
        return Err(site.err("problems", format!("expected an array, found {}", describe(&obj["problems"]))));
    };
    let mut problems = Vec::with_capacity(items.len());
    for (k, item) in items.iter().enumerate() {
        let prefix = format!("problems[{k}].");
        let Value::Object(p) = item else {
            return Err(site.err(&format!("problems[{k}]"), format!("expected an object, found {}", describe(item))));
        };
        problems.push(to_problem(Format::Problems, p, &Site { at, prefix: &prefix }, "")?);
    }
    if n != problems.len() {
        return Err(site.err("n", format!("is {n} but `problems` holds {}", problems.len())));
    }
    Ok(Pack { pack_id, n, problems })
}
