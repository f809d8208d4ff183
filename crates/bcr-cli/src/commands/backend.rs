//! The model flags shared by `bcr eval` and `bcr serve`: an OpenAI-compatible
//! server (`--endpoint`) or a local checkpoint on the native runtime
//! (`--model`), turned into one `bcr_eval::BackendSpec`.

use anyhow::Context;
use bcr_eval::{Api, BackendSpec, HttpConfig, RetryPolicy};
use std::time::Duration;

/// Model and endpoint flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Base URL of an OpenAI-compatible server. Example: `--endpoint http://127.0.0.1:8080/v1`.
    #[arg(long, conflicts_with = "model")]
    pub endpoint: Option<String>,
    /// Model name the server serves (sent as `model`). Example: `--served-model smollm2`.
    #[arg(long, default_value = "default")]
    pub served_model: String,
    /// Server API: `chat` (server applies the chat template) or `completions` (raw prompt).
    /// Example: `--api completions`.
    #[arg(long, default_value = "chat", value_parser = ["chat", "completions"])]
    pub api: String,
    /// Local model for the native backend: HF directory, .gguf file or Hub id.
    /// Example: `--model target/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    #[arg(long)]
    pub model: Option<String>,
    /// Where the native backend's model runs: cpu or cuda:K (needs a build with
    /// `--features cuda`). Example: `--device cuda:0`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Weight precision of the native backend: native (a GGUF file's
    /// quantised blocks kept as stored, on the CPU; safetensors checkpoints,
    /// and any model on a GPU, load as f32), f32, bf16 or f16. On the CPU,
    /// bf16 keeps the matrices in bf16 and computes in f32. Example: `--dtype bf16`.
    #[arg(long, default_value = "native")]
    pub dtype: String,
    /// Requests in flight at once (HTTP backend), or decoded together (native
    /// backend). Example: `--concurrency 32`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds one HTTP attempt may take. Example: `--timeout 1200`.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Retries per request on 429, 5xx, timeouts and connection errors. Example: `--retries 4`.
    #[arg(long, default_value_t = 8)]
    pub retries: u32,
    /// Environment variable holding the API key, if the server needs one.
    /// Example: `--api-key-env OPENAI_API_KEY`.
    #[arg(long)]
    pub api_key_env: Option<String>,
}

impl BackendArgs {
    /// The backend these flags name; `default_model` is used for the native
    /// backend when neither `--endpoint` nor `--model` is given (None: an error).
    pub fn spec(&self, default_model: Option<&str>) -> anyhow::Result<BackendSpec> {
        if let Some(url) = &self.endpoint {
            let api_key = match &self.api_key_env {
                Some(var) => Some(std::env::var(var).with_context(|| format!("--api-key-env: ${var} is not set"))?),
                None => None,
            };
            return Ok(BackendSpec::Http(HttpConfig {
                base_url: url.clone(),
                model: self.served_model.clone(),
                api: if self.api == "chat" { Api::Chat } else { Api::Completions },
                concurrency: self.concurrency,
                timeout: Duration::from_secs(self.timeout),
                retry: RetryPolicy { max_retries: self.retries, ..RetryPolicy::default() },
                api_key,
                tokenizer: None,
            }));
        }
        let Some(model) = self.model.as_deref().or(default_model) else {
            anyhow::bail!("give --endpoint URL (OpenAI-compatible server) or --model PATH (native backend)")
        };
        Ok(BackendSpec::Native {
            model: model.to_string(),
            load: bcr_model::LoadOptions {
                device: bcr_model::parse_device(&self.device).context("--device")?,
                dtype: bcr_model::WeightDtype::parse(&self.dtype).context("--dtype")?,
            },
            batch: self.concurrency,
        })
    }
}
