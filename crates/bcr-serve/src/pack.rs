//! One pack: the request sent for N callers' questions, and the response
//! split back into N answers.
//!
//! The user message is bcr-core's BCR prompt (`PromptTemplate`, the same
//! one training and `bcr eval` render), the model's chat template is applied
//! by the backend as in `bcr eval`, and the budget is `BudgetMode`'s. The
//! response is cut with `bcr_core::split_sections`: caller k gets section k
//! (its worked solution ending in its labelled `\boxed{}` answer), trimmed,
//! with `finish_reason` `stop`. A section that cannot be separated cleanly
//! (missing, cut by the budget, out of order) is `None`: the caller is
//! re-asked alone. At N = 1 the whole response is the answer, with the
//! backend's own `finish_reason`.
//!
//! Usage split rule: the pack's prompt tokens are shared in proportion to
//! each caller's question length in tokens (plus one, so an empty question
//! still pays), its completion tokens in proportion to the token count of
//! each delivered section (a section that is re-asked gets no share of the
//! pack's completion); both by largest remainder, so the shares sum exactly
//! to the pack's totals. Tokens are the model's own where the backend knows
//! its tokenizer (native; HTTP with `--tokenizer`), else bytes stand in. A
//! re-asked caller's usage adds its own N = 1 call.

use bcr_core::{split_sections, BudgetMode, ChatMessage, FinishReason, ParseOptions, PromptTemplate};
use bcr_eval::{Request, Response, TokenCounter};

use crate::openai::Completion;
use crate::Result;

/// Sampling settings shared by every question of a pack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Temperature (0: greedy).
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
}

/// Renders packs and splits their responses.
#[derive(Debug, Clone)]
pub struct Packer {
    /// The BCR prompt (and its answer label).
    pub prompt: PromptTemplate,
    /// How sections are read (the label must be the prompt's).
    pub parse: ParseOptions,
    /// The token budget (`--budget`).
    pub budget: usize,
    /// Total or per problem (`--budget-mode`).
    pub budget_mode: BudgetMode,
}

impl Packer {
    /// The one backend request of a pack of `questions`.
    pub fn request(
        &self,
        pack_id: &str,
        system: Option<&str>,
        questions: &[&str],
        sampling: Sampling,
        seed: u64,
    ) -> Result<Request> {
        let ids: Vec<String> = (1..=questions.len()).map(|k| format!("{pack_id}/{k}")).collect();
        let problems: Vec<(&str, &str)> = ids.iter().map(String::as_str).zip(questions.iter().copied()).collect();
        let mut messages = Vec::with_capacity(2);
        if let Some(s) = system {
            messages.push(ChatMessage::system(s));
        }
        messages.push(ChatMessage::user(self.prompt.render_problems(pack_id, &problems)?));
        Ok(Request {
            messages,
            max_tokens: self.budget_mode.max_tokens(self.budget, questions.len()),
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            seed,
        })
    }

    /// Caller k's answer from the pack's response (`None`: re-ask it).
    /// `questions` are the pack's, in order.
    /// `count` measures a text in the model's tokens, where known.
    pub fn split(&self, resp: &Response, questions: &[&str], count: Option<&TokenCounter>) -> Vec<Option<Completion>> {
        let prompt_shares = prompt_shares(resp, questions, count);
        if questions.len() == 1 {
            return vec![Some(Completion {
                text: resp.text.clone(),
                finish: resp.finish,
                prompt_tokens: prompt_shares[0],
                completion_tokens: resp.completion_tokens,
            })];
        }
        let sections = split_sections(&resp.text, questions.len(), &self.parse);
        let texts: Vec<Option<&str>> = sections.iter().map(|r| r.clone().map(|r| resp.text[r].trim())).collect();
        let weights: Vec<usize> = texts.iter().map(|t| t.map_or(0, |t| weight(count, t))).collect();
        let shares = largest_remainder(resp.completion_tokens, &weights);
        texts
            .iter()
            .zip(shares)
            .zip(prompt_shares)
            .map(|((t, completion_tokens), prompt_tokens)| {
                t.map(|text| Completion {
                    text: text.to_string(),
                    finish: FinishReason::Stop,
                    prompt_tokens,
                    completion_tokens,
                })
            })
            .collect()
    }
}

/// Each caller's share of the pack's prompt tokens (see the module doc).
pub fn prompt_shares(resp: &Response, questions: &[&str], count: Option<&TokenCounter>) -> Vec<usize> {
    let weights: Vec<usize> = questions.iter().map(|q| weight(count, q) + 1).collect();
    largest_remainder(resp.prompt_tokens.unwrap_or(0), &weights)
}

/// A text's size for the split: its tokens where `count` knows them, else bytes.
fn weight(count: Option<&TokenCounter>, text: &str) -> usize {
    count.and_then(|c| c(text)).unwrap_or(text.len())
}

/// Splits `total` in proportion to `weights` (equally when they are all 0),
/// rounding by largest remainder (ties to the earlier), so the parts sum to `total`.
pub fn largest_remainder(total: usize, weights: &[usize]) -> Vec<usize> {
    if weights.is_empty() {
        return Vec::new();
    }
    let equal = vec![1; weights.len()];
    let w = if weights.iter().all(|&w| w == 0) { &equal } else { weights };
    let sum: u128 = w.iter().map(|&x| x as u128).sum();
    let exact: Vec<(u128, u128)> =
        w.iter().map(|&x| ((total as u128 * x as u128) / sum, (total as u128 * x as u128) % sum)).collect();
    let mut parts: Vec<usize> = exact.iter().map(|&(q, _)| q as usize).collect();
    let short = total - parts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(short) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use bcr_eval::TokenSource;

    fn packer() -> Packer {
        Packer {
            prompt: PromptTemplate::default(),
            parse: ParseOptions::default(),
            budget: 100,
            budget_mode: BudgetMode::PerProblem,
        }
    }

    fn response(text: &str, completion: usize, prompt: Option<usize>, finish: FinishReason) -> Response {
        Response {
            text: text.into(),
            completion_tokens: completion,
            prompt_tokens: prompt,
            token_source: TokenSource::Usage,
            finish,
            latency_s: 0.0,
            attempts: 1,
        }
    }

    #[test]
    fn request_is_the_bcr_prompt_with_one_budget() {
        let s = Sampling { temperature: 0.0, top_p: 1.0 };
        let r = packer().request("p7", Some("Be brief."), &["What is 1+1?", "What is 2+3?"], s, 9).unwrap();
        assert_eq!(r.max_tokens, 200);
        assert_eq!(r.messages[0], ChatMessage::system("Be brief."));
        let want =
            PromptTemplate::default().render_problems("p7", &[("p7/1", "What is 1+1?"), ("p7/2", "What is 2+3?")]);
        assert_eq!(r.messages[1].content, want.unwrap());
        let one = packer().request("p8", None, &["Q"], s, 1).unwrap();
        assert_eq!(one.messages.len(), 1);
        assert_eq!(one.max_tokens, 100);
    }

    #[test]
    fn split_gives_each_caller_its_section_and_shares_sum() {
        let text = "<think>both</think>\nOne. Answer 1: \\boxed{1}\n\nTwo two. Answer 2: \\boxed{2}\nbye";
        let out = packer().split(&response(text, 40, Some(31), FinishReason::Length), &["a", "bbb"], None);
        let got: Vec<&Completion> = out.iter().map(|c| c.as_ref().unwrap()).collect();
        assert_eq!(got[0].text, "One. Answer 1: \\boxed{1}");
        assert_eq!(got[1].text, "Two two. Answer 2: \\boxed{2}");
        assert!(got.iter().all(|c| c.finish == FinishReason::Stop));
        assert_eq!(got[0].completion_tokens + got[1].completion_tokens, 40);
        assert_eq!(got[0].prompt_tokens + got[1].prompt_tokens, 31);
        assert!(got[0].completion_tokens < got[1].completion_tokens);
        // With the model's tokenizer the split follows tokens, not bytes:
        // a counter that sees one token per text splits evenly.
        let one: TokenCounter = std::sync::Arc::new(|_: &str| Some(1));
        let out = packer().split(&response(text, 40, Some(31), FinishReason::Length), &["a", "bbb"], Some(&one));
        let by_tokens: Vec<(usize, usize)> =
            out.iter().map(|c| c.as_ref().map(|c| (c.completion_tokens, c.prompt_tokens)).unwrap()).collect();
        assert_eq!(by_tokens, vec![(20, 16), (20, 15)]);

        // Cut by the budget inside answer 2: caller 2 is re-asked.
        let cut = "Answer 1: \\boxed{1} Answer 2: \\boxed{2";
        let out = packer().split(&response(cut, 10, None, FinishReason::Length), &["a", "b"], None);
        assert_eq!(out[0].as_ref().unwrap().completion_tokens, 10);
        assert!(out[1].is_none());

        // N = 1: the whole response and its own finish reason.
        let out = packer().split(&response("x \\boxed{3}", 5, Some(7), FinishReason::Length), &["a"], None);
        let c = out[0].as_ref().unwrap();
        assert_eq!(
            (c.text.as_str(), c.finish, c.prompt_tokens, c.completion_tokens),
            ("x \\boxed{3}", FinishReason::Length, 7, 5)
        );
    }

    #[test]
    fn largest_remainder_sums_exactly() {
        let cases: &[(usize, &[usize], &[usize])] = &[
            (10, &[1, 1, 1], &[4, 3, 3]),
            (7, &[0, 0], &[4, 3]),
            (5, &[0, 3], &[0, 5]),
            (0, &[2, 5], &[0, 0]),
            (100, &[1, 2, 7], &[10, 20, 70]),
            (3, &[], &[]),
        ];
        for &(total, w, want) in cases {
            assert_eq!(largest_remainder(total, w), want, "{total} {w:?}");
        }
    }
}
