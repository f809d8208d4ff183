//! `bcr serve`: the OpenAI-compatible gateway that packs concurrent
//! questions into one BCR context (`bcr_serve`).

use anyhow::Context;
use bcr_core::BudgetMode;
use bcr_serve::{NPolicy, ServeConfig, Upstream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where `bcr demo` (default `--out runs/demo`) leaves its BCR-trained model.
const DEMO_BCR_MODEL: &str = "runs/demo/bcr-n3-s0/model";
/// The shipped warm start (the gym model before any RL).
const WARM_START: &str = "assets/demo/warm-start";

/// Flags of `bcr serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  bcr serve                                    # the demo's BCR model (or the warm start) on 127.0.0.1:8000
  bcr serve --endpoint http://127.0.0.1:8080/v1 --served-model qwen --n adaptive --slo-ms 20000
  bcr serve --model runs/demo/bcr-n3-s0/model --n fixed:3 --api-keys keys.txt
Then: OPENAI_BASE_URL=http://127.0.0.1:8000/v1 any OpenAI client.")]
pub struct Args {
    /// Address to listen on. Example: `--host 0.0.0.0`.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port). Example: `--port 8000`.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// How many questions share a pack: `fixed:K`, `adaptive` (N follows the
    /// queue and the p95 latency) or `curve:SUMMARY` (adaptive, capped by a
    /// `bcr eval` run of the same model). Example: `--n fixed:3`.
    #[arg(long = "n", value_name = "POLICY", default_value = "adaptive", value_parser = super::parse_flag::<NPolicy>)]
    policy: NPolicy,
    /// Largest N. Example: `--max-n 8`.
    #[arg(long, default_value_t = 8)]
    max_n: usize,
    /// Target p95 latency in milliseconds (adaptive). Example: `--slo-ms 20000`.
    #[arg(long, default_value_t = 30_000.0)]
    slo_ms: f64,
    /// With `curve:`: the largest accuracy drop from N = 1, in points. Example: `--max-acc-drop 2`.
    #[arg(long, default_value_t = 2.0)]
    max_acc_drop: f64,
    /// Adaptive: one more question per pack only while the last one cut tokens
    /// per answer by at least this fraction (measured per N, or from the curve).
    /// Example: `--min-gain 0.05`.
    #[arg(long, default_value_t = 0.05)]
    min_gain: f64,
    /// Longest a question waits to be grouped, in milliseconds. Example: `--max-wait-ms 50`.
    #[arg(long, default_value_t = 50)]
    max_wait_ms: u64,
    /// Most questions waiting; beyond it requests get 429 with Retry-After. Example: `--max-queue 1024`.
    #[arg(long, default_value_t = 1024)]
    max_queue: usize,
    /// Token budget of one pack's response; see --budget-mode. Example: `--budget 4096`.
    #[arg(long, default_value_t = 4096)]
    budget: usize,
    /// `total`: max_tokens = budget for every N (BCR's setup); `per-problem`: budget x N.
    /// Example: `--budget-mode per-problem`.
    #[arg(long, value_name = "MODE", default_value = "total", value_parser = super::parse_flag::<BudgetMode>)]
    budget_mode: BudgetMode,
    /// Answer label of the prompt (`Answer k: \boxed{...}`). Example: `--label Answer`.
    #[arg(long, default_value = "Answer")]
    label: String,
    /// File of accepted API keys, one per line: enables bearer-token auth
    /// (unknown keys get 401). Example: `--api-keys keys.txt`.
    #[arg(long)]
    api_keys: Option<PathBuf>,
    /// Put questions from different API keys in one context. By default only
    /// a key's own questions share a pack; with this flag a caller's question
    /// is read by the model next to other callers' (each still receives only
    /// its own section).
    #[arg(long)]
    pack_across_keys: bool,
    /// Largest request body in bytes (larger: 413). Example: `--max-body-bytes 1048576`.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Model name reported in `/v1/models` and responses (default: the model's).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    backend: super::backend::BackendArgs,
}

/// Runs `bcr serve` until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<()> {
    let default = default_model();
    let spec = args.backend.spec(Some(default))?;
    let name = args.name.clone().unwrap_or_else(|| match &args.backend.endpoint {
        Some(_) => args.backend.served_model.clone(),
        None => model_name(args.backend.model.as_deref().unwrap_or(default)),
    });
    let mut config = ServeConfig::new(&name);
    config.set_policy(&args.policy, args.max_n, args.slo_ms, (args.max_acc_drop, args.min_gain))?;
    config.max_wait = Duration::from_millis(args.max_wait_ms);
    config.max_queue = args.max_queue;
    config.max_body_bytes = args.max_body_bytes;
    config.pack_across_keys = args.pack_across_keys;
    config.packer.budget = args.budget;
    config.packer.budget_mode = args.budget_mode;
    config.packer.prompt = config.packer.prompt.with_label(&args.label).context("--label")?;
    config.packer.parse.label = args.label.clone();
    if let Some(path) = &args.api_keys {
        config.api_keys = Some(bcr_serve::load_api_keys(path)?);
    }
    if args.backend.endpoint.is_none() && args.backend.model.is_none() {
        let which = if default == DEMO_BCR_MODEL {
            "the BCR model `bcr demo` trained"
        } else {
            "the shipped warm start (no `bcr demo` model found)"
        };
        eprintln!("bcr serve: no --model or --endpoint: serving {which}, {default}");
    }
    let upstream = Upstream::open(&spec)?;
    let addr = format!("{}:{}", args.host, args.port);
    let (policy, max_n) = (args.policy.clone(), config.controller.max_n);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr().with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!(
            "bcr serve: {} as `{name}`, N policy {policy:?} (max N {max_n}), on http://{bound}/v1",
            upstream.describe()
        );
        bcr_serve::serve(config, upstream, listener, bcr_serve::shutdown_signal()).await?;
        eprintln!("bcr serve: stopped");
        anyhow::Ok(())
    })
}

/// The demo's BCR model when it has been trained, else the warm start.
fn default_model() -> &'static str {
    if Path::new(DEMO_BCR_MODEL).join("model.safetensors").is_file() {
        DEMO_BCR_MODEL
    } else {
        WARM_START
    }
}

/// A short model name from a path or Hub id (`runs/demo/bcr-n3-s0/model` -> `bcr-n3-s0`).
fn model_name(spec: &str) -> String {
    let parts: Vec<&str> = spec.trim_end_matches('/').rsplit('/').collect();
    match parts.as_slice() {
        ["model", parent, ..] => parent.to_string(),
        [last, ..] => last.trim_end_matches(".gguf").to_string(),
        [] => spec.to_string(),
    }
}
