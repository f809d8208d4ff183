//! The Hugging Face Hub, as every bcr command reaches it: repository ids
//! (`owner/name`), the offline switch, and (with the `hub` feature) the one
//! `hf-hub` client setup, which respects `HF_HOME`, `HF_ENDPOINT` and
//! `HF_TOKEN` and downloads into the standard Hugging Face cache.
//! `bcr-model` fetches checkpoints through it, [`crate::data::ProblemSource`]
//! datasets.

/// Whether `HF_HUB_OFFLINE` is set to a true value (`1`, `true`, `yes`, `on`):
/// then only the local cache is consulted.
pub fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// Whether `spec` has the shape of a Hub repository id, `owner/name`,
/// optionally followed by `:path/in/repo` (a dataset file).
pub fn looks_like_repo_id(spec: &str) -> bool {
    let id = spec.split_once(':').map_or(spec, |(id, _)| id);
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

/// A synchronous Hub client configured from the environment.
#[cfg(feature = "hub")]
pub fn api() -> std::result::Result<hf_hub::api::sync::Api, hf_hub::api::sync::ApiError> {
    hf_hub::api::sync::ApiBuilder::from_env().with_progress(false).build()
}

/// Downloads the problem file of a Hub dataset, `owner/name` (the file of
/// its test split is chosen) or `owner/name:path/in/repo.parquet`, and
/// returns its local path.
#[cfg(feature = "hub")]
pub fn download_dataset(spec: &str) -> crate::Result<std::path::PathBuf> {
    use crate::Error;
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
    if offline() {
        let cache = hf_hub::Cache::from_env();
        let name = file.ok_or_else(|| fail("choosing a file offline", &"name one as `owner/name:PATH`"))?;
        return cache.dataset(id.to_string()).get(&name).ok_or_else(|| {
            fail(&format!("finding `{name}` in the cache at {}", cache.path().display()), &"HF_HUB_OFFLINE is set")
        });
    }
    let repo = api().map_err(|e| fail("client setup", &e))?.dataset(id.to_string());
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
#[cfg_attr(not(feature = "hub"), allow(dead_code))]
fn pick_test_file(names: &[String]) -> Option<String> {
    let data = names.iter().filter(|n| n.ends_with(".parquet") || n.ends_with(".jsonl"));
    data.min_by_key(|n| (!n.to_ascii_lowercase().contains("test"), n.len(), n.as_str())).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_and_file_choice() {
        let cases: &[(&str, bool)] = &[
            ("openai/gsm8k", true),
            ("HuggingFaceTB/SmolLM2-135M-Instruct", true),
            ("zwhe99/DeepMath-103K:data/train-00000.parquet", true),
            ("gsm8k", false),
            ("./data/x.jsonl", false),
            ("/abs/path", false),
            ("a/b/c", false),
            ("a b/c", false),
            ("", false),
        ];
        for &(s, want) in cases {
            assert_eq!(looks_like_repo_id(s), want, "{s}");
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
