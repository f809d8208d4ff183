//! Reflection phrases: the "wait, let me check" loops that BCR training
//! removes (arXiv 2604.02322, finding 3, "self-regulated efficiency"),
//! counted in any model's responses.
//!
//! A phrase matches case-insensitively at word boundaries: `wait` counts in
//! "Wait, let me check" and "wait." but not in "awaits"; matches of one
//! phrase do not overlap. The count of a text is the sum over phrases, so
//! "Wait, let me check" is two reflections with the default list (it holds
//! two of its phrases). `bcr eval` reports the count per problem and per
//! 1,000 generated tokens; the gym counts its own markers the same way.

use crate::{Error, Result};

/// The phrases `bcr eval` counts by default, those of reasoning models.
pub const DEFAULT_REFLECTION_PHRASES: [&str; 6] =
    ["wait", "let me check", "double-check", "let me verify", "alternatively", "hmm"];

/// A list of reflection phrases and the counter over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectionMarkers {
    phrases: Vec<String>,
}

impl Default for ReflectionMarkers {
    fn default() -> Self {
        ReflectionMarkers { phrases: DEFAULT_REFLECTION_PHRASES.iter().map(|p| p.to_string()).collect() }
    }
}

impl ReflectionMarkers {
    /// Markers from `phrases` (trimmed, compared lower-case); an empty
    /// phrase is an error.
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Result<Self> {
        let mut out = Vec::with_capacity(phrases.len());
        for p in phrases {
            let p = p.as_ref().trim().to_lowercase();
            if p.is_empty() {
                return Err(Error::Invalid("reflection phrases: an empty phrase would match everywhere".into()));
            }
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(ReflectionMarkers { phrases: out })
    }

    /// The phrases, lower-case, in order.
    pub fn phrases(&self) -> &[String] {
        &self.phrases
    }

    /// Reflections in `text`: matches of every phrase at word boundaries.
    ///
    /// ```
    /// use bcr_core::ReflectionMarkers;
    /// let m = ReflectionMarkers::default();
    /// assert_eq!(m.count("Wait, let me check: 2 + 2 = 4. Hmm. It awaits."), 3);
    /// ```
    pub fn count(&self, text: &str) -> usize {
        let lower = text.to_lowercase();
        self.phrases.iter().map(|p| count_phrase(&lower, p)).sum()
    }
}

/// Non-overlapping matches of `phrase` in `text` (both lower-case) that
/// start and end at word boundaries.
fn count_phrase(text: &str, phrase: &str) -> usize {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = text[from..].find(phrase) {
        let start = from + at;
        let end = start + phrase.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let starts_word = phrase.chars().next().is_some_and(|c| !(c.is_alphanumeric() || c == '_')) || !word(before);
        let ends_word = phrase.chars().next_back().is_some_and(|c| !(c.is_alphanumeric() || c == '_')) || !word(after);
        if starts_word && ends_word {
            count += 1;
            from = end;
        } else {
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_counted_texts() {
        let m = ReflectionMarkers::default();
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("2 + 2 = 4\n\\boxed{4}", 0),
            ("Wait, let me check: 2 + 2 = 4. Yes.", 2),
            ("WAIT. wait! Wait?", 3),
            ("He awaits the waiter; hmmm.", 0),
            ("Hmm, maybe another way. Alternatively, try 3. Let me verify: ok. Let me double-check.", 4),
            ("let me checkpoint this", 0),
            ("Wait—let me check—wait", 3),
            ("Ünïcode wait: wait", 2),
        ];
        for &(text, want) in cases {
            assert_eq!(m.count(text), want, "{text:?}");
        }
        let gym = ReflectionMarkers::new(&["Wait, let me check", "Let me think about this differently"]).unwrap();
        assert_eq!(
            gym.count("Wait, let me check: 3. Yes.\nWait, let me check: 3. Yes.\nlet me think about this differently."),
            3
        );
        assert!(ReflectionMarkers::new(&["wait", " "]).is_err());
        assert_eq!(ReflectionMarkers::new(&["Wait", "wait "]).unwrap().phrases(), ["wait"]);
    }
}
