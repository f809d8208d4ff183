//! Reference solutions as step-by-step text, with controllable redundancy.
//!
//! A solution is the task's necessary steps, optionally padded with the
//! verbose habits BCR removes (arXiv 2604.02322, finding 3): "wait, let me
//! check" re-verifications that repeat a step, and detours that consider and
//! abandon another approach. [`Verbosity`] sets the chance of each per step.
//! The SFT corpus mixes levels so the warm-started model over-thinks on
//! average, like a reasoning model before BCR.
//!
//! Response layout for a pack of N tasks (parsed by `bcr_core::parse_answers`):
//! for N = 1, the steps then `\boxed{answer}`; for N > 1, per problem k a
//! `Problem k:` line, the steps, and `{label} k: \boxed{answer}`.

use crate::tasks::Task;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How much redundancy to add, as per-step probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Verbosity {
    /// Chance of re-checking a step right after writing it.
    pub recheck: f64,
    /// Chance of a detour (another approach considered, then dropped) before a step.
    pub detour: f64,
}

impl Verbosity {
    /// Only the necessary steps.
    pub const CONCISE: Verbosity = Verbosity { recheck: 0.0, detour: 0.0 };
    /// An occasional check.
    pub const LIGHT: Verbosity = Verbosity { recheck: 0.25, detour: 0.05 };
    /// Frequent checks and some detours.
    pub const VERBOSE: Verbosity = Verbosity { recheck: 0.6, detour: 0.2 };
    /// Checks almost every step, often twice, and wanders.
    pub const OVERTHINKING: Verbosity = Verbosity { recheck: 0.9, detour: 0.4 };
}

/// The phrases that open the gym's redundant reflections, one per kind: the
/// re-check, then the four detours. `bcr demo` counts them in any response
/// with `bcr_core::ReflectionMarkers` (case-insensitive, at word
/// boundaries), as `bcr eval` counts a reasoning model's "wait"s.
pub const REFLECTION_MARKERS: [&str; 5] = [
    "wait, let me check",
    "hmm, maybe there is another way",
    "alternatively, i could try",
    "let me think about this differently",
    "could i have misread the problem",
];

/// The gym's markers as a counter.
pub fn reflection_markers() -> bcr_core::ReflectionMarkers {
    bcr_core::ReflectionMarkers::new(&REFLECTION_MARKERS).unwrap_or_default()
}

/// The necessary steps of a response: its non-blank lines that are neither
/// a reflection (a line holding a marker), a `Problem k:` header nor an
/// answer line (a `\boxed{}`). A correct solution holds its task's steps.
pub fn necessary_steps(response: &str, markers: &bcr_core::ReflectionMarkers) -> usize {
    response
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("\\boxed") && markers.count(l) == 0)
        .filter(|l| !(l.starts_with("Problem ") && l.ends_with(':')))
        .count()
}

const DETOURS: [&str; 4] = [
    "Hmm, maybe there is another way to do this. No, the direct way is fine.",
    "Alternatively, I could try small values first. That is slower, so continue.",
    "Let me think about this differently. Actually the first idea works.",
    "Could I have misread the problem? Reading it again, no.",
];

/// Writes the reasoning for one task (no final answer line).
pub fn write_steps<R: Rng>(task: &Task, verbosity: Verbosity, rng: &mut R) -> String {
    let mut lines = Vec::with_capacity(task.steps.len() * 2);
    for step in &task.steps {
        if rng.random_bool(verbosity.detour.clamp(0.0, 1.0)) {
            lines.push(DETOURS[rng.random_range(0..DETOURS.len())].to_string());
        }
        lines.push(step.clone());
        // A re-check may itself be re-checked: the overthinking loop.
        let mut p = verbosity.recheck.clamp(0.0, 1.0);
        while rng.random_bool(p) {
            lines.push(format!("Wait, let me check: {step}. Yes."));
            p *= 0.5;
        }
    }
    lines.join("\n")
}

/// Writes a whole response to a pack of tasks, in the layout described above.
pub fn write_response<R: Rng>(tasks: &[&Task], label: &str, verbosity: Verbosity, rng: &mut R) -> String {
    if let [task] = tasks {
        return format!("{}\n\\boxed{{{}}}", write_steps(task, verbosity, rng), task.answer);
    }
    let parts: Vec<String> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let k = i + 1;
            format!("Problem {k}:\n{}\n{label} {k}: \\boxed{{{}}}", write_steps(t, verbosity, rng), t.answer)
        })
        .collect();
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{generate, Family};
    use bcr_core::{parse_answers, ParseOptions};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn responses_parse_back_to_the_answers() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in 1..=5 {
            let tasks: Vec<Task> = (0..n).map(|i| generate(Family::ALL[i % 4], 3, &mut rng)).collect();
            let refs: Vec<&Task> = tasks.iter().collect();
            let text = write_response(&refs, "Answer", Verbosity::VERBOSE, &mut rng);
            let parsed = parse_answers(&text, n, &ParseOptions::default());
            let want: Vec<Option<String>> = tasks.iter().map(|t| Some(t.answer.clone())).collect();
            assert_eq!(parsed.answers, want, "{text}");
        }
    }

    #[test]
    fn markers_find_every_redundancy_and_no_necessary_step() {
        let markers = reflection_markers();
        assert_eq!(markers.phrases().len(), REFLECTION_MARKERS.len());
        for d in DETOURS {
            assert_eq!(markers.count(d), 1, "{d}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for i in 0..200 {
            let t = generate(Family::ALL[i % 4], 3, &mut rng);
            let text = write_response(&[&t], "Answer", Verbosity::OVERTHINKING, &mut rng);
            let rechecks = text.lines().filter(|l| l.starts_with("Wait, let me check")).count();
            let detours = text.lines().filter(|l| DETOURS.contains(l)).count();
            assert_eq!(markers.count(&text), rechecks + detours, "{text}");
            assert_eq!(necessary_steps(&text, &markers), t.steps.len(), "{text}");
            for step in &t.steps {
                assert_eq!(markers.count(step), 0, "a necessary step holds a marker: {step}");
            }
        }
        let two = generate(Family::Linear, 2, &mut rng);
        let pack = write_response(&[&two, &two], "Answer", Verbosity::CONCISE, &mut rng);
        assert_eq!(necessary_steps(&pack, &markers), 2 * two.steps.len(), "{pack}");
    }

    #[test]
    fn verbosity_adds_tokens_but_keeps_every_necessary_step() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let tasks: Vec<Task> = (0..200).map(|i| generate(Family::ALL[i % 4], 3, &mut rng)).collect();
        let len = |v: Verbosity, rng: &mut ChaCha8Rng| -> usize {
            tasks
                .iter()
                .map(|t| {
                    let s = write_steps(t, v, rng);
                    for step in &t.steps {
                        assert!(s.contains(step.as_str()), "missing `{step}` in {s}");
                    }
                    s.len()
                })
                .sum()
        };
        let concise = len(Verbosity::CONCISE, &mut rng);
        let light = len(Verbosity::LIGHT, &mut rng);
        let over = len(Verbosity::OVERTHINKING, &mut rng);
        assert!(concise < light && light < over, "{concise} {light} {over}");
        assert!(over as f64 > 2.0 * concise as f64, "overthinking only {over} vs {concise}");
    }
}
