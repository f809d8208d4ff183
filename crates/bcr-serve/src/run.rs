//! Starting and stopping the gateway: [`ServeConfig`], [`serve`] on a tokio
//! listener until a shutdown future resolves (then in-flight requests are
//! finished: axum's graceful shutdown, and the dispatcher drains its
//! queue), and [`spawn`], the same on a thread of its own.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bcr_core::{BudgetMode, ParseOptions, PromptTemplate};
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::batcher::{dispatch, Shared};
use crate::metrics::Metrics;
use crate::pack::{Packer, Sampling};
use crate::policy::{curve_limit, Controller, ControllerConfig, NPolicy};
use crate::server::{router, Gateway};
use crate::upstream::Upstream;
use crate::{Error, Result};

/// Everything `bcr serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The model name in `/v1/models` and in every response.
    pub model_name: String,
    /// The BCR prompt, parser and budget.
    pub packer: Packer,
    /// The N controller.
    pub controller: ControllerConfig,
    /// How long a question may wait to be grouped (`--max-wait-ms`).
    pub max_wait: Duration,
    /// Most questions waiting before 429 (`--max-queue`).
    pub max_queue: usize,
    /// Accepted API keys (`--api-keys FILE`); `None`: no auth.
    pub api_keys: Option<HashSet<String>>,
    /// Pack questions of different API keys together (`--pack-across-keys`).
    pub pack_across_keys: bool,
    /// Largest request body in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Sampling for requests that set none (greedy by default, as `bcr eval`).
    pub default_sampling: Sampling,
}

impl ServeConfig {
    /// Defaults: adaptive N up to 8 with a 30 s p95 target, 50 ms wait,
    /// 1,024 waiting questions, a 4,096-token total budget, 1 MiB bodies, greedy.
    pub fn new(model_name: &str) -> Self {
        ServeConfig {
            model_name: model_name.to_string(),
            packer: Packer {
                prompt: PromptTemplate::default(),
                parse: ParseOptions::default(),
                budget: 4096,
                budget_mode: BudgetMode::Total,
            },
            controller: ControllerConfig::new(None, 8, 30_000.0),
            max_wait: Duration::from_millis(50),
            max_queue: 1024,
            api_keys: None,
            pack_across_keys: false,
            max_body_bytes: 1 << 20,
            default_sampling: Sampling { temperature: 0.0, top_p: 1.0 },
        }
    }

    /// Sets the N policy: `max_n` caps N (a curve lowers it further to the
    /// largest N within `max_acc_drop` points of N = 1's accuracy, and
    /// gives the tokens per answer the controller starts from); `min_gain`
    /// is the least cut in cost per answer worth a larger N.
    pub fn set_policy(&mut self, policy: &NPolicy, max_n: usize, slo_ms: f64, limits: (f64, f64)) -> Result<()> {
        let (max_acc_drop, min_gain) = limits;
        if max_n == 0 || slo_ms.is_nan() || slo_ms <= 0.0 {
            return Err(Error::Invalid(format!("--max-n {max_n} and --slo-ms {slo_ms}: both must be positive")));
        }
        if !(0.0..1.0).contains(&min_gain) {
            return Err(Error::Invalid(format!("--min-gain {min_gain}: must be in [0, 1)")));
        }
        let window = self.controller.window;
        self.controller = match policy {
            NPolicy::Fixed(k) => ControllerConfig::new(Some(*k), *k, slo_ms),
            NPolicy::Adaptive => ControllerConfig::new(None, max_n, slo_ms),
            NPolicy::Curve(path) => {
                let (cap, prior) = curve(path, max_acc_drop)?;
                ControllerConfig { prior, ..ControllerConfig::new(None, max_n.min(cap), slo_ms) }
            }
        };
        self.controller.window = window;
        self.controller.min_gain = min_gain;
        Ok(())
    }
}

/// What a `bcr eval` summary says (`path`: the run directory or its
/// `summary.json`): the N it allows, and tokens per problem by N
/// (benchmarks averaged).
fn curve(path: &Path, max_acc_drop: f64) -> Result<(usize, Vec<(usize, f64)>)> {
    let dir: PathBuf =
        if path.is_file() { path.parent().map(Path::to_path_buf).unwrap_or_default() } else { path.into() };
    let summary = bcr_eval::load_summary(&dir)?;
    let rows: Vec<(usize, f64)> = summary.rows.iter().map(|r| (r.n, r.accuracy)).collect();
    let cap = curve_limit(&rows, max_acc_drop).map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    let mut by_n: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for r in &summary.rows {
        let e = by_n.entry(r.n).or_default();
        e.0 += r.tokens_per_problem;
        e.1 += 1;
    }
    Ok((cap, by_n.into_iter().map(|(n, (sum, k))| (n, sum / k as f64)).collect()))
}

/// Reads an API-key file: one key per line; blank lines and `#` comments skipped.
pub fn load_api_keys(path: &Path) -> Result<HashSet<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { addr: path.display().to_string(), source })?;
    let keys: HashSet<String> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    if keys.is_empty() {
        return Err(Error::Invalid(format!("{}: no API keys in the file", path.display())));
    }
    Ok(keys)
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting,
/// answers every request already received, and returns.
pub async fn serve(
    config: ServeConfig,
    upstream: Upstream,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let slots = upstream.slots().max(1);
    let shared = Arc::new(Shared {
        upstream,
        packer: config.packer,
        controller: Mutex::new(Controller::new(config.controller)),
        metrics: Metrics::new(),
        slots: Arc::new(Semaphore::new(slots)),
        freed: Notify::new(),
        waiting: AtomicUsize::new(0),
        next_pack: AtomicU64::new(0),
        max_wait: config.max_wait,
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let dispatcher = tokio::spawn(dispatch(rx, shared.clone()));
    let gw = Arc::new(Gateway {
        shared,
        tx,
        model_name: config.model_name,
        api_keys: config.api_keys,
        pack_across_keys: config.pack_across_keys,
        max_queue: config.max_queue,
        default_sampling: config.default_sampling,
        next_id: AtomicU64::new(0),
    });
    let app = router(gw, config.max_body_bytes);
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    // The router (and with it the queue's sender) is gone: the dispatcher
    // packs what is left and returns.
    let _ = dispatcher.await;
    served.map_err(|source| Error::Io { addr, source })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A gateway serving on a thread of its own.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes in-flight requests, and joins the thread.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Invalid("the server thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Binds `addr` (port 0: any free port) and serves on a new thread with its
/// own tokio runtime until [`Running::stop`].
pub fn spawn(config: ServeConfig, upstream: Upstream, addr: &str) -> Result<Running> {
    let io = |source| Error::Io { addr: addr.to_string(), source };
    let std_listener = std::net::TcpListener::bind(addr).map_err(io)?;
    std_listener.set_nonblocking(true).map_err(io)?;
    let local = std_listener.local_addr().map_err(io)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(io)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).map_err(io_at(local))?;
            serve(config, upstream, listener, async move {
                let _ = rx.await;
            })
            .await
        })
    });
    Ok(Running { addr: local, stop: Some(tx), thread: Some(thread) })
}

fn io_at(addr: SocketAddr) -> impl Fn(std::io::Error) -> Error {
    move |source| Error::Io { addr: addr.to_string(), source }
}
