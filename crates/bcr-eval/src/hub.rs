//! Problem sets from the Hugging Face Hub: `owner/name` (the dataset's test
//! split file is chosen) or `owner/name:path/in/repo.parquet`, downloaded
//! into the standard Hugging Face cache (`HF_HOME` respected) by `hf-hub`.

use crate::{Error, Result};
use std::path::PathBuf;

/// Whether `spec` has the shape of a Hub dataset id (`owner/name[:file]`).
pub fn looks_like_hub_id(spec: &str) -> bool {
    let id = spec.split(':').next().unwrap_or("");
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

/// Downloads the problem file of a Hub dataset and returns its local path.
pub fn download(spec: &str) -> Result<PathBuf> {
    let (id, file) = match spec.split_once(':') {
        Some((id, f)) => (id, Some(f.to_string())),
        None => (spec, None),
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::Invalid(format!(
            "Hub dataset `{id}`: {what} failed ({e}); this needs network access to huggingface.co \
             (or a warm cache): download the file elsewhere and pass its path instead"
        ))
    };
    let api =
        hf_hub::api::sync::ApiBuilder::from_env().with_progress(false).build().map_err(|e| fail("client setup", &e))?;
    let repo = api.dataset(id.to_string());
    let file = match file {
        Some(f) => f,
        None => {
            let info = repo.info().map_err(|e| fail("listing files", &e))?;
            let names: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
            pick_test_file(&names).ok_or_else(|| {
                Error::Invalid(format!(
                    "Hub dataset `{id}`: no test-split .parquet/.jsonl file among {} files; name one as `{id}:PATH`",
                    names.len()
                ))
            })?
        }
    };
    repo.get(&file).map_err(|e| fail(&format!("downloading `{file}`"), &e))
}

/// The most likely test-split data file: `.parquet`/`.jsonl`, preferring
/// names with `test`, then the shortest path.
fn pick_test_file(names: &[String]) -> Option<String> {
    let data = names.iter().filter(|n| n.ends_with(".parquet") || n.ends_with(".jsonl"));
    data.min_by_key(|n| (!n.to_ascii_lowercase().contains("test"), n.len(), n.as_str())).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_file_choice() {
        let cases: &[(&str, bool)] = &[
            ("openai/gsm8k", true),
            ("zwhe99/DeepMath-103K:data/train-00000.parquet", true),
            ("gsm8k", false),
            ("./data/x.jsonl", false),
            ("/abs/path", false),
            ("a/b/c", false),
            ("a b/c", false),
        ];
        for &(s, want) in cases {
            assert_eq!(looks_like_hub_id(s), want, "{s}");
        }
        let names: Vec<String> =
            ["README.md", "main/train-0.parquet", "main/test-0.parquet", "socratic/test-0.parquet"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(pick_test_file(&names).as_deref(), Some("main/test-0.parquet"));
        assert_eq!(pick_test_file(&names[..2]).as_deref(), Some("main/train-0.parquet"));
        assert_eq!(pick_test_file(&names[..1]), None);
    }
}
