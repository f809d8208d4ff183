//! Explicit cost limits of the verifier. Every stage checks these instead of
//! relying on timers or threads, so any input (10,000 nested braces,
//! `10^{10^{10^{10}}}`, `100!!!`, a megabyte of text) gets a verdict after a
//! bounded amount of work.

/// Longest answer (after extraction from a response) that is parsed, in bytes.
/// Longer answers are compared as normalised text only.
pub(crate) const MAX_ANSWER_BYTES: usize = 4096;
/// Most tokens one answer may lex into.
pub(crate) const MAX_TOKENS: usize = 2048;
/// Most digits in one number literal.
pub(crate) const MAX_DIGITS: usize = 400;
/// Deepest nesting the parser follows (brackets, fractions, powers, unary signs).
pub(crate) const MAX_DEPTH: usize = 64;
/// Largest bit size of an exact rational (numerator or denominator) before
/// exact arithmetic gives up and numeric evaluation takes over.
pub(crate) const MAX_BITS: u64 = 4096;
/// Largest `n` for which `n!` is computed exactly.
pub(crate) const MAX_EXACT_FACTORIAL: u64 = 300;
/// Arithmetic operations one comparison may spend (exact and numeric together).
pub(crate) const OP_BUDGET: u32 = 50_000;
/// Most elements in a list, set or tuple that are matched pairwise.
pub(crate) const MAX_ELEMENTS: usize = 64;
/// Most `\pm` signs expanded (2^k values).
pub(crate) const MAX_PM: usize = 4;
/// Most math spans the last-math-span fallback looks at (from the end),
/// skipping those that hold prose; each look is a linear scan.
pub(crate) const MAX_SPAN_TRIES: usize = 8;

/// Which limit stopped the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitError {
    /// More than [`MAX_TOKENS`] tokens.
    Tokens,
    /// A number with more than [`MAX_DIGITS`] digits.
    Digits,
    /// A scientific exponent too large to represent.
    Exponent,
    /// Nesting deeper than [`MAX_DEPTH`].
    Depth,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            LimitError::Tokens => "more than 2048 tokens",
            LimitError::Digits => "a number with more than 400 digits",
            LimitError::Exponent => "a scientific exponent out of range",
            LimitError::Depth => "nesting deeper than 64 levels",
        };
        f.write_str(what)
    }
}

/// A countdown of arithmetic operations shared by one comparison.
#[derive(Debug)]
pub(crate) struct Budget(u32);

impl Budget {
    /// A fresh budget of [`OP_BUDGET`] operations.
    pub(crate) fn new() -> Self {
        Budget(OP_BUDGET)
    }

    /// Operations spent so far.
    pub(crate) fn spent(&self) -> u32 {
        OP_BUDGET - self.0
    }

    /// Spends `n` operations; false once the budget is exhausted.
    pub(crate) fn spend(&mut self, n: u32) -> bool {
        match self.0.checked_sub(n) {
            Some(left) => {
                self.0 = left;
                true
            }
            None => {
                self.0 = 0;
                false
            }
        }
    }
}
