//! The native backend with continuous batching: one decode thread owns a
//! [`bcr_model::Engine`] and keeps up to `batch_size` sequences running;
//! requests from any thread join the batch at the next decode step and are
//! answered the moment their own sequence ends. This is how `bcr serve`
//! runs a local model: a pack that arrives while others decode does not
//! wait for them.
//!
//! ```text
//! callers --Submit--> [channel] --> decode thread: admit (room permitting)
//!                                                 -> advance one step
//!                                                 -> answer finished rows
//! ```
//!
//! Requests are admitted oldest first, as many as the batch has room for
//! (the rest wait in the channel's order). An error while admitting fails
//! only the requests of that admission; an error in a decode step fails
//! every running request and the engine starts again empty. If the thread
//! dies, callers get an error rather than waiting forever.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use bcr_model::{Admit, Engine, Model, SamplingConfig};

use crate::backend::{Request, Response, TokenSource};
use crate::{Error, Result};

/// One request for the decode thread, and where its answer goes.
pub(super) struct Submit {
    pub request: Request,
    /// The request's index in its caller's call, sent back with the answer.
    pub index: usize,
    pub submitted: Instant,
    pub reply: Sender<(usize, Result<Response>)>,
}

/// A running request: its caller, when it started, its prompt's length.
struct Running {
    index: usize,
    reply: Sender<(usize, Result<Response>)>,
    submitted: Instant,
    prompt_tokens: usize,
}

/// Starts the decode thread; requests go into the returned sender.
pub(super) fn start(model: Arc<Model>, batch_size: usize) -> Result<Sender<Submit>> {
    let (tx, rx) = channel::<Submit>();
    std::thread::Builder::new()
        .name("bcr-decode".into())
        .spawn(move || decode_loop(&model, batch_size, rx))
        .map_err(|e| Error::Invalid(format!("cannot start the decode thread: {e}")))?;
    Ok(tx)
}

/// Waits for work outside rayon's pool (an idle server holds no worker),
/// then decodes on one of its threads until nothing runs or waits (see
/// `bcr_model::generate_with_stats` for why the loop runs inside the pool).
/// Returns once every sender is dropped and everything has finished.
fn decode_loop(model: &Model, batch_size: usize, mut rx: Receiver<Submit>) {
    let mut next_id = 0u64;
    while let Ok(first) = rx.recv() {
        // The receiver moves into the pool and back (it is not `Sync`).
        let id = &mut next_id;
        let (open, back) = rayon::scope(move |_| (busy(model, batch_size, &rx, first, id), rx));
        if !open {
            return;
        }
        rx = back;
    }
}

/// One busy period; returns whether the channel is still open.
fn busy(model: &Model, batch_size: usize, rx: &Receiver<Submit>, first: Submit, next_id: &mut u64) -> bool {
    let mut engine = Engine::new(&model.lm, &model.tokenizer);
    let mut waiting: VecDeque<Submit> = VecDeque::from([first]);
    let mut running: HashMap<u64, Running> = HashMap::new();
    let mut open = true;
    loop {
        while open {
            match rx.try_recv() {
                Ok(s) => waiting.push_back(s),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => open = false,
            }
        }
        let room = batch_size.saturating_sub(engine.len()).min(waiting.len());
        if room > 0 {
            let batch: Vec<Submit> = waiting.drain(..room).collect();
            admit(model, &mut engine, &mut running, next_id, batch);
        }
        if engine.is_empty() {
            if waiting.is_empty() {
                return open;
            }
            continue;
        }
        match engine.advance() {
            Ok(done) => {
                for (id, g) in done {
                    let Some(r) = running.remove(&id) else { continue };
                    let resp = Response {
                        completion_tokens: g.tokens.len(),
                        prompt_tokens: Some(r.prompt_tokens),
                        text: g.text,
                        token_source: TokenSource::Native,
                        finish: g.finish,
                        latency_s: r.submitted.elapsed().as_secs_f64(),
                        attempts: 1,
                    };
                    let _ = r.reply.send((r.index, Ok(resp)));
                }
            }
            Err(e) => {
                for (_, r) in running.drain() {
                    let _ = r.reply.send((r.index, Err(Error::Invalid(format!("decode step failed: {e}")))));
                }
                engine = Engine::new(&model.lm, &model.tokenizer);
            }
        }
    }
}

/// Encodes and prefills `batch`; a request whose prompt cannot be encoded
/// is answered with its error alone, a failed prefill fails the admission.
fn admit(
    model: &Model,
    engine: &mut Engine<'_>,
    running: &mut HashMap<u64, Running>,
    next_id: &mut u64,
    batch: Vec<Submit>,
) {
    let mut seqs = Vec::with_capacity(batch.len());
    let mut callers = Vec::with_capacity(batch.len());
    for s in batch {
        let r = &s.request;
        let prompt = match model.tokenizer.encode_chat(&r.messages) {
            Ok(p) => p,
            Err(e) => {
                let _ = s.reply.send((s.index, Err(e.into())));
                continue;
            }
        };
        let cfg = SamplingConfig {
            max_new_tokens: r.max_tokens,
            temperature: r.temperature,
            top_p: r.top_p,
            ..SamplingConfig::default()
        };
        *next_id += 1;
        callers.push((
            *next_id,
            Running { index: s.index, reply: s.reply, submitted: s.submitted, prompt_tokens: prompt.len() },
        ));
        seqs.push(Admit { id: *next_id, prompt, cfg, seed: r.seed });
    }
    // One bad request must not fail the others of its admission: on an
    // error, admit them one by one so each gets its own answer.
    if seqs.len() > 1 && engine.admit(seqs.clone()).is_ok() {
        running.extend(callers);
        return;
    }
    for (seq, (id, caller)) in seqs.into_iter().zip(callers) {
        match engine.admit(vec![seq]) {
            Ok(()) => {
                running.insert(id, caller);
            }
            Err(e) => {
                let _ = caller.reply.send((caller.index, Err(Error::Invalid(e.to_string()))));
            }
        }
    }
}
