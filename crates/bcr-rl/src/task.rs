//! What is being learned: how a pack becomes a user message and how a
//! response to it is rewarded. [`BcrTask`] is the method of the paper (the
//! `bcr-core` prompt template and reward); other tasks (the gym's, the
//! tests') implement [`Task`] themselves.

use bcr_core::{Pack, Score};

use crate::error::Result;

/// A verifiable task over packs.
pub trait Task {
    /// The user message for a pack.
    fn user_message(&self, pack: &Pack) -> Result<String>;

    /// Scores a response of `response_tokens` tokens under `budget`.
    fn score(&self, pack: &Pack, response: &str, response_tokens: usize, budget: usize) -> Result<Score>;
}

/// The task of the paper: the `bcr-core` pack prompt (one `### Problem k`
/// section per problem, answers labelled `Answer k: \boxed{...}`) and the
/// BCR reward (per-problem accuracy + format, optional length penalty).
#[derive(Debug)]
pub struct BcrTask {
    template: bcr_core::PromptTemplate,
    reward: bcr_core::RewardConfig,
}

impl BcrTask {
    /// The default template with `[reward]`'s label, and its reward settings.
    pub fn new(r: &crate::config::RewardSection) -> Result<Self> {
        let template = bcr_core::PromptTemplate::default().with_label(&r.label)?;
        let reward = bcr_core::RewardConfig {
            format_weight: r.format_weight,
            length_penalty: (r.length_penalty > 0.0).then_some(r.length_penalty),
            parse: bcr_core::ParseOptions {
                label: r.label.clone(),
                positional_fallback: r.positional_fallback,
                require_label: r.require_label,
                extract: bcr_core::ExtractOptions {
                    after_think: r.after_think,
                    ..match r.free_form {
                        true => bcr_core::ExtractOptions::default(),
                        false => bcr_core::ExtractOptions::boxed_only(),
                    }
                },
            },
        };
        reward.validate()?;
        Ok(BcrTask { template, reward })
    }
}

impl Task for BcrTask {
    fn user_message(&self, pack: &Pack) -> Result<String> {
        Ok(self.template.render(pack)?)
    }

    fn score(&self, pack: &Pack, response: &str, response_tokens: usize, budget: usize) -> Result<Score> {
        Ok(bcr_core::score_response(response, &pack.golds(), response_tokens, budget, &self.reward)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RewardSection;
    use bcr_core::Problem;

    fn pack() -> Pack {
        let p = |i: usize, a: &str| Problem {
            id: format!("p{i}"),
            question: format!("What is {i} + {i}?"),
            answer: a.into(),
            difficulty: None,
            source: None,
        };
        Pack::new("k", vec![p(1, "2"), p(2, "4")])
    }

    #[test]
    fn bcr_task_prompts_and_scores() {
        let task = BcrTask::new(&RewardSection::default()).unwrap();
        let prompt = task.user_message(&pack()).unwrap();
        assert!(prompt.contains("What is 1 + 1?") && prompt.contains("What is 2 + 2?"), "{prompt}");
        let cases = [
            ("Answer 1: \\boxed{2}\nAnswer 2: \\boxed{4}", 1.1, 1.0, true),
            ("Answer 1: \\boxed{2}\nAnswer 2: \\boxed{5}", 0.6, 0.5, true),
            ("Answer 1: \\boxed{2}", 0.55, 0.5, false),
            ("no idea", 0.0, 0.0, false),
        ];
        for (response, reward, accuracy, format_ok) in cases {
            let s = task.score(&pack(), response, 10, 100).unwrap();
            assert!((s.reward - reward).abs() < 1e-12, "{response}: {s:?}");
            assert_eq!((s.accuracy, s.format_ok()), (accuracy, format_ok), "{response}");
        }
        let penalised = RewardSection { length_penalty: 1.0, ..RewardSection::default() };
        let s = BcrTask::new(&penalised).unwrap().score(&pack(), cases[0].0, 50, 100).unwrap();
        assert!((s.reward - 0.6).abs() < 1e-12, "{s:?}");
        let bad = RewardSection { format_weight: -1.0, ..RewardSection::default() };
        assert!(BcrTask::new(&bad).is_err());
    }
}
