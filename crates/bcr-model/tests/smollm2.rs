//! SmolLM2-135M-Instruct (Q4_1 GGUF) against transformers loading the same
//! file with its weights dequantized to fp32 (`fixtures/smollm2/make_ref.py`):
//! the chat prompt's token ids, the next-token logits, and 40 greedy tokens
//! with their log-probs. Skips with a message when `BCR_SMOLLM2_GGUF` is
//! unset or the file is absent.

mod common;

use bcr_core::ChatMessage;
use bcr_model::{generate, DType, Device, Model, SamplingConfig, Tensor};
use common::smollm2::{agreement, fixture, ids, load};

/// Largest allowed |ours - transformers| for a logit (values are ~25;
/// measured 2.3e-5): both sides run fp32 on identical dequantized weights,
/// so only summation order differs.
const LOGIT_TOL: f32 = 2e-4;
/// Same for the log-prob of each greedy token (measured 1.4e-5).
const LOGPROB_TOL: f32 = 2e-4;

fn model() -> Option<Model> {
    load(DType::F32.into())
}

#[test]
fn smollm2_matches_transformers() {
    let Some(m) = model() else { return };
    let fx = fixture("greedy.json");
    let msgs: Vec<ChatMessage> = serde_json::from_value(fx["messages"].clone()).unwrap();
    let text = m.tokenizer.apply_chat_template(&msgs, true).unwrap();
    let prompt = m.tokenizer.encode(&text, false).unwrap();
    assert_eq!(prompt, ids(&fx["prompt_ids"]));

    // Next-token logits after the prompt: the reference's top 20.
    let input = Tensor::new(prompt.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let logits = m.lm.forward(&input, &[0], None).unwrap();
    let last: Vec<f32> = logits.get(0).unwrap().get(prompt.len() - 1).unwrap().to_vec1().unwrap();
    let want: Vec<f32> = serde_json::from_value(fx["top_logits"].clone()).unwrap();
    let mut worst = 0f32;
    for (&id, &w) in ids(&fx["top_ids"]).iter().zip(&want) {
        worst = worst.max((last[id as usize] - w).abs());
    }
    eprintln!("max |logit diff| over the reference top 20: {worst:e}");
    assert!(worst <= LOGIT_TOL, "max logit difference {worst}");

    let cfg = SamplingConfig { max_new_tokens: 40, temperature: 0.0, ..Default::default() };
    let g = generate(&m.lm, &m.tokenizer, &[prompt], &cfg).unwrap().remove(0);
    assert_eq!(g.tokens, ids(&fx["greedy_ids"]));
    assert_eq!(g.text, fx["greedy_text"].as_str().unwrap());
    let want: Vec<f32> = serde_json::from_value(fx["greedy_logprobs"].clone()).unwrap();
    let worst = g.logprobs.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    eprintln!("max |logprob diff| over 40 greedy tokens: {worst:e}");
    assert!(worst <= LOGPROB_TOL, "max logprob difference {worst}");
}

/// bf16 on the CPU (bf16 matrices, f32 activations, the bf16 decode
/// kernel): teacher-forced one token per step along the reference's greedy
/// continuation, its greedy pick matches the fp32 reference at nearly every
/// step.
#[test]
fn smollm2_bf16_on_the_cpu_tracks_the_f32_reference() {
    let Some(m) = load(DType::BF16.into()) else { return };
    assert_eq!((m.lm.dtype(), m.lm.compute_dtype()), (DType::BF16, DType::F32));
    let fx = fixture("greedy.json");
    let (prompt, greedy) = (ids(&fx["prompt_ids"]), ids(&fx["greedy_ids"]));
    let same = agreement(&m, &prompt, &greedy);
    eprintln!("bf16 on the cpu: the f32 greedy token at {same}/{} steps", greedy.len());
    assert!(same * 100 >= greedy.len() * 90, "{same}/{}", greedy.len());
}
