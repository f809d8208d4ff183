//! `bcr data build`: turn a dataset into the training and validation files of
//! an external RL engine. `--format verl` writes verl's RL dataset Parquet
//! (schema in `data/verl.rs`): every row is one pack of N problems
//! (bcr_core::pack) rendered as a user message by the BCR prompt template,
//! with the N gold answers as `reward_model.ground_truth`, scored in verl by
//! `bcr.verl.compute_score` (the Python package `bcr`). `--format trl` writes
//! the same rows in the columns TRL's `GRPOTrainer` reads (`data/trl.rs`),
//! scored by `bcr.trl.reward`.
//!
//! `bcr data gym`: the embedded default's procedural problems (bcr-gym) as
//! problem JSONL, the input of a small end-to-end run with the shipped warm
//! start (examples/trl).

mod trl;
mod verl;

use anyhow::Context;
use bcr_core::data::{Benchmark, Format, LoadOptions};
use bcr_core::pack::{pack_problems, PackOptions, PackStrategy};
use bcr_core::{ChatMessage, Pack, PromptTemplate};
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Output (--format verl): one row per pack, the columns of verl's RLHFDataset:
  data_source   --data-source for training rows, the benchmark name for validation
  prompt        [{role: system, content: --system}?, {role: user, content: the BCR prompt}]
  ability       \"math\"
  reward_model  {style: \"rule\", ground_truth: the N gold answers as a JSON array of strings}
  extra_info    {index, split, pack_id, n, problem_ids, difficulties, mean_difficulty}
Output (--format trl): one row per pack, the columns TRL's GRPOTrainer reads:
  prompt        as above (conversational: TRL applies the model's chat template)
  ground_truth  the N gold answers as a JSON array of strings
  data_source, pack_id, n, problem_ids, difficulties, mean_difficulty
Validation packs are sequential (every benchmark problem exactly once) with N = --val-n.
Train in verl (0.9) with reward.custom_reward_function.path=pkg://bcr.verl and
reward.custom_reward_function.name=compute_score; in TRL with reward_funcs=[bcr.trl.reward]
(docs/scale-out.md, examples/verl, examples/trl).

Examples:
  bcr data build --format verl --input deepmath.parquet --n 3 --strategy stratified \\
      --output train.parquet --val-benchmarks math500,aime24 --val-output val.parquet
  bcr data build --input data/benchmarks/gsm8k.jsonl --n 3 --seed 7 --output gsm8k-n3.parquet
  bcr data build --input train.jsonl --n 1 --label Final --output n1.parquet
  bcr data build --format trl --input gym-train.jsonl --n 3 --output trl-train.parquet";

/// Flags of `bcr data`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// Write a packed, prompted training set (and a validation set) for an RL engine.
    Build(BuildArgs),
    /// Write problems of the embedded gym (procedural tasks the shipped warm start was trained on) as JSONL.
    Gym(GymArgs),
}

/// Flags of `bcr data build`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
struct BuildArgs {
    /// Output format: the RL engine's dataset schema (verl, trl). Example: --format trl
    #[arg(long, value_enum, default_value_t = OutputFormat::Verl)]
    format: OutputFormat,
    /// Training problems (JSONL or Parquet, e.g. DeepMath-103K), or a bundled
    /// benchmark name. Example: --input deepmath.parquet
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Schema of --input (auto, problems, math500, aime, amc, gsm8k, minerva,
    /// olympiadbench, deepmath). Example: --input-format deepmath
    #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = super::parse_flag::<Format>)]
    input_format: Format,
    /// Skip malformed input records (their number is reported) instead of
    /// stopping at the first. Example: --skip-invalid
    #[arg(long)]
    skip_invalid: bool,
    /// Problems per training pack (N; the paper trains with 3). Example: --n 3
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    n: u64,
    /// How training problems are grouped (stratified by difficulty, as in the
    /// paper; sequential; random). Example: --strategy stratified
    #[arg(long, value_name = "STRATEGY", default_value = "stratified", value_parser = super::parse_flag::<PackStrategy>)]
    strategy: PackStrategy,
    /// Seed of the packing shuffles. Example: --seed 7
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Answer label the prompt asks for (`LABEL k: \boxed{...}`); pass the same
    /// to the reward (reward_kwargs.label). Example: --label Answer
    #[arg(long, default_value = "Answer")]
    label: String,
    /// Optional system message before the user message. Example: --system "You are a careful solver."
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// `data_source` of the training rows. Example: --data-source deepmath
    #[arg(long, value_name = "NAME", default_value = "bcr")]
    data_source: String,
    /// Training Parquet file to write. Example: --output train.parquet
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Bundled benchmarks for the validation file, comma-separated (aime24,
    /// aime25, amc23, math500, minerva, olympiadbench, gsm8k). Example: --val-benchmarks math500,aime24
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "val_output")]
    val_benchmarks: Vec<String>,
    /// Validation Parquet file to write. Example: --val-output val.parquet
    #[arg(long, value_name = "FILE", requires = "val_benchmarks")]
    val_output: Option<PathBuf>,
    /// Problems per validation pack (default: --n; 1 measures the paper's
    /// "free lunch"). Example: --val-n 1
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    val_n: Option<u64>,
}

/// Dataset schemas `bcr data build` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    /// verl's RL dataset Parquet (RLHFDataset).
    Verl,
    /// TRL's prompt-only conversational Parquet (GRPOTrainer).
    Trl,
}

impl OutputFormat {
    fn write(self, path: &Path, rows: &[verl::Row]) -> anyhow::Result<()> {
        match self {
            OutputFormat::Verl => verl::write(path, rows),
            OutputFormat::Trl => trl::write(path, rows),
        }
    }
}

/// Flags of `bcr data gym`.
#[derive(Debug, clap::Args)]
struct GymArgs {
    /// Which side of the gym's train/test split (never overlapping). Example: --split test
    #[arg(long, value_enum, default_value_t = GymSplit::Train)]
    split: GymSplit,
    /// Number of distinct problems. Example: --count 96
    #[arg(long, value_name = "N")]
    count: usize,
    /// Highest difficulty level (1-5; the warm start was trained up to 3). Example: --max-difficulty 3
    #[arg(long, value_name = "LEVEL", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    max_difficulty: u8,
    /// Seed of the task stream (`bcr demo` uses its `seed`, 0). Example: --seed 0
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Problem JSONL file to write. Example: --output gym-train.jsonl
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// The gym's splits.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GymSplit {
    /// Training problems.
    Train,
    /// Held-out problems.
    Test,
}

/// How packs become rows.
struct RowStyle<'a> {
    template: &'a PromptTemplate,
    system: Option<&'a str>,
    split: &'a str,
}

/// Runs `bcr data`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Build(build) => run_build(build),
        DataCommand::Gym(gym) => run_gym(gym),
    }
}

/// Writes `count` gym problems, ids `gym-<split>-00000`...: with the same
/// seed and count, the files `bcr demo` writes under `tasks/`.
fn run_gym(args: GymArgs) -> anyhow::Result<()> {
    let (split, name) = match args.split {
        GymSplit::Train => (bcr_gym::Split::Train, "gym-train"),
        GymSplit::Test => (bcr_gym::Split::Test, "gym-test"),
    };
    let families = bcr_gym::Family::ALL;
    let tasks = bcr_gym::tasks_upto(split, &families, args.max_difficulty, args.count, args.seed);
    anyhow::ensure!(
        tasks.len() == args.count,
        "--count {}: only {} distinct {name} problems exist up to difficulty {}",
        args.count,
        tasks.len(),
        args.max_difficulty
    );
    let mut text = String::new();
    for (i, task) in tasks.iter().enumerate() {
        text.push_str(&serde_json::to_string(&bcr_gym::to_problem(task, format!("{name}-{i:05}")))?);
        text.push('\n');
    }
    let mut file = super::create_output(&args.output)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("{}: write", args.output.display()))?;
    eprintln!(
        "wrote {} {name} problems (difficulty <= {}, seed {}) -> {}",
        tasks.len(),
        args.max_difficulty,
        args.seed,
        args.output.display()
    );
    Ok(())
}

fn run_build(args: BuildArgs) -> anyhow::Result<()> {
    let template = PromptTemplate::default().with_label(&args.label).context("--label")?;
    let system = args.system.as_deref();
    let n = usize::try_from(args.n).context("--n is too large")?;
    let (input, loaded) =
        super::load_input(&args.input, &LoadOptions { format: args.input_format, skip_invalid: args.skip_invalid })?;
    let opts = PackOptions { n, strategy: args.strategy, seed: args.seed };
    let packs = pack_problems(&loaded.problems, &opts)?;
    anyhow::ensure!(!packs.is_empty(), "{}: no problems to pack", input.display());
    let style = RowStyle { template: &template, system, split: "train" };
    let rows = rows_of(&packs, &args.data_source, &style, 0)?;
    args.format.write(&args.output, &rows)?;
    eprintln!(
        "wrote {} training rows ({} problems of {}, N={n}, {}, seed {}) -> {}",
        rows.len(),
        loaded.problems.len(),
        input.display(),
        opts.strategy,
        opts.seed,
        args.output.display()
    );
    if let Some(val_output) = &args.val_output {
        let val_n = usize::try_from(args.val_n.unwrap_or(args.n)).context("--val-n is too large")?;
        let style = RowStyle { split: "test", ..style };
        build_validation(&args.val_benchmarks, val_n, &style, args.format, val_output)?;
    }
    Ok(())
}

/// Packs every problem of each benchmark once (sequential packs of `n`) and
/// writes them, `data_source` = the benchmark's name.
fn build_validation(
    names: &[String],
    n: usize,
    style: &RowStyle<'_>,
    format: OutputFormat,
    output: &Path,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for name in names {
        let benchmark = Benchmark::from_name(name.trim()).context("--val-benchmarks")?;
        let problems = benchmark.load()?;
        let opts = PackOptions { n, strategy: PackStrategy::Sequential, seed: 0 };
        let mut packs = pack_problems(&problems, &opts)?;
        for pack in &mut packs {
            pack.pack_id = format!("{}/{}", benchmark.name(), pack.pack_id);
        }
        let first_index = i64::try_from(rows.len()).context("too many rows")?;
        rows.extend(rows_of(&packs, benchmark.name(), style, first_index)?);
        eprintln!("validation: {} packs of {n} from {} ({} problems)", packs.len(), benchmark.name(), problems.len());
    }
    format.write(output, &rows)?;
    eprintln!("wrote {} validation rows -> {}", rows.len(), output.display());
    Ok(())
}

fn rows_of(
    packs: &[Pack],
    data_source: &str,
    style: &RowStyle<'_>,
    first_index: i64,
) -> anyhow::Result<Vec<verl::Row>> {
    let mut rows = Vec::with_capacity(packs.len());
    for (index, pack) in (first_index..).zip(packs) {
        rows.push(row(pack, data_source, style, index)?);
    }
    Ok(rows)
}

fn row(pack: &Pack, data_source: &str, style: &RowStyle<'_>, index: i64) -> anyhow::Result<verl::Row> {
    let user = style.template.render(pack).with_context(|| format!("pack {}", pack.pack_id))?;
    let mut prompt = Vec::with_capacity(2);
    if let Some(system) = style.system {
        prompt.push(ChatMessage::system(system));
    }
    prompt.push(ChatMessage::user(user));
    Ok(verl::Row {
        data_source: data_source.to_string(),
        prompt,
        golds: pack.problems.iter().map(|p| p.answer.clone()).collect(),
        index,
        split: style.split.to_string(),
        pack_id: pack.pack_id.clone(),
        problem_ids: pack.problems.iter().map(|p| p.id.clone()).collect(),
        difficulties: pack.problems.iter().map(|p| p.difficulty).collect(),
        mean_difficulty: pack.mean_difficulty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bcr_core::Problem;

    fn problem(id: &str, answer: &str, difficulty: Option<f64>) -> Problem {
        Problem {
            id: id.into(),
            question: format!("Question {id}: what is $\\{{x\\}}$?"),
            answer: answer.into(),
            difficulty,
            source: None,
        }
    }

    #[test]
    fn a_pack_becomes_one_row_with_its_golds_in_prompt_order() {
        let template = PromptTemplate::default();
        let pack = Pack::new("stratified-0-0", vec![problem("a", "3", Some(2.0)), problem("b", "\\frac12", None)]);
        let cases = [(None, vec!["user"]), (Some("Be brief."), vec!["system", "user"])];
        for (system, roles) in cases {
            let style = RowStyle { template: &template, system, split: "train" };
            let row = row(&pack, "bcr", &style, 7).unwrap();
            assert_eq!(row.prompt.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), roles);
            let user = &row.prompt.last().unwrap().content;
            assert!(user.contains("### Problem 2") && user.contains("Question b"), "{user}");
            assert_eq!(row.golds, ["3", "\\frac12"]);
            assert_eq!(row.problem_ids, ["a", "b"]);
            assert_eq!(row.difficulties, [Some(2.0), None]);
            assert_eq!(row.mean_difficulty, Some(2.0));
            assert_eq!((row.index, row.split.as_str(), row.pack_id.as_str()), (7, "train", "stratified-0-0"));
        }
    }

    #[test]
    fn gym_writes_distinct_problems_of_its_split_with_demo_ids() {
        let dir = tempfile::tempdir().unwrap();
        for (split, name) in [(GymSplit::Train, "gym-train"), (GymSplit::Test, "gym-test")] {
            let output = dir.path().join(format!("{name}.jsonl"));
            run_gym(GymArgs { split, count: 20, max_difficulty: 2, seed: 0, output: output.clone() }).unwrap();
            let loaded =
                bcr_core::load_problems(&output, &LoadOptions { format: Format::Auto, skip_invalid: false }).unwrap();
            let problems = loaded.problems;
            assert_eq!(problems.len(), 20);
            assert_eq!(problems[3].id, format!("{name}-00003"));
            let questions: std::collections::HashSet<_> = problems.iter().map(|p| &p.question).collect();
            assert_eq!(questions.len(), 20, "distinct questions");
            assert!(problems.iter().all(|p| p.difficulty.is_some_and(|d| (1.0..=2.0).contains(&d))));
        }
    }

    #[test]
    fn row_indices_continue_from_the_first_index() {
        let template = PromptTemplate::default();
        let style = RowStyle { template: &template, system: None, split: "test" };
        let packs: Vec<Pack> = (0..3).map(|i| Pack::new(format!("p{i}"), vec![problem("q", "1", None)])).collect();
        let rows = rows_of(&packs, "math500", &style, 40).unwrap();
        assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), [40, 41, 42]);
        assert!(rows.iter().all(|r| r.data_source == "math500" && r.mean_difficulty.is_none()));
    }
}
