//! `bcr generate`: sample completions from a local model (HF directory,
//! `.gguf` file or Hub id) with batched KV-cache decoding, streaming one
//! JSON object per completion.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bcr_core::run::{PlainLines, Progress, ProgressSpec};
use bcr_core::ChatMessage;
use bcr_model::{generate_with_stats, row_seed, GenerateStats, LoadOptions, Model, SamplingConfig};
use serde_json::{json, Value};

const AFTER_HELP: &str = "\
Each prompt is wrapped in the model's chat template (a user turn, after an
optional --system turn, with the assistant turn opened) unless --raw is given.
Output: one JSON object per completion, in input order, written as each batch
finishes: {\"index\", \"sample\", \"id\" (when the input has one), \"text\",
\"tokens\", \"logprobs\", \"finish\": \"stop\"|\"length\"}. `logprobs` are
under the model's raw distribution (temperature 1, no truncation). Completion
k of prompt i samples with its own seed derived from (--seed, i * K + k), so
results do not depend on --batch-size. Totals and tokens/s go to stderr.
Input (--input): one JSON object per line with a string field `prompt` and an
optional `id`; blank lines are skipped.

Examples:
  bcr generate --model SmolLM2-135M-Instruct.Q4_1.gguf --prompt 'What is 7*8?' --temperature 0
  bcr generate --model ./ckpt --input prompts.jsonl --samples 8 --max-new-tokens 1024 --output out.jsonl
  bcr generate --model Qwen/Qwen2.5-1.5B-Instruct --prompt 'Hi' --top-p 0.95 --min-p 0.05 --seed 7";

/// Flags of `bcr generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Model: HF checkpoint directory, .gguf file or Hub id. Example: --model SmolLM2-135M-Instruct.Q4_1.gguf
    #[arg(long, value_name = "PATH")]
    model: String,
    /// One prompt. Example: --prompt 'What is 7*8?'
    #[arg(long, value_name = "TEXT", conflicts_with = "input", required_unless_present = "input")]
    prompt: Option<String>,
    /// JSONL file of {"prompt", "id"?} objects. Example: --input prompts.jsonl
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Completions per prompt. Example: --samples 8
    #[arg(long, value_name = "K", default_value_t = 1)]
    samples: usize,
    /// Hard token budget per completion (end-of-sequence included). Example: --max-new-tokens 1024
    #[arg(long, value_name = "B", default_value_t = 256)]
    max_new_tokens: usize,
    /// Temperature (0: greedy; default: the model's generation_config, else 1). Example: --temperature 0.6
    #[arg(long, value_name = "T")]
    temperature: Option<f64>,
    /// Nucleus mass (default: the model's generation_config, else 1). Example: --top-p 0.95
    #[arg(long, value_name = "P")]
    top_p: Option<f64>,
    /// Keep the K most likely tokens (0: off; default: generation_config, else 0). Example: --top-k 50
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,
    /// Drop tokens below this fraction of the top probability. Example: --min-p 0.05
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    min_p: f64,
    /// Base random seed. Example: --seed 7
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Stop when the text contains this string (repeatable). Example: --stop '</answer>'
    #[arg(long, value_name = "TEXT")]
    stop: Vec<String>,
    /// System message placed before each prompt. Example: --system 'You are terse.'
    #[arg(long, value_name = "TEXT", conflicts_with = "raw")]
    system: Option<String>,
    /// Feed prompts as raw text (no chat template). Example: --raw
    #[arg(long)]
    raw: bool,
    /// Never stop at end-of-sequence tokens: always spend the whole budget
    /// (for benchmarks). Example: --ignore-eos
    #[arg(long)]
    ignore_eos: bool,
    /// Sequences decoded together. Example: --batch-size 32
    #[arg(long, value_name = "N", default_value_t = 32)]
    batch_size: usize,
    /// Weight precision: native (a GGUF file's quantised blocks kept as
    /// stored, computing in f32 on the CPU: fastest decode, a quarter of the
    /// memory; safetensors checkpoints, and any model on a GPU, load as
    /// f32), f32, bf16 or f16. On the CPU,
    /// bf16 keeps the matrices in bf16 and computes in f32. Example: --dtype bf16
    #[arg(long, value_name = "DTYPE", default_value = "native")]
    dtype: String,
    /// Where the model runs: cpu or cuda:K (needs a build with `--features cuda`). Example: --device cuda:0
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    device: String,
    /// Output JSONL file (absent or `-`: stdout). Example: --output out.jsonl
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

struct Prompt {
    id: Option<Value>,
    text: String,
}

/// Runs `bcr generate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.samples == 0 || args.batch_size == 0 {
        bail!("--samples and --batch-size must be at least 1 (got {} and {})", args.samples, args.batch_size);
    }
    let dtype = bcr_model::WeightDtype::parse(&args.dtype).context("--dtype")?;
    let device = bcr_model::parse_device(&args.device).context("--device")?;
    let prompts = match (&args.prompt, &args.input) {
        (Some(p), _) => vec![Prompt { id: None, text: p.clone() }],
        (None, Some(path)) => read_prompts(path)?,
        (None, None) => bail!("give --prompt TEXT or --input FILE"),
    };
    let mut model = Model::load(&args.model, &LoadOptions { device, dtype })
        .with_context(|| format!("loading model {}", args.model))?;
    if args.ignore_eos {
        model.tokenizer.set_eos_ids(Vec::new());
    }
    let cfg = sampling_config(&args, &model);
    cfg.validate()?;
    let mut encoded = Vec::with_capacity(prompts.len());
    for (i, p) in prompts.iter().enumerate() {
        encoded.push(encode(&model, &args, &p.text).with_context(|| format!("prompt {i}"))?);
    }
    let mut out = super::prompt::open_output(args.output.as_deref())?;
    let jobs: Vec<(usize, usize)> = (0..prompts.len()).flat_map(|i| (0..args.samples).map(move |k| (i, k))).collect();
    let spec = ProgressSpec {
        plain: PlainLines::EveryUpdate,
        ..ProgressSpec::counted("generate", "completions", jobs.len() as u64)
    };
    let progress = Progress::new(&spec, true);
    let mut total = GenerateStats::default();
    for (b, batch) in jobs.chunks(args.batch_size).enumerate() {
        let ids: Vec<Vec<u32>> = batch.iter().map(|&(i, _)| encoded[i].clone()).collect();
        let seeds: Vec<u64> = batch.iter().map(|&(i, k)| row_seed(args.seed, (i * args.samples + k) as u64)).collect();
        let (gens, stats) = generate_with_stats(&model.lm, &model.tokenizer, &ids, &seeds, &cfg)?;
        for (&(i, k), g) in batch.iter().zip(&gens) {
            let mut obj = json!({"index": i, "sample": k, "text": g.text, "tokens": g.tokens,
                                 "logprobs": g.logprobs, "finish": g.finish});
            if let Some(id) = &prompts[i].id {
                obj["id"] = id.clone();
            }
            writeln!(out, "{obj}").context("writing the output")?;
        }
        out.flush().context("writing the output")?;
        accumulate(&mut total, &stats);
        let done = progress.position() + batch.len() as u64;
        progress.set(done, &format!("batch {}: {}", b + 1, rates(&stats, batch.len())));
    }
    progress.finish();
    eprintln!("total: {}", rates(&total, jobs.len()));
    Ok(())
}

fn sampling_config(args: &Args, model: &Model) -> SamplingConfig {
    let d = model.tokenizer.generation_defaults();
    SamplingConfig {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature.or(d.temperature).unwrap_or(1.0),
        top_p: args.top_p.or(d.top_p).unwrap_or(1.0),
        top_k: args.top_k.or(d.top_k).unwrap_or(0),
        min_p: args.min_p,
        seed: args.seed,
        stop: args.stop.clone(),
    }
}

fn encode(model: &Model, args: &Args, text: &str) -> anyhow::Result<Vec<u32>> {
    if args.raw {
        return Ok(model.tokenizer.encode(text, true)?);
    }
    let mut msgs: Vec<ChatMessage> = args.system.iter().map(ChatMessage::system).collect();
    msgs.push(ChatMessage::user(text));
    Ok(model.tokenizer.encode_chat(&msgs)?)
}

fn read_prompts(path: &Path) -> anyhow::Result<Vec<Prompt>> {
    let mut out = Vec::new();
    for record in bcr_core::data::read_records(path)? {
        let record = record?;
        let text = record.string("prompt")?;
        out.push(Prompt { id: record.fields().get("id").cloned(), text });
    }
    if out.is_empty() {
        bail!("{}: no prompts", path.display());
    }
    Ok(out)
}

fn accumulate(total: &mut GenerateStats, s: &GenerateStats) {
    total.prefill_secs += s.prefill_secs;
    total.decode_secs += s.decode_secs;
    total.prompt_tokens += s.prompt_tokens;
    total.generated_tokens += s.generated_tokens;
}

fn rates(s: &GenerateStats, seqs: usize) -> String {
    let per = |n: usize, t: f64| if t > 0.0 { n as f64 / t } else { 0.0 };
    format!(
        "{seqs} sequences, {} prompt tokens in {:.2} s ({:.1} tok/s), {} new tokens in {:.2} s ({:.1} tok/s)",
        s.prompt_tokens,
        s.prefill_secs,
        per(s.prompt_tokens, s.prefill_secs),
        s.generated_tokens,
        s.decode_secs,
        per(s.generated_tokens, s.decode_secs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_files_name_the_bad_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("{\"prompt\": \"a\", \"id\": 3}\n\n{\"prompt\": \"b\"}\n", None),
            ("{\"prompt\": \"a\"}\n{\"question\": \"b\"}\n", Some(":2: field `prompt`: missing")),
            ("{\"prompt\": 5}\n", Some(":1: field `prompt`: expected a string")),
            ("not json\n", Some(":1: field `-`: malformed JSON")),
            ("\n", Some("no prompts")),
        ];
        for (i, (text, want)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("p{i}.jsonl"));
            std::fs::write(&path, text).unwrap();
            match (read_prompts(&path), want) {
                (Ok(p), None) => {
                    assert_eq!(p.len(), 2);
                    assert_eq!(p[0].id, Some(json!(3)));
                    assert_eq!(p[1].text, "b");
                }
                (Err(e), Some(w)) => assert!(format!("{e:#}").contains(w), "{e:#}"),
                (got, _) => panic!("case {i}: unexpected {:?}", got.map(|p| p.len())),
            }
        }
    }
}
