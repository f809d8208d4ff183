//! `bcr score`: parse and grade responses to packs, and reward each one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bcr_core::data::Record;
use bcr_core::{score_response, ExtractOptions, Location, PackReader, ParseOptions, RewardConfig, Score};
use serde::Serialize;

use super::lines::LineJob;

use super::prompt::open_output;

const AFTER_HELP: &str = "\
Responses: one JSON object per line, {\"pack_id\", \"response\", \"response_tokens\"?}
(response_tokens: a non-negative integer, needed only with --length-penalty).
Several responses may answer the same pack (e.g. a GRPO group); each is scored
on its own. Output: one object per response, in input order:
{\"pack_id\", \"line\", \"n\", \"answers\", \"correct\", \"accuracy\", \"format\",
\"length_penalty\", \"reward\", \"diagnostics\"}, where line is the response's line in
the responses file, answers[k-1] the content of `Answer k: \\boxed{...}` (or null)
and diagnostics the parser's findings (missing, duplicate, out_of_order,
unlabelled, positional, truncated, label_out_of_range, free_form).

With N = 1 and no box, a free-form answer is read (the verifier's extraction:
\"final answer\" phrases, the last $...$ span, the last number); it counts for
accuracy, not for format. --no-free-form turns that off; --require-label accepts
only labelled boxes (the BCR training format).

reward = accuracy + W * format [- L * response_tokens / B]: accuracy is the share
of the N answers equal to the golds (math equivalence), format the share present
and well formed, W --format-weight (default 0.1), and the length term appears only
with --length-penalty L --budget B (the paper's collapsing ablation).

Packs are held in memory (pack_id -> gold answers); responses stream in chunks of
1024 scored on all cores. An unknown pack_id, a missing or mistyped field or a
malformed line stops the run with exit status 1, naming file, line and field. A
summary goes to stderr.

Examples:
  bcr score --packs packs.jsonl --responses responses.jsonl --output scores.jsonl
  bcr score --packs packs.jsonl --responses responses.jsonl --format-weight 0
  bcr score --packs p.jsonl --responses r.jsonl --length-penalty 1 --budget 5120";

/// Responses scored per parallel chunk.
const CHUNK: usize = 1024;

/// Flags of `bcr score`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Pack JSONL file with the gold answers. Example: --packs packs.jsonl
    #[arg(long, value_name = "FILE")]
    packs: PathBuf,
    /// Responses JSONL file (`-` for stdin). Example: --responses responses.jsonl
    #[arg(long, value_name = "FILE")]
    responses: PathBuf,
    /// Weight of the format term. Example: --format-weight 0.2
    #[arg(long, value_name = "W", default_value_t = bcr_core::DEFAULT_FORMAT_WEIGHT)]
    format_weight: f64,
    /// Turn on the explicit length penalty -L * tokens / budget (ablation). Example: --length-penalty 1.0
    #[arg(long, value_name = "L", requires = "budget")]
    length_penalty: Option<f64>,
    /// Token budget of a whole response, for --length-penalty. Example: --budget 5120
    #[arg(long, value_name = "B")]
    budget: Option<usize>,
    /// Answer label the prompt asked for. Example: --label "Final answer"
    #[arg(long, value_name = "TEXT", default_value = bcr_core::DEFAULT_LABEL)]
    label: String,
    /// Also read answers written before `</think>`. Example: --keep-thinking
    #[arg(long)]
    keep_thinking: bool,
    /// Use unlabelled boxes for missing answers by position. Example: --positional-fallback
    #[arg(long)]
    positional_fallback: bool,
    /// Only `Answer k: \boxed{...}` counts (the BCR training format): an unlabelled
    /// box or a free-form answer scores 0. Example: --require-label
    #[arg(long)]
    require_label: bool,
    /// With N = 1 and no box, do not read a free-form answer ("The answer is 7",
    /// a last $...$, a last number). Example: --no-free-form
    #[arg(long)]
    no_free_form: bool,
    /// Output JSONL file (`-` or absent: stdout). Example: --output scores.jsonl
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (0: all cores). Example: --threads 1
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

#[derive(Serialize)]
struct ScoreLine<'a> {
    pack_id: &'a str,
    line: usize,
    n: usize,
    #[serde(flatten)]
    score: Score,
}

/// Sums over responses, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    responses: usize,
    accuracy: f64,
    format: f64,
    reward: f64,
    with_diagnostics: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.responses += other.responses;
        self.accuracy += other.accuracy;
        self.format += other.format;
        self.reward += other.reward;
        self.with_diagnostics += other.with_diagnostics;
    }
}

/// Runs `bcr score`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = RewardConfig {
        format_weight: args.format_weight,
        length_penalty: args.length_penalty,
        parse: ParseOptions {
            label: args.label.clone(),
            positional_fallback: args.positional_fallback,
            require_label: args.require_label,
            extract: ExtractOptions {
                after_think: !args.keep_thinking,
                ..if args.no_free_form { ExtractOptions::boxed_only() } else { ExtractOptions::default() }
            },
        },
    };
    config.validate()?;
    let golds = read_golds(&args.packs)?;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(args.threads).build().context("starting the scoring threads")?;
    let input: Box<dyn Read> = if args.responses == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&args.responses).with_context(|| format!("{}", args.responses.display()))?)
    };
    let job =
        Job { golds: &golds, config: &config, budget: args.budget.unwrap_or(0), name: &args.responses, pool: &pool };
    let mut out = open_output(args.output.as_deref())?;
    let tally = job.stream(BufReader::new(input), &mut out)?;
    out.flush().context("writing the output")?;
    let per = |x: f64| {
        if tally.responses == 0 {
            0.0
        } else {
            x / tally.responses as f64
        }
    };
    eprintln!(
        "scored {} responses to {} packs: mean accuracy {:.4}, mean format {:.4}, mean reward {:.4}; {} with diagnostics",
        tally.responses,
        golds.len(),
        per(tally.accuracy),
        per(tally.format),
        per(tally.reward),
        tally.with_diagnostics
    );
    Ok(())
}

/// pack_id -> gold answers, in prompt order.
fn read_golds(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let mut golds = HashMap::new();
    for (i, pack) in PackReader::open(path)?.enumerate() {
        let pack = pack?;
        let answers = pack.golds().into_iter().map(str::to_string).collect();
        if golds.insert(pack.pack_id.clone(), answers).is_some() {
            bail!("{}: field `pack_id`: `{}` appears twice (again in pack #{})", path.display(), pack.pack_id, i + 1);
        }
    }
    Ok(golds)
}

struct Job<'a> {
    golds: &'a HashMap<String, Vec<String>>,
    config: &'a RewardConfig,
    budget: usize,
    name: &'a Path,
    pool: &'a rayon::ThreadPool,
}

impl Job<'_> {
    /// Reads chunks of lines, scores each chunk in parallel, writes in order.
    fn stream(&self, input: impl BufRead, out: &mut impl Write) -> anyhow::Result<Tally> {
        let job = LineJob { name: self.name, chunk: CHUNK, unit: "responses", pool: self.pool };
        let mut tally = Tally::default();
        job.run(input, out, |line, no| self.score_line(line, no), |one| tally.add(&one))?;
        Ok(tally)
    }

    /// Scores one response line into its output JSON text.
    fn score_line(&self, line: &str, no: usize) -> anyhow::Result<(String, Tally)> {
        let record = Record::parse(line, Location { file: self.name.to_path_buf(), line: no })?;
        let pack_id = record.string("pack_id")?;
        let response = record.string("response")?;
        let tokens = match (record.opt_count("response_tokens")?, self.config.length_penalty.is_some()) {
            (Some(t), _) => t,
            (None, false) => 0,
            (None, true) => return Err(record.err("response_tokens", "missing (needed by --length-penalty)").into()),
        };
        let Some(golds) = self.golds.get(&pack_id) else {
            return Err(record.err("pack_id", format!("unknown pack `{pack_id}` (not in the packs file)")).into());
        };
        let golds: Vec<&str> = golds.iter().map(String::as_str).collect();
        let score = score_response(&response, &golds, tokens, self.budget, self.config)
            .with_context(|| format!("{}:{no}", self.name.display()))?;
        let one = Tally {
            responses: 1,
            accuracy: score.accuracy,
            format: score.format,
            reward: score.reward,
            with_diagnostics: usize::from(!score.diagnostics.is_empty()),
        };
        let text = serde_json::to_string(&ScoreLine { pack_id: &pack_id, line: no, n: golds.len(), score })?;
        Ok((text, one))
    }
}
