//! Check of a gym model on held-out packs: for N problems per pack, render
//! the gym prompt through the model's chat template, decode (seeded
//! sampling, or greedy at temperature 0) under a budget of `budget_per_problem * N` tokens, parse the N labelled
//! answers and grade them. Reports accuracy, the share of answers that
//! parse (format), and generated tokens per problem: the quantities of the
//! task-scaling law (arXiv 2604.02322, §4), here as a quick warm-start check.
//! Sampling at temperature 1 measures the policy RL starts from; greedy
//! decoding of a model trained on verbose solutions tends to loop in
//! re-checks (the most likely next line after a check is another check).

use bcr_core::{grade, parse_answers, ChatMessage, Pack, ParseOptions};
use bcr_model::{generate, Model, SamplingConfig};

use crate::corpus::prompt_template;
use crate::error::{Error, Result};
use crate::split::{tasks_upto, to_problem, Split};
use crate::tasks::Family;

/// What [`check_model`] measured for one N.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckResult {
    /// Problems per pack.
    pub n: usize,
    /// Packs decoded.
    pub packs: usize,
    /// Fraction of problems answered correctly.
    pub accuracy: f64,
    /// Fraction of problems whose answer parsed.
    pub format: f64,
    /// Generated tokens per problem (EOS included).
    pub tokens_per_problem: f64,
    /// Fraction of packs that hit the budget.
    pub truncated: f64,
}

/// How [`check_model`] decodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckOptions {
    /// Problems per pack.
    pub n: usize,
    /// Packs to decode.
    pub packs: usize,
    /// Token budget per problem (the pack gets `n` times this).
    pub budget_per_problem: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Seed of the test tasks and of the sampler.
    pub seed: u64,
    /// Packs decoded together.
    pub batch: usize,
    /// Highest task difficulty (1..=5).
    pub max_difficulty: u8,
}

/// Decodes `opts.packs` test packs of `opts.n` problems.
pub fn check_model(model: &Model, opts: &CheckOptions) -> Result<CheckResult> {
    let CheckOptions { n, packs, budget_per_problem, temperature, seed, batch, max_difficulty } = *opts;
    if n == 0 || packs == 0 || budget_per_problem == 0 || batch == 0 {
        return Err(Error::Config {
            file: "check".into(),
            field: "n/packs/budget/batch".into(),
            message: format!("all must be >= 1, found n={n} packs={packs} budget={budget_per_problem} batch={batch}"),
        });
    }
    let tasks = tasks_upto(Split::Test, &Family::ALL, max_difficulty, n * packs, seed);
    let template = prompt_template(bcr_core::DEFAULT_LABEL)?;
    let mut sampling =
        SamplingConfig { max_new_tokens: budget_per_problem * n, temperature, seed, ..SamplingConfig::default() };
    let opts = ParseOptions::default();
    let (mut correct, mut parsed, mut tokens, mut truncated, mut done) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (c, chunk) in tasks.chunks(n * batch).enumerate() {
        sampling.seed = seed.wrapping_add(c as u64);
        let mut prompts = Vec::new();
        let mut golds = Vec::new();
        for (p, group) in chunk.chunks(n).enumerate() {
            if group.len() < n {
                continue;
            }
            let problems = group.iter().enumerate().map(|(k, t)| to_problem(t, format!("c{p}-{k}"))).collect();
            let user = template.render(&Pack::new(format!("c{p}"), problems))?;
            prompts.push(model.tokenizer.encode_chat(&[ChatMessage::user(user)])?);
            golds.push(group.iter().map(|t| t.answer.clone()).collect::<Vec<_>>());
        }
        for (g, gold) in generate(&model.lm, &model.tokenizer, &prompts, &sampling)?.iter().zip(&golds) {
            let answers = parse_answers(&g.text, n, &opts).answers;
            for (a, gold) in answers.iter().zip(gold) {
                if let Some(a) = a {
                    parsed += 1;
                    correct += usize::from(grade(gold, a));
                }
            }
            tokens += g.tokens.len();
            truncated += usize::from(g.finish == bcr_core::FinishReason::Length);
            done += 1;
        }
    }
    let problems = (done * n).max(1) as f64;
    Ok(CheckResult {
        n,
        packs: done,
        accuracy: correct as f64 / problems,
        format: parsed as f64 / problems,
        tokens_per_problem: tokens as f64 / problems,
        truncated: truncated as f64 / done.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sft::{run_sft, DataSpec, SftConfig, TrainSpec};
    use crate::tiny::TinySpec;

    #[test]
    fn checks_within_budget_and_rejects_zero_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SftConfig {
            output: dir.path().to_path_buf(),
            model: TinySpec::for_tests(),
            data: DataSpec { examples: 20, vocab_size: 300, max_seq_len: 512, ..DataSpec::default() },
            train: TrainSpec { steps: 2, batch_size: 2, ..TrainSpec::default() },
        };
        run_sft(&cfg, |_| {}).unwrap();
        let model = Model::load(&dir.path().to_string_lossy(), &bcr_model::LoadOptions::default()).unwrap();
        for (n, packs, batch, temperature) in [(1, 3, 2, 0.0), (2, 2, 5, 1.0)] {
            let opts = CheckOptions { n, packs, budget_per_problem: 6, temperature, seed: 0, batch, max_difficulty: 5 };
            let r = check_model(&model, &opts).unwrap();
            assert_eq!(r, check_model(&model, &opts).unwrap());
            assert_eq!((r.n, r.packs), (n, packs));
            assert!(r.tokens_per_problem > 0.0 && r.tokens_per_problem <= 6.0, "{r:?}");
            assert!((0.0..=1.0).contains(&r.accuracy) && r.accuracy <= r.format, "{r:?}");
        }
        for (n, packs, budget, batch) in [(0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 0, 1), (1, 1, 1, 0)] {
            let opts = CheckOptions {
                n,
                packs,
                budget_per_problem: budget,
                temperature: 0.0,
                seed: 0,
                batch,
                max_difficulty: 5,
            };
            assert!(check_model(&model, &opts).is_err());
        }
    }
}
