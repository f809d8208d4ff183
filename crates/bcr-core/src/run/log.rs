//! Append-only JSONL logs (`metrics.jsonl`, `samples.jsonl`) that survive a
//! crash: each record is one `write` of one line on a file opened for
//! appending, flushed at once and fsynced every [`SYNC_EVERY`] lines or
//! [`SYNC_INTERVAL`] (and on [`Appender::sync`]). A crash can leave a
//! truncated last line (no trailing newline): [`read_jsonl`] drops it and
//! truncates the file back to the last whole line, so appending starts clean
//! and the lost record is redone by the job that resumes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Location, Result};

/// Lines written between two fsyncs.
pub const SYNC_EVERY: usize = 32;
/// Longest time between two fsyncs while lines are written.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

fn record_err(path: &Path, line: usize, message: String) -> Error {
    Error::Record { at: Location { file: path.to_path_buf(), line }, field: "-".into(), message }
}

/// Appends JSON lines to a file; shared between threads.
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
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io(path))?;
        let state = AppendState { file, unsynced: 0, last_sync: Instant::now() };
        Ok(Appender { path: path.to_path_buf(), inner: Mutex::new(state) })
    }

    /// The file appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `record` as one line.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| record_err(&self.path, 0, format!("cannot serialise a record: {e}")))?;
        line.push('\n');
        let mut st = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        st.file.write_all(line.as_bytes()).and_then(|_| st.file.flush()).map_err(io(&self.path))?;
        st.unsynced += 1;
        if st.unsynced >= SYNC_EVERY || st.last_sync.elapsed() >= SYNC_INTERVAL {
            st.file.sync_data().map_err(io(&self.path))?;
            st.unsynced = 0;
            st.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Fsyncs what is written.
    pub fn sync(&self) -> Result<()> {
        let mut st = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        st.file.sync_data().map_err(io(&self.path))?;
        st.unsynced = 0;
        st.last_sync = Instant::now();
        Ok(())
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        // Best effort: what was flushed is in the OS's hands already.
        let _ = self.sync();
    }
}

/// Reads every whole line of a JSONL file as `T`, repairing a crash-truncated
/// tail (see the module doc). A missing file is empty. A malformed line
/// that is not the tail is an error naming the file and line.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        let f = OpenOptions::new().write(true).open(path).map_err(io(path))?;
        f.set_len(whole as u64).and_then(|_| f.sync_all()).map_err(io(path))?;
    }
    let mut out = Vec::new();
    for (i, line) in bytes[..whole].split(|&b| b == b'\n').enumerate() {
        let text = std::str::from_utf8(line)
            .map_err(|e| record_err(path, i + 1, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        if text.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(text).map_err(|e| record_err(path, i + 1, e.to_string()))?);
    }
    Ok(out)
}

/// Keeps only the records of a JSONL file for which `keep` is true, and
/// replaces the file atomically (a resumed training run drops the steps
/// after its checkpoint). A missing file stays missing.
pub fn retain_jsonl(path: &Path, keep: impl Fn(&serde_json::Value) -> bool) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let records: Vec<serde_json::Value> = read_jsonl(path)?;
    let mut text = String::new();
    for v in records.into_iter().filter(|v| keep(v)) {
        text.push_str(&v.to_string());
        text.push('\n');
    }
    super::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn appends_repairs_a_truncated_tail_and_retains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let app = Appender::open(&path).unwrap();
        for step in 1..=4 {
            app.append(&json!({"step": step, "text": "ünïcode \"q\""})).unwrap();
        }
        drop(app);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"step\": 5, \"te").unwrap();
        drop(f);
        let got: Vec<Value> = read_jsonl(&path).unwrap();
        assert_eq!(got.iter().map(|v| v["step"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"), "the partial line is gone");
        Appender::open(&path).unwrap().append(&json!({"step": 5})).unwrap();
        retain_jsonl(&path, |v| v["step"].as_u64().is_some_and(|s| s <= 3 || s == 5)).unwrap();
        let kept: Vec<Value> = read_jsonl(&path).unwrap();
        assert_eq!(kept.iter().map(|v| v["step"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 5]);
    }

    #[test]
    fn missing_is_empty_and_a_bad_middle_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_jsonl::<Value>(&dir.path().join("none.jsonl")).unwrap().is_empty());
        retain_jsonl(&dir.path().join("none.jsonl"), |_| true).unwrap();
        assert!(!dir.path().join("none.jsonl").exists());
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"a\": 1}\nnot json\n\n{\"a\": 2}\n").unwrap();
        let err = read_jsonl::<Value>(&path).unwrap_err().to_string();
        assert!(err.contains("bad.jsonl:2"), "{err}");
    }
}
