//! The dispatcher: packable questions wait in groups (same API key unless
//! `--pack-across-keys`, same system prompt, same sampling settings); a group
//! becomes a pack when it holds the controller's N or its oldest question
//! has waited `--max-wait-ms`, and a backend slot is free. Packs run on
//! blocking threads (`crate::call`); each caller's answer comes back on its
//! own channel, exactly once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use crate::call::{run_call, Pack};
use crate::metrics::Metrics;
use crate::openai::{ApiError, Completion};
use crate::pack::{Packer, Sampling};
use crate::policy::Controller;
use crate::upstream::Upstream;

/// Who may share a pack: questions with equal keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    /// The caller's API key (`None` when packing across keys, or none sent).
    pub tenant: Option<String>,
    /// The system prompt every question of the pack shares.
    pub system: Option<String>,
    /// `temperature` and `top_p`, as bits.
    pub sampling: (u64, u64),
}

impl GroupKey {
    /// The key of a question from `tenant` with `system` and `sampling`.
    pub fn new(tenant: Option<String>, system: Option<String>, sampling: Sampling) -> Self {
        GroupKey { tenant, system, sampling: (sampling.temperature.to_bits(), sampling.top_p.to_bits()) }
    }

    /// The sampling settings back.
    pub fn sampling(&self) -> Sampling {
        Sampling { temperature: f64::from_bits(self.sampling.0), top_p: f64::from_bits(self.sampling.1) }
    }
}

/// Where a caller's answer came from: `x-bcr-pack: <id>/<position>/<N>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackTag {
    /// The pack's id.
    pub id: String,
    /// The caller's place in it (1-based).
    pub position: usize,
    /// Questions in the pack.
    pub n: usize,
}

impl std::fmt::Display for PackTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.id, self.position, self.n)
    }
}

/// What a caller receives.
pub type Delivery = Result<(Completion, PackTag), ApiError>;

/// One waiting question.
#[derive(Debug)]
pub struct Job {
    /// Who it may be packed with.
    pub group: GroupKey,
    /// The user message.
    pub question: String,
    /// When it arrived.
    pub arrived: Instant,
    /// Where its answer goes.
    pub reply: oneshot::Sender<Delivery>,
}

/// What the dispatcher and the calls share.
pub struct Shared {
    /// The model.
    pub upstream: Upstream,
    /// Renders and splits packs.
    pub packer: Packer,
    /// The N controller.
    pub controller: Mutex<Controller>,
    /// The counters.
    pub metrics: Metrics,
    /// One permit per backend slot.
    pub slots: Arc<Semaphore>,
    /// Signalled when a call ends.
    pub freed: Notify,
    /// Questions waiting (not yet in a pack).
    pub waiting: AtomicUsize,
    /// Pack ids.
    pub next_pack: AtomicU64,
    /// How long a question may wait to be grouped.
    pub max_wait: Duration,
}

impl Shared {
    /// A fresh pack id.
    pub fn pack_id(&self) -> String {
        format!("pk{:x}", self.next_pack.fetch_add(1, Ordering::Relaxed))
    }

    /// Records an answered question's latency (metrics and controller).
    pub fn answered(&self, arrived: Instant, completion_tokens: usize) {
        let secs = arrived.elapsed().as_secs_f64();
        self.metrics.latency.observe(secs);
        self.metrics.tokens_per_answer.observe(completion_tokens as f64);
        self.metrics.answered("packed");
        let mut c = self.controller.lock().unwrap_or_else(|p| p.into_inner());
        c.observe(secs * 1000.0);
        self.metrics.n_floor.set(c.floor() as i64);
        self.metrics.n_best.set(c.best_n() as i64);
    }
}

/// The groups of waiting questions, oldest group first.
#[derive(Default)]
struct Groups {
    groups: Vec<(GroupKey, VecDeque<Job>)>,
}

impl Groups {
    fn push(&mut self, job: Job) {
        match self.groups.iter_mut().find(|(k, _)| *k == job.group) {
            Some((_, q)) => q.push_back(job),
            None => self.groups.push((job.group.clone(), VecDeque::from([job]))),
        }
    }

    /// Drops questions whose caller has gone; returns how many.
    fn prune(&mut self) -> usize {
        let mut gone = 0;
        for (_, q) in &mut self.groups {
            let before = q.len();
            q.retain(|j| !j.reply.is_closed());
            gone += before - q.len();
        }
        self.groups.retain(|(_, q)| !q.is_empty());
        gone
    }

    fn len(&self) -> usize {
        self.groups.iter().map(|(_, q)| q.len()).sum()
    }

    /// When the oldest question's wait runs out.
    fn deadline(&self, max_wait: Duration) -> Option<Instant> {
        self.groups.iter().filter_map(|(_, q)| q.front()).map(|j| j.arrived + max_wait).min()
    }

    /// The next pack of at most `n` questions that is due at `now`, if any:
    /// a group holding `n`, or whose oldest question's wait is over.
    fn take(&mut self, n: usize, now: Instant, max_wait: Duration) -> Option<Vec<Job>> {
        self.groups.sort_by_key(|(_, q)| q.front().map(|j| j.arrived));
        let i = self
            .groups
            .iter()
            .position(|(_, q)| q.len() >= n || q.front().is_some_and(|j| now >= j.arrived + max_wait))?;
        let q = &mut self.groups[i].1;
        let jobs: Vec<Job> = q.drain(..n.min(q.len())).collect();
        if q.is_empty() {
            self.groups.remove(i);
        }
        Some(jobs)
    }
}

/// Runs until every sender is dropped and every waiting question is packed.
pub async fn dispatch(mut rx: mpsc::UnboundedReceiver<Job>, shared: Arc<Shared>) {
    let mut groups = Groups::default();
    let mut open = true;
    loop {
        while let Ok(job) = rx.try_recv() {
            groups.push(job);
        }
        let gone = groups.prune();
        shared.waiting.fetch_sub(gone, Ordering::SeqCst);
        start_packs(&mut groups, &shared, !open);
        shared.metrics.queue_depth.set(groups.len() as i64);
        if !open && groups.len() == 0 {
            return;
        }
        // A deadline matters only while a slot is free: with none free, what
        // is due goes when a call ends (`freed`), and waking earlier would spin.
        let idle = Instant::now() + Duration::from_secs(3600);
        let deadline = match shared.slots.available_permits() {
            0 => idle,
            _ => groups.deadline(shared.max_wait).unwrap_or(idle),
        };
        tokio::select! {
            job = rx.recv(), if open => match job {
                Some(job) => groups.push(job),
                None => open = false,
            },
            _ = shared.freed.notified() => {}
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
    }
}

/// Starts every pack that is due while backend slots are free. `draining`:
/// the server is shutting down, so nothing waits for company any more.
fn start_packs(groups: &mut Groups, shared: &Arc<Shared>, draining: bool) {
    while groups.len() > 0 {
        let Ok(permit) = shared.slots.clone().try_acquire_owned() else { return };
        let free = shared.slots.available_permits() + 1;
        let n = shared.controller.lock().unwrap_or_else(|p| p.into_inner()).decide(groups.len(), free);
        let now = if draining { Instant::now() + shared.max_wait } else { Instant::now() };
        let Some(jobs) = groups.take(n, now, shared.max_wait) else {
            return; // permit dropped: nothing is due yet
        };
        shared.waiting.fetch_sub(jobs.len(), Ordering::SeqCst);
        shared.metrics.pack_size.observe(jobs.len() as f64);
        let pack = Pack { id: shared.pack_id(), jobs, full: free == 1 };
        let slot = Slot::new(shared.clone(), permit);
        tokio::task::spawn_blocking(move || {
            let slot = slot; // the whole slot, so it is freed when the call ends
            run_call(&slot.shared, vec![pack]);
        });
    }
}

/// A busy backend slot; freed (and the dispatcher woken) when dropped, even
/// if the call panics.
pub struct Slot {
    /// The gateway.
    pub shared: Arc<Shared>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Slot {
    /// Holds `permit` for a call (counted in `bcr_serve_in_flight`).
    pub fn new(shared: Arc<Shared>, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        shared.metrics.in_flight.inc();
        Slot { shared, permit: Some(permit) }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.metrics.in_flight.dec();
        // Release the permit *before* waking the dispatcher: woken first, it
        // would find no free slot, wait for the next wake-up, and the
        // questions due now would hang until another request arrived.
        drop(self.permit.take());
        self.shared.freed.notify_one();
    }
}
