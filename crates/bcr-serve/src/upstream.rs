//! The model behind the gateway: `bcr-eval`'s backends, shared with
//! `bcr eval` (one HTTP client, one generation path). Both are blocking;
//! the gateway calls them on tokio's blocking threads, one pack per call.

use bcr_eval::{Backend, BackendSpec, HttpBackend, NativeBackend};

use crate::Result;

/// An OpenAI-compatible server or a local model.
#[derive(Debug)]
pub enum Upstream {
    /// An OpenAI-compatible server: unpackable requests pass through to it.
    Http(Box<HttpBackend>),
    /// A local model on the native runtime: unpackable requests that need a
    /// server (tools, `n > 1`, logprobs) get a 400.
    Native(Box<NativeBackend>),
}

impl Upstream {
    /// Connects (HTTP: builds the client) or loads the model (native).
    pub fn open(spec: &BackendSpec) -> Result<Self> {
        Ok(match spec {
            BackendSpec::Http(c) => Upstream::Http(Box::new(HttpBackend::new(c.clone())?)),
            BackendSpec::Native { model, load, batch } => {
                Upstream::Native(Box::new(NativeBackend::load_with(model, *batch, load)?.continuous()?))
            }
        })
    }

    /// The backend both routes call.
    pub fn backend(&self) -> &dyn Backend {
        match self {
            Upstream::Http(b) => b.as_ref(),
            Upstream::Native(b) => b.as_ref(),
        }
    }

    /// Packs in flight at once: the HTTP concurrency, or the sequences the
    /// native runtime decodes together (continuous batching: a pack joins
    /// the running batch at its next step, so each pack is its own call).
    pub fn slots(&self) -> usize {
        match self {
            Upstream::Http(b) => b.config().concurrency,
            Upstream::Native(b) => b.batch_size(),
        }
    }

    /// One line for the startup message.
    pub fn describe(&self) -> String {
        self.backend().describe()
    }
}
