//! Retry policy for HTTP requests: exponential backoff with jitter, and the
//! server's `Retry-After` honoured when it asks for longer.
//!
//! Delay before retry `k` (0-based) is `min(max, base * 2^k)` scaled by a
//! jitter factor in `[0.5, 1.0)` ("equal jitter": never less than half the
//! nominal delay, so a crowd of clients spreads out without hammering), then
//! raised to `Retry-After` if that is larger (capped at `max_retry_after`).

use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// Nominal delay before the first retry.
    pub base: Duration,
    /// Cap on the exponential delay.
    pub max: Duration,
    /// Cap on a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (0-based). `unit` is a uniform draw
    /// in `[0, 1)` for the jitter; `retry_after` is the server's request.
    pub fn delay(&self, retry: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let factor = 2f64.powi(retry.min(30) as i32);
        let nominal = self.base.as_secs_f64() * factor;
        let capped = nominal.min(self.max.as_secs_f64());
        let jittered = capped * (0.5 + 0.5 * unit.clamp(0.0, 1.0));
        let backoff = Duration::from_secs_f64(jittered);
        match retry_after {
            Some(ra) => backoff.max(ra.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// Parses a `Retry-After` header given in seconds (`"3"`, `"1.5"`). HTTP-date
/// forms are not parsed (None): the exponential backoff applies instead.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_grow_cap_and_jitter() {
        // (retry, unit, retry_after, expected ms)
        let cases: &[(u32, f64, Option<u64>, u64)] = &[
            (0, 0.0, None, 50),
            (0, 1.0, None, 100),
            (1, 0.0, None, 100),
            (3, 1.0, None, 800),
            (4, 1.0, None, 1000), // capped at max
            (40, 0.5, None, 750), // huge retry count: no overflow
            (0, 0.0, Some(2000), 2000),
            (0, 0.0, Some(60_000), 10_000), // Retry-After capped
            (3, 1.0, Some(10), 800),        // backoff larger than Retry-After
            (0, -3.0, None, 50),            // out-of-range unit clamped
        ];
        for &(retry, unit, ra, want) in cases {
            let got = policy().delay(retry, unit, ra.map(Duration::from_millis));
            assert_eq!(got.as_millis() as u64, want, "retry {retry} unit {unit} ra {ra:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let cases: &[(&str, Option<f64>)] = &[
            ("3", Some(3.0)),
            (" 1.5 ", Some(1.5)),
            ("0", Some(0.0)),
            ("-1", None),
            ("NaN", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("", None),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_retry_after(s).map(|d| d.as_secs_f64()), want, "{s:?}");
        }
    }
}
