//! One backend call: render the packs, run them, split each response,
//! deliver every section to its caller, re-ask alone (N = 1) each caller
//! whose section could not be separated, and deliver those. Every job gets
//! exactly one delivery: an answer or an error.

use std::sync::Mutex;

use axum::http::StatusCode;
use bcr_eval::{Flow, Request, Response};

use crate::batcher::{Job, PackTag, Shared};
use crate::openai::{ApiError, Completion};

/// A pack being sent: its id and its callers in order.
#[derive(Debug)]
pub struct Pack {
    /// The pack id (`x-bcr-pack`).
    pub id: String,
    /// The callers, position 1 first.
    pub jobs: Vec<Job>,
    /// Sent into the last free backend slot (the backend was full): only
    /// such packs' costs are compared by the controller, so every N is
    /// judged at the same occupancy (a call alone in a half-empty batch
    /// runs faster steps than one in a full batch).
    pub full: bool,
}

/// A caller waiting for a re-ask, with what the pack already billed it.
struct Reask {
    job: Job,
    prompt_tokens: usize,
}

/// Runs `packs` as one backend call (blocking) and delivers every answer.
pub fn run_call(shared: &Shared, packs: Vec<Pack>) {
    let requests: Vec<Result<Request, ApiError>> = packs.iter().map(|p| render(shared, p)).collect();
    let results = run_all(shared, &requests);
    let mut reasks = Vec::new();
    for ((pack, result), req) in packs.into_iter().zip(results).zip(&requests) {
        match (req, result) {
            (Err(e), _) => fail_all(shared, pack.jobs, e.clone()),
            (Ok(_), Err(e)) => fail_all(shared, pack.jobs, e),
            (Ok(_), Ok(resp)) => reasks.extend(deliver_pack(shared, pack, &resp)),
        }
    }
    if reasks.is_empty() {
        return;
    }
    shared.metrics.reasks.inc_by(reasks.len() as u64);
    let singles: Vec<Pack> =
        reasks.iter().map(|_| Pack { id: shared.pack_id(), jobs: Vec::new(), full: false }).collect();
    let requests: Vec<Result<Request, ApiError>> =
        reasks.iter().zip(&singles).map(|(r, p)| request_for(shared, &p.id, &[&r.job])).collect();
    let results = run_all(shared, &requests);
    for ((reask, single), result) in reasks.into_iter().zip(singles).zip(results) {
        let tag = PackTag { id: single.id, position: 1, n: 1 };
        let delivery = result.map(|resp| {
            let mut c = completion_of(&resp);
            c.prompt_tokens += reask.prompt_tokens;
            (c, tag)
        });
        deliver(shared, reask.job, delivery);
    }
}

/// The request of a pack.
fn render(shared: &Shared, pack: &Pack) -> Result<Request, ApiError> {
    let jobs: Vec<&Job> = pack.jobs.iter().collect();
    request_for(shared, &pack.id, &jobs)
}

fn request_for(shared: &Shared, id: &str, jobs: &[&Job]) -> Result<Request, ApiError> {
    let group = &jobs[0].group;
    let questions: Vec<&str> = jobs.iter().map(|j| j.question.as_str()).collect();
    let seed = u64::from_str_radix(id.trim_start_matches("pk"), 16).unwrap_or(0) & 0x7fff_ffff;
    shared
        .packer
        .request(id, group.system.as_deref(), &questions, group.sampling(), seed)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "render_failed", e.to_string()))
}

/// Runs the rendered requests (skipping failed renders) in one backend call;
/// one result per request.
fn run_all(shared: &Shared, requests: &[Result<Request, ApiError>]) -> Vec<Result<Response, ApiError>> {
    let ok: Vec<(usize, Request)> =
        requests.iter().enumerate().filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r.clone()))).collect();
    let batch: Vec<Request> = ok.iter().map(|(_, r)| r.clone()).collect();
    let slots: Mutex<Vec<Option<Result<Response, ApiError>>>> = Mutex::new(vec![None; requests.len()]);
    let on_result = |i: usize, r: bcr_eval::Result<Response>| {
        let r = r.map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "upstream_error", e.to_string()));
        slots.lock().unwrap_or_else(|p| p.into_inner())[ok[i].0] = Some(r);
        Flow::Continue
    };
    let run = shared.upstream.backend().run(&batch, &on_result);
    let mut out = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    let missing = |why: String| ApiError::new(StatusCode::BAD_GATEWAY, "upstream_error", why);
    out.iter_mut()
        .zip(requests)
        .map(|(slot, req)| match (slot.take(), req) {
            (Some(r), _) => r,
            (None, Err(e)) => Err(e.clone()),
            (None, Ok(_)) => Err(missing(match &run {
                Err(e) => e.to_string(),
                Ok(()) => "the backend returned no result".into(),
            })),
        })
        .collect()
}

/// Delivers the separable sections of a pack; returns the callers to re-ask.
fn deliver_pack(shared: &Shared, pack: Pack, resp: &Response) -> Vec<Reask> {
    let n = pack.jobs.len();
    let per_answer = resp.latency_s / n.max(1) as f64;
    if pack.full {
        let mut ctrl = shared.controller.lock().unwrap_or_else(|p| p.into_inner());
        ctrl.observe_pack(n, per_answer);
        if let Some(mean) = ctrl.mean_cost(n) {
            shared.metrics.set_seconds_per_answer(n, mean);
        }
    }
    let questions: Vec<&str> = pack.jobs.iter().map(|j| j.question.as_str()).collect();
    let count = shared.upstream.backend().token_counter();
    let answers = shared.packer.split(resp, &questions, count.as_ref());
    let shares = crate::pack::prompt_shares(resp, &questions, count.as_ref());
    let mut reasks = Vec::new();
    for (k, ((job, answer), prompt_tokens)) in pack.jobs.into_iter().zip(answers).zip(shares).enumerate() {
        match answer {
            Some(c) => deliver(shared, job, Ok((c, PackTag { id: pack.id.clone(), position: k + 1, n }))),
            None => reasks.push(Reask { job, prompt_tokens }),
        }
    }
    reasks
}

/// A whole N = 1 response as a completion.
fn completion_of(resp: &Response) -> Completion {
    Completion {
        text: resp.text.clone(),
        finish: resp.finish,
        prompt_tokens: resp.prompt_tokens.unwrap_or(0),
        completion_tokens: resp.completion_tokens,
    }
}

fn fail_all(shared: &Shared, jobs: Vec<Job>, e: ApiError) {
    for job in jobs {
        deliver(shared, job, Err(e.clone()));
    }
}

/// Sends one caller its delivery (a caller that has gone is skipped).
fn deliver(shared: &Shared, job: Job, delivery: crate::batcher::Delivery) {
    // Errors are counted where they are answered (`server::chat`).
    if let Ok((c, _)) = &delivery {
        shared.answered(job.arrived, c.completion_tokens);
    }
    let _ = job.reply.send(delivery);
}
