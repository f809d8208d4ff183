//! The BCR user message: N problems in one prompt (Yang et al., "Batched
//! Contextual Reinforcement", arXiv 2604.02322, §3): a short instruction,
//! one Markdown `### Problem k` section per problem, and the instruction to
//! end each solution with a labelled boxed answer `Answer k: \boxed{...}`,
//! which `crate::parse_answers` reads back. The label text (`Answer`) is a
//! parameter. For N = 1 the default template writes the standard
//! single-problem prompt of the Qwen2.5-Math / DeepSeek-R1 evaluations:
//! `{question}\nPlease reason step by step, and put your final answer within \boxed{}.`
//!
//! Templates are minijinja (Jinja2 syntax, `trim_blocks` and `lstrip_blocks`
//! on). Variables: `n` (number of problems), `label`, `pack_id` and
//! `problems`, a list of `{id, question}` (gold answers are never passed).
//! The chat template of the model is applied afterwards (`crate::ChatTemplate`).

use std::path::Path;
use std::sync::Arc;

use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::{Error, Pack, Result};

/// The default template (N = 1 and N > 1 in one source).
pub const DEFAULT_PROMPT_TEMPLATE: &str = r"{% if n == 1 %}
{{ problems[0].question | trim }}
Please reason step by step, and put your final answer within \boxed{}.
{%- else %}
Solve the following {{ n }} problems. Reason step by step.
{% for p in problems %}

### Problem {{ loop.index }}

{{ p.question | trim }}
{% endfor %}

End the solution of each problem k with its final answer in the form `{{ label }} k: \boxed{...}`, from `{{ label }} 1: \boxed{...}` to `{{ label }} {{ n }}: \boxed{...}`.
{%- endif %}";

/// The default answer label.
pub const DEFAULT_LABEL: &str = "Answer";

const NAME: &str = "prompt";

/// Renders the user message of a pack.
///
/// ```
/// use bcr_core::{Pack, Problem, PromptTemplate};
/// let p = |id: &str, q: &str| Problem { id: id.into(), question: q.into(), answer: "0".into(), difficulty: None, source: None };
/// let pack = Pack::new("p0", vec![p("a", "What is 1+1?"), p("b", "What is 2+3?")]);
/// let text = PromptTemplate::default().render(&pack).unwrap();
/// assert!(text.contains("### Problem 2\n\nWhat is 2+3?"));
/// assert!(text.ends_with("from `Answer 1: \\boxed{...}` to `Answer 2: \\boxed{...}`."));
/// ```
#[derive(Clone)]
pub struct PromptTemplate {
    env: Environment<'static>,
    source: Arc<str>,
    label: String,
}

impl std::fmt::Debug for PromptTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptTemplate").field("label", &self.label).field("source", &self.source).finish()
    }
}

impl Default for PromptTemplate {
    /// The default BCR template with the label `Answer`.
    fn default() -> Self {
        // The built-in source is a constant covered by the tests below.
        Self::from_source(DEFAULT_PROMPT_TEMPLATE).expect("the built-in prompt template compiles")
    }
}

#[derive(Serialize)]
struct PromptProblem<'a> {
    id: &'a str,
    question: &'a str,
}

impl PromptTemplate {
    /// Compiles a custom template (same variables as the default).
    pub fn from_source(source: &str) -> Result<Self> {
        let source: Arc<str> = Arc::from(source);
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_template_owned(NAME, source.to_string()).map_err(template_error)?;
        Ok(PromptTemplate { env, source, label: DEFAULT_LABEL.into() })
    }

    /// Reads and compiles a custom template file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_source(&text).map_err(|e| match e {
            Error::Template { message, .. } => Error::Template { name: path.display().to_string(), message },
            other => other,
        })
    }

    /// Sets the answer label (`Answer` by default). It must be non-empty,
    /// on one line, free of `\`, `{`, `}` and `:`, and must not end with a
    /// digit, so that `label k:` stays unambiguous for the parser.
    pub fn with_label(mut self, label: &str) -> Result<Self> {
        validate_label(label)?;
        self.label = label.to_string();
        Ok(self)
    }

    /// The answer label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The template source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the user message for a pack (its problems in pack order).
    pub fn render(&self, pack: &Pack) -> Result<String> {
        let questions: Vec<(&str, &str)> = pack.problems.iter().map(|p| (p.id.as_str(), p.question.as_str())).collect();
        self.render_problems(&pack.pack_id, &questions)
    }

    /// Renders the user message for `(id, question)` pairs.
    pub fn render_problems(&self, pack_id: &str, problems: &[(&str, &str)]) -> Result<String> {
        if problems.is_empty() {
            return Err(Error::Invalid(format!("pack `{pack_id}` has no problems to put in a prompt")));
        }
        let list: Vec<PromptProblem> = problems.iter().map(|&(id, question)| PromptProblem { id, question }).collect();
        let ctx = context! {
            n => problems.len(),
            label => self.label.as_str(),
            pack_id => pack_id,
            problems => Value::from_serialize(&list),
        };
        let template = self.env.get_template(NAME).map_err(template_error)?;
        template.render(ctx).map_err(template_error)
    }
}

/// Checks an answer label (see [`PromptTemplate::with_label`]).
pub(crate) fn validate_label(label: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Invalid(format!("answer label {label:?} {why}")));
    if label.trim().is_empty() {
        return bad("is empty");
    }
    if label.trim() != label {
        return bad("has leading or trailing whitespace");
    }
    if let Some(c) = label.chars().find(|c| matches!(c, '\\' | '{' | '}' | ':' | '\n' | '\r')) {
        return bad(&format!("contains {c:?}"));
    }
    if label.ends_with(|c: char| c.is_ascii_digit()) {
        return bad("ends with a digit");
    }
    Ok(())
}

fn template_error(err: minijinja::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    Error::Template { name: NAME.into(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Problem;

    fn pack(questions: &[&str]) -> Pack {
        let problems = questions
            .iter()
            .enumerate()
            .map(|(i, q)| Problem {
                id: format!("q{i}"),
                question: q.to_string(),
                answer: "secret-gold".into(),
                difficulty: None,
                source: None,
            })
            .collect();
        Pack::new("pk", problems)
    }

    #[test]
    fn single_problem_is_the_standard_prompt() {
        let text = PromptTemplate::default().render(&pack(&["  What is $1+1$?\n"])).unwrap();
        assert_eq!(text, "What is $1+1$?\nPlease reason step by step, and put your final answer within \\boxed{}.");
    }

    #[test]
    fn three_problems_exact_text() {
        let text = PromptTemplate::default().render(&pack(&["A?", "B?\n\nMore of B.", "C?"])).unwrap();
        assert_eq!(
            text,
            "Solve the following 3 problems. Reason step by step.\n\n\
             ### Problem 1\n\nA?\n\n\
             ### Problem 2\n\nB?\n\nMore of B.\n\n\
             ### Problem 3\n\nC?\n\n\
             End the solution of each problem k with its final answer in the form `Answer k: \\boxed{...}`, \
             from `Answer 1: \\boxed{...}` to `Answer 3: \\boxed{...}`."
        );
        assert!(!text.contains("secret-gold"), "gold answers must never reach the prompt");
    }

    #[test]
    fn label_is_a_parameter() {
        let t = PromptTemplate::default().with_label("Final answer").unwrap();
        let text = t.render(&pack(&["A?", "B?"])).unwrap();
        assert!(text.contains("`Final answer 2: \\boxed{...}`"), "{text}");
        for bad in ["", " Answer", "Ans:", "Answer2", "a\\b", "a{", "two\nlines"] {
            assert!(PromptTemplate::default().with_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn custom_templates_and_their_errors() {
        let t = PromptTemplate::from_source(
            "{{ pack_id }}:{% for p in problems %} [{{ p.id }}] {{ p.question.upper() }}{% endfor %} ({{ n }}, {{ label }})",
        )
        .unwrap();
        assert_eq!(t.render(&pack(&["a?", "b?"])).unwrap(), "pk: [q0] A? [q1] B? (2, Answer)");
        let err = PromptTemplate::from_source("{% for %}").unwrap_err().to_string();
        assert!(err.starts_with("template `prompt`"), "{err}");
        let err = PromptTemplate::default().render(&pack(&[])).unwrap_err().to_string();
        assert!(err.contains("`pk` has no problems"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.jinja");
        std::fs::write(&file, "{{ nope(").unwrap();
        let err = PromptTemplate::from_file(&file).unwrap_err().to_string();
        assert!(err.contains("t.jinja"), "{err}");
    }
}
