//! The SFT corpus of the warm start: packs of N gym train tasks (N drawn
//! from a configured set), rendered with the default BCR prompt template
//! (`bcr_core::PromptTemplate::default()`, the one `bcr train` and `bcr eval`
//! render, so the warm start sees the prompts RL and evaluation give it)
//! and the gym chat template, answered by reference solutions
//! whose verbosity is drawn from a [`VerbosityMix`] that is verbose on
//! average, so the warm start over-thinks like a reasoning model before
//! BCR (arXiv 2604.02322, §5).

use bcr_core::{ChatMessage, ChatTemplate, Pack, PromptTemplate, SpecialTokens};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::solution::{write_response, Verbosity};
use crate::split::{tasks_upto, to_problem, Split};
use crate::tasks::Family;
use crate::tokenizer::{CHAT_TEMPLATE, END};

/// Weights of the verbosity levels in the corpus (normalized when drawn).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerbosityMix {
    /// Weight of `Verbosity::CONCISE`.
    pub concise: f64,
    /// Weight of `Verbosity::LIGHT`.
    pub light: f64,
    /// Weight of `Verbosity::VERBOSE`.
    pub verbose: f64,
    /// Weight of `Verbosity::OVERTHINKING`.
    pub overthinking: f64,
}

impl Default for VerbosityMix {
    fn default() -> Self {
        VerbosityMix { concise: 0.1, light: 0.2, verbose: 0.4, overthinking: 0.3 }
    }
}

impl VerbosityMix {
    fn levels(&self) -> [(f64, Verbosity); 4] {
        [
            (self.concise, Verbosity::CONCISE),
            (self.light, Verbosity::LIGHT),
            (self.verbose, Verbosity::VERBOSE),
            (self.overthinking, Verbosity::OVERTHINKING),
        ]
    }

    /// Checks the weights are finite, >= 0 and not all 0.
    pub fn validate(&self, file: &str) -> Result<()> {
        let total: f64 = self.levels().iter().map(|l| l.0).sum();
        let ok = self.levels().iter().all(|l| l.0.is_finite() && l.0 >= 0.0) && total > 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::Config {
                file: file.to_string(),
                field: "data.verbosity".to_string(),
                message: format!("weights must be finite, >= 0 and not all 0, found {self:?}"),
            })
        }
    }

    /// Draws one level.
    pub fn draw<R: Rng>(&self, rng: &mut R) -> Verbosity {
        let levels = self.levels();
        let total: f64 = levels.iter().map(|l| l.0).sum();
        let mut x = rng.random::<f64>() * total;
        for (w, v) in levels {
            if x < w {
                return v;
            }
            x -= w;
        }
        Verbosity::OVERTHINKING
    }
}

/// One SFT example: the chat-rendered prompt (ending with the assistant
/// marker) and the response (ending with `<|end|>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Problems in the pack.
    pub n: usize,
    /// Prompt text, chat template applied.
    pub prompt: String,
    /// Response text including the final `<|end|>`.
    pub response: String,
}

/// The gym chat template with its special tokens.
pub fn chat_template() -> Result<ChatTemplate> {
    let tokens = SpecialTokens {
        bos_token: None,
        eos_token: Some(END.to_string()),
        pad_token: Some(END.to_string()),
        unk_token: None,
    };
    Ok(ChatTemplate::new(CHAT_TEMPLATE, tokens)?)
}

/// The prompt template of the gym (the default BCR template) with `label`.
pub fn prompt_template(label: &str) -> Result<PromptTemplate> {
    Ok(PromptTemplate::default().with_label(label)?)
}

/// `count` examples from the train split (difficulty 1..=`max_difficulty`),
/// pack sizes drawn uniformly from `pack_sizes`, verbosity from `mix`;
/// deterministic for `seed`.
pub fn build_examples(
    count: usize,
    pack_sizes: &[usize],
    max_difficulty: u8,
    mix: &VerbosityMix,
    seed: u64,
) -> Result<Vec<Example>> {
    if pack_sizes.is_empty() || pack_sizes.contains(&0) {
        return Err(Error::Config {
            file: "sft config".to_string(),
            field: "data.pack_sizes".to_string(),
            message: format!("must be non-empty sizes >= 1, found {pack_sizes:?}"),
        });
    }
    // Enough distinct tasks for the expected number of slots; if the low
    // levels run out of distinct questions the pool is reused in order.
    let slots = (count * pack_sizes.iter().sum::<usize>()).div_ceil(pack_sizes.len()) + 8;
    let pool = tasks_upto(Split::Train, &Family::ALL, max_difficulty, slots, seed);
    if pool.is_empty() {
        return Err(Error::Config {
            file: "sft config".to_string(),
            field: "data.max_difficulty".to_string(),
            message: "no training task could be generated".to_string(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5f7);
    let chat = chat_template()?;
    let prompt = prompt_template(bcr_core::DEFAULT_LABEL)?;
    let mut out = Vec::with_capacity(count);
    let mut next = 0usize;
    for i in 0..count {
        let n = pack_sizes[rng.random_range(0..pack_sizes.len())];
        let tasks: Vec<_> = (next..next + n).map(|j| &pool[j % pool.len()]).collect();
        next += n;
        let problems = tasks.iter().enumerate().map(|(k, t)| to_problem(t, format!("sft{i}-{k}"))).collect();
        let user = prompt.render(&Pack::new(format!("sft{i}"), problems))?;
        let text = chat.render(&[ChatMessage::new("user", user)], true)?;
        let verbosity = mix.draw(&mut rng);
        let response = format!("{}{END}", write_response(&tasks, bcr_core::DEFAULT_LABEL, verbosity, &mut rng));
        out.push(Example { n, prompt: text, response });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_chat_formatted_and_parse_back() {
        let ex = build_examples(30, &[1, 2, 3], 5, &VerbosityMix::default(), 3).unwrap();
        assert_eq!(ex.len(), 30);
        let mut sizes = std::collections::BTreeSet::new();
        for e in &ex {
            sizes.insert(e.n);
            assert!(
                e.prompt.starts_with("<|user|>\n") && e.prompt.ends_with("<|end|>\n<|assistant|>\n"),
                "{}",
                e.prompt
            );
            let body = e.response.strip_suffix(END).unwrap();
            let parsed = bcr_core::parse_answers(body, e.n, &bcr_core::ParseOptions::default());
            assert!(parsed.answers.iter().all(Option::is_some), "{body}");
        }
        assert_eq!(sizes.len(), 3);
        assert_eq!(ex, build_examples(30, &[1, 2, 3], 5, &VerbosityMix::default(), 3).unwrap());
    }

    #[test]
    fn verbosity_mix_rejects_bad_weights_and_draws_only_positive_levels() {
        let bad = [
            VerbosityMix { concise: 0.0, light: 0.0, verbose: 0.0, overthinking: 0.0 },
            VerbosityMix { concise: -1.0, ..VerbosityMix::default() },
            VerbosityMix { verbose: f64::INFINITY, ..VerbosityMix::default() },
        ];
        for m in bad {
            assert!(m.validate("x.toml").is_err(), "{m:?}");
        }
        let only = VerbosityMix { concise: 1.0, light: 0.0, verbose: 0.0, overthinking: 0.0 };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!((0..100).all(|_| only.draw(&mut rng) == Verbosity::CONCISE));
        assert!(build_examples(3, &[], 5, &only, 1).is_err());
        assert!(build_examples(3, &[0], 5, &only, 1).is_err());
    }
}
