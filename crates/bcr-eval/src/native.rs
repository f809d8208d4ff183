//! [`NativeBackend`]: a local `bcr-model` model (HF directory, GGUF file or
//! Hub id) generating with batched KV-cache decoding on candle.
//!
//! Requests are turned into prompt ids by `Tokenizer::encode_chat` (the
//! model's own chat template, or the contents joined by blank lines with
//! BOS for a model without one), then decoded in
//! batches of up to `batch_size` consecutive requests that share
//! `max_tokens`, temperature and top-p. Each request keeps its own seed, so
//! a resumed run draws the same samples. Token counts are the generated ids
//! themselves (end-of-sequence included), [`TokenSource::Native`].
//!
//! Two schedules: whole batches (the default, what `bcr eval` uses: a
//! sweep's results then depend on the batch size alone, so a rerun is bit
//! for bit the same) and continuous batching ([`NativeBackend::continuous`],
//! what `bcr serve` uses: requests join the running batch between decode
//! steps; see `native/continuous.rs`).

use crate::backend::{Backend, Flow, Request, Response, TokenSource};
use crate::{Error, Result};
use bcr_model::{generate_with_stats, LoadOptions, Model, SamplingConfig};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::Instant;

#[path = "native/continuous.rs"]
mod continuous;

/// A local model as a [`Backend`].
pub struct NativeBackend {
    model: Arc<Model>,
    spec: String,
    batch_size: usize,
    /// The decode thread's queue, once [`NativeBackend::continuous`] started it.
    feed: Option<Sender<continuous::Submit>>,
}

impl std::fmt::Debug for NativeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeBackend").field("spec", &self.spec).field("batch_size", &self.batch_size).finish()
    }
}

impl NativeBackend {
    /// Loads `spec` on the CPU in f32 with batches of `batch_size` (at least 1).
    pub fn load(spec: &str, batch_size: usize) -> Result<Self> {
        Self::load_with(spec, batch_size, &LoadOptions::default())
    }

    /// Loads `spec` on the device and in the dtype of `opts`.
    pub fn load_with(spec: &str, batch_size: usize, opts: &LoadOptions) -> Result<Self> {
        let model = Model::load(spec, opts)?;
        Self::new(model, spec, batch_size)
    }

    /// Wraps an already loaded model; `spec` names it in reports.
    pub fn new(model: Model, spec: &str, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Invalid("batch size (--concurrency): must be at least 1, got 0".into()));
        }
        Ok(NativeBackend { model: Arc::new(model), spec: spec.to_string(), batch_size, feed: None })
    }

    /// Switches to continuous batching: a decode thread keeps up to
    /// `batch_size` sequences running, and the requests of every `run` call,
    /// from any thread, join that batch at its next step.
    pub fn continuous(mut self) -> Result<Self> {
        if self.feed.is_none() {
            self.feed = Some(continuous::start(self.model.clone(), self.batch_size)?);
        }
        Ok(self)
    }

    /// Whether requests join a running batch ([`NativeBackend::continuous`]).
    pub fn is_continuous(&self) -> bool {
        self.feed.is_some()
    }

    /// Sends `requests` to the decode thread; delivers each answer as its
    /// sequence ends.
    fn run_continuous(
        &self,
        feed: &Sender<continuous::Submit>,
        requests: &[Request],
        on_result: &(dyn Fn(usize, Result<Response>) -> Flow + Sync),
    ) -> Result<()> {
        let (tx, rx) = channel();
        let submitted = Instant::now();
        for (index, request) in requests.iter().enumerate() {
            let s = continuous::Submit { request: request.clone(), index, submitted, reply: tx.clone() };
            if feed.send(s).is_err() {
                return Err(Error::Invalid("the native decode thread has stopped".into()));
            }
        }
        drop(tx);
        for (i, result) in rx.iter().take(requests.len()) {
            on_result(i, result);
        }
        Ok(())
    }

    /// Requests decoded together.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Runs one batch (same sampling settings); delivers each result.
    fn run_batch(
        &self,
        batch: &[(usize, &Request)],
        on_result: &(dyn Fn(usize, Result<Response>) -> Flow + Sync),
    ) -> Result<Flow> {
        let tok = &self.model.tokenizer;
        let prompts = batch.iter().map(|(_, r)| tok.encode_chat(&r.messages)).collect::<bcr_model::Result<Vec<_>>>()?;
        let seeds: Vec<u64> = batch.iter().map(|(_, r)| r.seed).collect();
        let first = batch[0].1;
        let cfg = SamplingConfig {
            max_new_tokens: first.max_tokens,
            temperature: first.temperature,
            top_p: first.top_p,
            ..SamplingConfig::default()
        };
        let start = Instant::now();
        let (gens, _) = generate_with_stats(&self.model.lm, tok, &prompts, &seeds, &cfg)?;
        let latency_s = start.elapsed().as_secs_f64();
        let mut flow = Flow::Continue;
        for (((i, _), g), prompt) in batch.iter().zip(gens).zip(&prompts) {
            let resp = Response {
                completion_tokens: g.tokens.len(),
                prompt_tokens: Some(prompt.len()),
                text: g.text,
                token_source: TokenSource::Native,
                finish: g.finish,
                latency_s,
                attempts: 1,
            };
            if on_result(*i, Ok(resp)) == Flow::Stop {
                flow = Flow::Stop;
            }
        }
        Ok(flow)
    }
}

/// Consecutive runs of requests with equal sampling settings, at most `size` long.
fn batches(requests: &[Request], size: usize) -> Vec<Vec<(usize, &Request)>> {
    let mut out: Vec<Vec<(usize, &Request)>> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let same = |b: &Vec<(usize, &Request)>| {
            let f = b[0].1;
            b.len() < size && f.max_tokens == r.max_tokens && f.temperature == r.temperature && f.top_p == r.top_p
        };
        match out.last_mut() {
            Some(b) if same(b) => b.push((i, r)),
            _ => out.push(vec![(i, r)]),
        }
    }
    out
}

impl Backend for NativeBackend {
    fn describe(&self) -> String {
        let schedule = if self.is_continuous() { "continuous batching" } else { "batches" };
        format!("native bcr-model `{}` ({schedule} of up to {})", self.spec, self.batch_size)
    }

    fn run(&self, requests: &[Request], on_result: &(dyn Fn(usize, Result<Response>) -> Flow + Sync)) -> Result<()> {
        if let Some(feed) = &self.feed {
            return self.run_continuous(feed, requests, on_result);
        }
        for batch in batches(requests, self.batch_size) {
            if self.run_batch(&batch, on_result)? == Flow::Stop {
                break;
            }
        }
        Ok(())
    }

    fn token_counter(&self) -> Option<crate::TokenCounter> {
        let model = self.model.clone();
        Some(Arc::new(move |text: &str| model.tokenizer.encode(text, false).ok().map(|ids| ids.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(max_tokens: usize, temperature: f64) -> Request {
        Request { messages: vec![], max_tokens, temperature, top_p: 1.0, seed: 0 }
    }

    #[test]
    fn batches_split_on_size_and_settings() {
        let reqs = vec![req(10, 0.0), req(10, 0.0), req(10, 0.0), req(20, 0.0), req(20, 0.5), req(20, 0.5)];
        let shape = |size| {
            batches(&reqs, size).iter().map(|b| b.iter().map(|(i, _)| *i).collect::<Vec<_>>()).collect::<Vec<_>>()
        };
        assert_eq!(shape(2), vec![vec![0, 1], vec![2], vec![3], vec![4, 5]]);
        assert_eq!(shape(8), vec![vec![0, 1, 2], vec![3], vec![4, 5]]);
        assert_eq!(shape(1).len(), 6);
        assert!(batches(&[], 4).is_empty());
    }
}
