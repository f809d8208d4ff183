//! The run's append-only files: `samples.jsonl` (one line per completed
//! request, keyed by [`SampleKey`]) and `metrics.jsonl` (one line per
//! benchmark x N group of a session, with its wall time), written through
//! `bcr_core::run::Appender`: a crash loses at most a truncated last line,
//! which loading drops, and the request runs again. A key that appears twice
//! (never written by this code, but possible after manual concatenation) is
//! counted once: the first line wins.

use crate::backend::TokenSource;
use crate::Result;
use bcr_core::run::read_jsonl;
use bcr_core::FinishReason;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

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

/// Loads `samples.jsonl`, keeping the first line of each key.
pub fn load_samples(path: &Path) -> Result<Vec<Sample>> {
    let all: Vec<Sample> = read_jsonl(path)?;
    let mut seen = HashSet::new();
    Ok(all.into_iter().filter(|s| seen.insert(s.key.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bcr_core::run::Appender;
    use std::fs::OpenOptions;
    use std::io::Write;

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
