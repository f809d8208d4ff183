//! Deprecation warnings for old spellings that are still read (so existing
//! configs keep running): each distinct message is printed once per process
//! on stderr, as `warning: ... (deprecated)`.

use std::collections::HashSet;
use std::sync::Mutex;

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Prints `warning: {message} (deprecated)` on stderr the first time
/// `message` is seen in this process; returns whether it printed.
pub fn warn_deprecated(message: &str) -> bool {
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = seen.get_or_insert_with(HashSet::new).insert(message.to_string());
    if fresh {
        eprintln!("warning: {message} (deprecated)");
    }
    fresh
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_message_once() {
        assert!(super::warn_deprecated("test spelling `a` is now `b`"));
        assert!(!super::warn_deprecated("test spelling `a` is now `b`"));
    }
}
