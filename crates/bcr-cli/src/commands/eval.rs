//! `bcr eval`: the task-scaling-law sweep (accuracy and tokens per problem as
//! N grows) against an OpenAI-compatible server or a local model, resumable,
//! ending in `summary.{json,csv}`, `report.md` and `scaling.{svg,png}`.

use anyhow::{bail, Context};
use bcr_core::BudgetMode;
use bcr_eval::{Api, BackendSpec, EvalSpec, HttpConfig, ReportOptions, RetryPolicy, SweepSettings};
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `bcr eval`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  bcr eval --endpoint http://127.0.0.1:8080/v1 --served-model smollm2 \\
      --benchmarks gsm8k --limit 30 --n 1,2,3 --budget 512 --budget-mode per-problem --out runs/smollm2
  bcr eval --model Qwen/Qwen3-4B-Thinking-2507 --benchmarks aime25,amc23 --n 1,2,4 --budget 8000 --out runs/base
Rerunning the same command resumes: finished samples are kept and skipped.")]
pub struct Args {
    /// Problem sets, comma-separated: benchmark names (aime24, aime25, amc23, math500,
    /// minerva, olympiadbench, gsm8k), problem files (JSONL/Parquet) or Hub dataset ids
    /// (`owner/name[:file]`). Example: `--benchmarks gsm8k,./my_problems.jsonl`.
    #[arg(long, value_delimiter = ',', required = true)]
    benchmarks: Vec<String>,
    /// Problems per context to sweep. Example: `--n 1,2,3,4,6,8`.
    #[arg(long = "n", value_delimiter = ',', default_value = "1,2,3")]
    ns: Vec<usize>,
    /// Run directory (created; an existing one with the same config is resumed).
    /// Example: `--out runs/base`.
    #[arg(long)]
    out: PathBuf,
    /// Base URL of an OpenAI-compatible server. Example: `--endpoint http://127.0.0.1:8080/v1`.
    #[arg(long, conflicts_with = "model")]
    endpoint: Option<String>,
    /// Model name the server serves (sent as `model`). Example: `--served-model smollm2`.
    #[arg(long, default_value = "default")]
    served_model: String,
    /// Server API: `chat` (server applies the chat template) or `completions` (raw prompt).
    /// Example: `--api completions`.
    #[arg(long, default_value = "chat", value_parser = ["chat", "completions"])]
    api: String,
    /// Local model for the native backend: HF directory, .gguf file or Hub id.
    /// Example: `--model target/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    #[arg(long)]
    model: Option<String>,
    /// Where the native backend's model runs: cpu or cuda:K (needs a build with
    /// `--features cuda`). Example: `--device cuda:0`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Weight precision of the native backend: native (a GGUF file's
    /// quantised blocks kept as stored, on the CPU; safetensors checkpoints,
    /// and any model on a GPU, load as f32),
    /// f32, bf16 or f16. On the CPU, bf16 keeps the matrices in bf16 and
    /// computes in f32. Example: `--dtype bf16`.
    #[arg(long, default_value = "native")]
    dtype: String,
    /// Token budget of one response; see --budget-mode. Example: `--budget 4096`.
    #[arg(long, default_value_t = 4096)]
    budget: usize,
    /// `total`: max_tokens = budget for every N (BCR's setup); `per-problem`: budget x N.
    /// Example: `--budget-mode per-problem`.
    #[arg(long, value_name = "MODE", default_value = "total", value_parser = super::parse_flag::<BudgetMode>)]
    budget_mode: BudgetMode,
    /// Seeded packings per N (the first is the file order). Example: `--shuffles 3`.
    #[arg(long, default_value_t = 1)]
    shuffles: usize,
    /// Draws per pack, for avg@k and pass@k. Example: `--samples 4`.
    #[arg(long, default_value_t = 1)]
    samples: usize,
    /// Sampling temperature (0 = greedy). Example: `--temperature 0.6`.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling mass. Example: `--top-p 0.95`.
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    /// Only the first M problems of each set (quick runs). Example: `--limit 30`.
    #[arg(long)]
    limit: Option<usize>,
    /// System message (default: none, so the model's template default applies).
    /// Example: `--system "You are a careful mathematician."`.
    #[arg(long)]
    system: Option<String>,
    /// Answer label of the prompt (`Answer k: \boxed{...}`). Example: `--label Answer`.
    #[arg(long, default_value = "Answer")]
    label: String,
    /// Only labelled answers (`Answer k: \boxed{...}`) count, as the strict
    /// BCR training reward. Example: `--require-label`.
    #[arg(long)]
    require_label: bool,
    /// Do not read unboxed answers of N = 1 responses ("the answer is 7",
    /// the last `$...$`, the last number). Example: `--no-free-form`.
    #[arg(long)]
    no_free_form: bool,
    /// Custom prompt template file (minijinja; see `bcr prompt --help`). Example: `--template my.jinja`.
    #[arg(long)]
    template: Option<PathBuf>,
    /// Seed of the shuffles and per-request sampling seeds. Example: `--seed 1`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Requests in flight at once (HTTP backend). Example: `--concurrency 32`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds one HTTP attempt may take. Example: `--timeout 1200`.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Retries per request on 429, 5xx, timeouts and connection errors. Example: `--retries 4`.
    #[arg(long, default_value_t = 8)]
    retries: u32,
    /// Environment variable holding the API key, if the server needs one.
    /// Example: `--api-key-env OPENAI_API_KEY`.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Reflection phrases counted in every response (case-insensitive, at
    /// word boundaries), reported per problem and per 1,000 tokens.
    /// Example: `--reflection-phrases "wait,let me check,hmm"`.
    #[arg(long, value_delimiter = ',', default_values_t = bcr_core::DEFAULT_REFLECTION_PHRASES.map(String::from))]
    reflection_phrases: Vec<String>,
    /// No progress output on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Runs `bcr eval`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let sweep = SweepSettings {
        ns: args.ns.clone(),
        shuffles: args.shuffles,
        samples: args.samples,
        temperature: args.temperature,
        top_p: args.top_p,
        budget: args.budget,
        budget_mode: args.budget_mode,
        system: args.system.clone(),
        label: args.label.clone(),
        require_label: args.require_label,
        free_form: !args.no_free_form,
        seed: args.seed,
    };
    let spec =
        EvalSpec { benchmarks: args.benchmarks.clone(), limit: args.limit, template: args.template.clone(), sweep };
    let backend = backend(&args)?;
    let reflections = bcr_core::ReflectionMarkers::new(&args.reflection_phrases).context("--reflection-phrases")?;
    let report = ReportOptions { progress: !args.quiet, command: command_line(), reflections };
    let out = bcr_eval::evaluate(&args.out, &spec, &backend, &report)?;
    print!("{}", bcr_eval::markdown(&out.summary, &command_line()));
    eprintln!(
        "{}: {} samples written now, {} already done; reports in {}",
        args.out.display(),
        out.sweep.completed,
        out.sweep.already_done,
        args.out.display()
    );
    Ok(())
}

fn backend(args: &Args) -> anyhow::Result<BackendSpec> {
    match (&args.endpoint, &args.model) {
        (Some(url), _) => {
            let api_key = match &args.api_key_env {
                Some(var) => Some(std::env::var(var).with_context(|| format!("--api-key-env: ${var} is not set"))?),
                None => None,
            };
            Ok(BackendSpec::Http(HttpConfig {
                base_url: url.clone(),
                model: args.served_model.clone(),
                api: if args.api == "chat" { Api::Chat } else { Api::Completions },
                concurrency: args.concurrency,
                timeout: Duration::from_secs(args.timeout),
                retry: RetryPolicy { max_retries: args.retries, ..RetryPolicy::default() },
                api_key,
                tokenizer: None,
            }))
        }
        (None, Some(model)) => Ok(BackendSpec::Native {
            model: model.clone(),
            load: bcr_model::LoadOptions {
                device: bcr_model::parse_device(&args.device).context("--device")?,
                dtype: bcr_model::WeightDtype::parse(&args.dtype).context("--dtype")?,
            },
            batch: args.concurrency,
        }),
        (None, None) => bail!("give --endpoint URL (OpenAI-compatible server) or --model PATH (native backend)"),
    }
}

/// The command line as typed (for the report).
fn command_line() -> String {
    let args: Vec<String> =
        std::env::args().map(|a| if a.contains([' ', '"', '\\']) { format!("'{a}'") } else { a }).collect();
    let mut line = args.join(" ");
    if let Some(first) = args.first() {
        if let Some(name) = std::path::Path::new(first).file_name() {
            line = line.replacen(first.as_str(), &name.to_string_lossy(), 1);
        }
    }
    line
}
