//! The run's append-only files: `samples.jsonl` (one line per completed
//! request, keyed by [`SampleKey`]) and `metrics.jsonl` (one line per
//! benchmark x N group of a session, with its wall time).
//!
//! Crash safety: each line is written with one `write` call on a file opened
//! for appending and is flushed at once; the file is fsynced every
//! [`SYNC_EVERY`] lines or [`SYNC_INTERVAL`], and on close. A crash can leave
//! a truncated last line (no trailing newline): loading drops it, truncates
//! the file back to the last whole line, and the request runs again. A key
//! that appears twice (never written by this code, but possible after manual
//! concatenation) is counted once: the first line wins.

use crate::backend::{FinishReason, TokenSource};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines written between two fsyncs.
pub const SYNC_EVERY: usize = 32;
/// Longest time between two fsyncs while lines are written.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);

/// Identity of one sample: which benchmark, N, packing, pack and draw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SampleKey {
    /// Benchmark name.
    pub benchmark: String,
    /// Problems per context requested by the sweep (the last pack may hold fewer).
    pub n: usize,
    /// Packing index (0 = the file order; s > 0 = seeded shuffle s).
    pub shuffle: usize,
    /// Pack identifier within the packing.
    pub pack_id: String,
    /// Draw index, `0..samples`.
    pub sample: usize,
}

/// One completed request with its grades: a line of `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The key (flattened into the line).
    #[serde(flatten)]
    pub key: SampleKey,
    /// Ids of the pack's problems, in prompt order.
    pub problem_ids: Vec<String>,
    /// Gold answers, in prompt order.
    pub golds: Vec<String>,
    /// Parsed answer per problem (`null` when none could be parsed).
    pub answers: Vec<Option<String>>,
    /// Correctness per problem.
    pub correct: Vec<bool>,
    /// `max_tokens` sent (the budget of this response).
    pub max_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Where the token count came from.
    pub token_source: TokenSource,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// Seconds from first attempt to answer.
    pub latency_s: f64,
    /// Attempts made.
    pub attempts: u32,
    /// The response text.
    pub response: String,
}

/// One benchmark x N group of one session: a line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTiming {
    /// Benchmark name.
    pub benchmark: String,
    /// Problems per context.
    pub n: usize,
    /// Requests completed in this session.
    pub completed: usize,
    /// Requests that failed after retries.
    pub failed: usize,
    /// Wall-clock seconds of the group in this session.
    pub wall_s: f64,
    /// Seconds the backend spent with requests in flight, summed over requests.
    pub request_s: f64,
    /// Seconds spent in bcr's own code around the requests (prompting,
    /// scoring, writing), summed over requests.
    pub bcr_s: f64,
}

/// Reads every whole line of a JSONL file written by [`Appender`], repairing
/// a crash-truncated tail. Missing file = empty. Returns the parsed records.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        // A crash mid-write: drop the partial line so appends start clean.
        let f = OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
        f.set_len(whole as u64).map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))?;
    }
    let text = std::str::from_utf8(&bytes[..whole]).map_err(|e| Error::Record {
        path: path.to_path_buf(),
        line: 0,
        field: "-".into(),
        message: format!("not UTF-8: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str(line).map_err(|e| Error::Record {
            path: path.to_path_buf(),
            line: i + 1,
            field: "-".into(),
            message: format!("{e}"),
        })?;
        out.push(rec);
    }
    Ok(out)
}

/// Loads `samples.jsonl`, keeping the first line of each key.
pub fn load_samples(path: &Path) -> Result<Vec<Sample>> {
    let all: Vec<Sample> = read_jsonl(path)?;
    let mut seen = HashSet::new();
    Ok(all.into_iter().filter(|s| seen.insert(s.key.clone())).collect())
}

/// Appends JSON lines to a file, flushing each and fsyncing periodically.
/// Shared between worker threads.
#[derive(Debug)]
pub struct Appender {
    path: PathBuf,
    inner: Mutex<AppendState>,
}

#[derive(Debug)]
struct AppendState {
    file: File,
    unsynced: usize,
    last_sync: Instant,
}

impl Appender {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
        let state = AppendState { file, unsynced: 0, last_sync: Instant::now() };
        Ok(Appender { path: path.to_path_buf(), inner: Mutex::new(state) })
    }

    /// Writes `record` as one line.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record).map_err(|e| Error::Record {
            path: self.path.clone(),
            line: 0,
            field: "-".into(),
            message: format!("cannot serialise: {e}"),
        })?;
        line.push('\n');
        let mut st = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        st.file.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))?;
        st.file.flush().map_err(|e| Error::io(&self.path, e))?;
        st.unsynced += 1;
        if st.unsynced >= SYNC_EVERY || st.last_sync.elapsed() >= SYNC_INTERVAL {
            st.file.sync_data().map_err(|e| Error::io(&self.path, e))?;
            st.unsynced = 0;
            st.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Fsyncs what is written.
    pub fn sync(&self) -> Result<()> {
        let mut st = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        st.file.sync_data().map_err(|e| Error::io(&self.path, e))?;
        st.unsynced = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pack: &str, s: usize) -> Sample {
        Sample {
            key: SampleKey { benchmark: "b".into(), n: 2, shuffle: 0, pack_id: pack.into(), sample: s },
            problem_ids: vec!["1".into(), "2".into()],
            golds: vec!["3".into(), "x^2".into()],
            answers: vec![Some("3".into()), None],
            correct: vec![true, false],
            max_tokens: 10,
            completion_tokens: 9,
            token_source: TokenSource::Usage,
            finish: FinishReason::Length,
            latency_s: 0.5,
            attempts: 2,
            response: "Answer 1: \\boxed{3}\n\"quoted\" ünïcode".into(),
        }
    }

    #[test]
    fn round_trip_dedupes_and_repairs_truncated_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.jsonl");
        let app = Appender::open(&path).unwrap();
        for (p, s) in [("0", 0), ("1", 0), ("0", 0), ("0", 1)] {
            app.append(&sample(p, s)).unwrap();
        }
        app.sync().unwrap();
        drop(app);
        // A crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"benchmark\":\"b\",\"n\":2,\"shu").unwrap();
        drop(f);

        let got = load_samples(&path).unwrap();
        let keys: Vec<(String, usize)> = got.iter().map(|s| (s.key.pack_id.clone(), s.key.sample)).collect();
        assert_eq!(keys, vec![("0".into(), 0), ("1".into(), 0), ("0".into(), 1)]);
        assert_eq!(got[0], sample("0", 0));
        // The partial line is gone from the file, so appending starts clean.
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
        Appender::open(&path).unwrap().append(&sample("2", 0)).unwrap();
        assert_eq!(load_samples(&path).unwrap().len(), 4);
    }

    #[test]
    fn missing_file_is_empty_and_corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_samples(&dir.path().join("none.jsonl")).unwrap().is_empty());
        let path = dir.path().join("bad.jsonl");
        let good = serde_json::to_string(&sample("0", 0)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n\n{good}\n")).unwrap();
        let err = load_samples(&path).unwrap_err().to_string();
        assert!(err.contains("bad.jsonl:2"), "{err}");
    }
}
