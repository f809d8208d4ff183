//! The native schemas and how each maps to a [`Problem`].
//!
//! | format | question | gold answer | difficulty | id |
//! |---|---|---|---|---|
//! | `problems` | `question` | `answer` | `difficulty`? | `id` |
//! | `math500` | `problem` | `answer` | `level` (1-5, or `"Level 3"`) | `unique_id` |
//! | `aime`, `amc` | `problem` (else `question`) | `answer`: string, integer, or float (`27.0` -> `27`) | - | `id` |
//! | `gsm8k` | `question` | text after the last `####` of `answer`, trimmed, verbatim (`1,450,000` stays) | - | `idx`/`id` |
//! | `minerva` | `problem` | content of the last `\boxed{}` of `solution` (nested braces) | - | `idx`/`id` |
//! | `olympiadbench` | `question` | `final_answer` (see below) | - | `id` |
//! | `deepmath` | `question` | `final_answer` | `difficulty` (required) | - |
//!
//! Where a schema has no id field (or the record lacks it) the id is
//! `<source>-<line>` (`<source>-<row>` for Parquet), `source` being the file
//! stem. `aime` and `amc` are one mapping under two names.
//!
//! OlympiadBench's `final_answer` is a list of answers: a JSON array of strings,
//! or the same list written as a string in Python's notation
//! (`"['$x=5$', '$y$']"`, where `\\` stands for one backslash). Each item
//! loses its `$` math delimiters (an escaped `\$` stays) and is trimmed; several
//! items are joined with `", "` into one gold answer (`x=5, y`). The `unit`
//! field is not appended: units are graded away.
//!
//! Detection (`Format::Auto`) looks at the field names of the first record
//! (the column names for Parquet), first rule that matches:
//! 1. `final_answer` and `difficulty` -> `deepmath`;
//! 2. `final_answer` -> `olympiadbench`;
//! 3. `problem` and `level` -> `math500`;
//! 4. `problem` and `solution` but no `answer` -> `minerva`;
//! 5. `problem` and `answer` -> `aime`;
//! 6. `question`, `answer` and `id` -> `problems`;
//! 7. `question` and `answer` -> `gsm8k`.

use super::fields::{describe, Site};
use crate::{Error, Problem, Result};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// A dataset schema (see the module table), or `Auto` to detect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Detect from the field names of the first record.
    #[default]
    Auto,
    /// bcr's own Problem JSONL: `id`, `question`, `answer`, `difficulty`?, `source`?.
    Problems,
    /// MATH-500: `problem`, `answer`, `level`, `unique_id`.
    Math500,
    /// AIME: `problem`, `answer` (string or integer), `id`.
    Aime,
    /// AMC: `problem`, `answer` (a float like `27.0`), `id`. Same mapping as `Aime`.
    Amc,
    /// GSM8K: `question`, `answer` with the gold after `####`.
    Gsm8k,
    /// Minerva: `problem`, gold = last `\boxed{}` of `solution`.
    Minerva,
    /// OlympiadBench: `question`, `final_answer` (a list, or a list written as a string).
    OlympiadBench,
    /// DeepMath-103K: `question`, `final_answer`, `difficulty`.
    DeepMath,
}

impl Format {
    /// Every format, `Auto` first.
    pub const ALL: [Format; 9] = [
        Format::Auto,
        Format::Problems,
        Format::Math500,
        Format::Aime,
        Format::Amc,
        Format::Gsm8k,
        Format::Minerva,
        Format::OlympiadBench,
        Format::DeepMath,
    ];

    /// The name used on the command line (`olympiadbench`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Problems => "problems",
            Format::Math500 => "math500",
            Format::Aime => "aime",
            Format::Amc => "amc",
            Format::Gsm8k => "gsm8k",
            Format::Minerva => "minerva",
            Format::OlympiadBench => "olympiadbench",
            Format::DeepMath => "deepmath",
        }
    }

    /// Detects the format from a record's field names (rules in the module doc).
    pub fn detect(has: impl Fn(&str) -> bool) -> Option<Format> {
        let rules: [(&[&str], &[&str], Format); 7] = [
            (&["final_answer", "difficulty"], &[], Format::DeepMath),
            (&["final_answer"], &[], Format::OlympiadBench),
            (&["problem", "level"], &[], Format::Math500),
            (&["problem", "solution"], &["answer"], Format::Minerva),
            (&["problem", "answer"], &[], Format::Aime),
            (&["question", "answer", "id"], &[], Format::Problems),
            (&["question", "answer"], &[], Format::Gsm8k),
        ];
        rules
            .iter()
            .find(|(need, absent, _)| need.iter().all(|f| has(f)) && !absent.iter().any(|f| has(f)))
            .map(|rule| rule.2)
    }

    /// The fields this format reads (the Parquet column projection).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn fields(self) -> &'static [&'static str] {
        match self {
            Format::Auto => &[],
            Format::Problems => &["id", "question", "answer", "difficulty", "source"],
            Format::Math500 => &["problem", "answer", "level", "unique_id"],
            Format::Aime | Format::Amc => &["problem", "question", "answer", "id"],
            Format::Gsm8k => &["question", "answer", "idx", "id"],
            Format::Minerva => &["problem", "solution", "idx", "id"],
            Format::OlympiadBench => &["question", "final_answer", "id"],
            Format::DeepMath => &["question", "final_answer", "difficulty"],
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL.into_iter().find(|f| f.name() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            Error::Invalid(format!("unknown format `{s}`; expected one of {}", names.join(", ")))
        })
    }
}

/// Maps one record of `format` (never `Auto`) to a [`Problem`].
pub(crate) fn to_problem(format: Format, obj: &Map<String, Value>, site: &Site, source: &str) -> Result<Problem> {
    let src = Some(source.to_string());
    let p = match format {
        Format::Auto => return Err(site.err("-", "internal: format must be resolved before mapping")),
        Format::Problems => Problem {
            id: site.id_required(obj)?,
            question: site.string(obj, "question")?,
            answer: site.answer(obj, "answer")?,
            difficulty: site.opt_number(obj, "difficulty")?,
            source: site.opt_string(obj, "source")?,
        },
        Format::Math500 => Problem {
            id: site.id(obj, &["unique_id", "id"], source)?,
            question: site.string(obj, "problem")?,
            answer: site.answer(obj, "answer")?,
            difficulty: Some(level(obj, site)?),
            source: src,
        },
        Format::Aime | Format::Amc => Problem {
            id: site.id(obj, &["id"], source)?,
            question: site.string_of(obj, &["problem", "question"])?,
            answer: site.answer(obj, "answer")?,
            difficulty: None,
            source: src,
        },
        Format::Gsm8k => Problem {
            id: site.id(obj, &["idx", "id"], source)?,
            question: site.string(obj, "question")?,
            answer: gsm8k_gold(&site.string(obj, "answer")?).ok_or_else(|| {
                site.err("answer", "no gold answer after a `####` marker (is this GSM8K? use --format)")
            })?,
            difficulty: None,
            source: src,
        },
        Format::Minerva => Problem {
            id: site.id(obj, &["idx", "id"], source)?,
            question: site.string(obj, "problem")?,
            answer: super::boxed::last_boxed(&site.string(obj, "solution")?)
                .map(|s| s.trim().to_string())
                .ok_or_else(|| site.err("solution", "no complete `\\boxed{...}` to take the gold answer from"))?,
            difficulty: None,
            source: src,
        },
        Format::OlympiadBench => Problem {
            id: site.id(obj, &["id"], source)?,
            question: site.string(obj, "question")?,
            answer: super::olympiad::olympiad_gold(site.get(obj, "final_answer")?, site)?,
            difficulty: None,
            source: src,
        },
        Format::DeepMath => Problem {
            id: site.id(obj, &["id"], source)?,
            question: site.string(obj, "question")?,
            answer: site.answer(obj, "final_answer")?,
            difficulty: Some(site.number(obj, "difficulty")?),
            source: src,
        },
    };
    check_nonempty(&p, format, site)?;
    Ok(p)
}

impl Site<'_> {
    /// A required `id` (bcr's own format has no fallback id).
    fn id_required(&self, obj: &Map<String, Value>) -> Result<String> {
        self.get(obj, "id")?;
        self.id(obj, &["id"], "")
    }
}

/// Question and gold answer must not be blank.
fn check_nonempty(p: &Problem, format: Format, site: &Site) -> Result<()> {
    let (q_field, a_field) = match format {
        Format::Problems | Format::Gsm8k => ("question", "answer"),
        Format::OlympiadBench | Format::DeepMath => ("question", "final_answer"),
        Format::Minerva => ("problem", "solution"),
        _ => ("problem", "answer"),
    };
    if p.question.trim().is_empty() {
        return Err(site.err(q_field, "the question is empty"));
    }
    if p.answer.trim().is_empty() {
        return Err(site.err(a_field, "the gold answer is empty"));
    }
    Ok(())
}

/// MATH's `level`: an integer 1-5, or the original dataset's `"Level 3"`.
fn level(obj: &Map<String, Value>, site: &Site) -> Result<f64> {
    match site.get(obj, "level")? {
        Value::Number(_) => site.number(obj, "level"),
        Value::String(s) => s
            .trim()
            .trim_start_matches("Level")
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| site.err("level", format!("expected a number or \"Level K\", found {s:?}"))),
        other => Err(site.err("level", format!("expected a number, found {}", describe(other)))),
    }
}

/// GSM8K's gold: the trimmed text after the last `####`.
pub(crate) fn gsm8k_gold(answer: &str) -> Option<String> {
    let (_, gold) = answer.rsplit_once("####")?;
    let gold = gold.trim();
    (!gold.is_empty()).then(|| gold.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_native_schema() {
        let cases: &[(&[&str], Option<Format>)] = &[
            (&["question", "final_answer", "difficulty", "topic"], Some(Format::DeepMath)),
            (&["id", "question", "final_answer", "unit"], Some(Format::OlympiadBench)),
            (&["problem", "answer", "level", "unique_id"], Some(Format::Math500)),
            (&["problem", "solution", "type", "idx"], Some(Format::Minerva)),
            (&["id", "problem", "question", "solution", "answer"], Some(Format::Aime)),
            (&["problem", "answer", "id"], Some(Format::Aime)),
            (&["id", "question", "answer", "difficulty"], Some(Format::Problems)),
            (&["question", "answer", "idx"], Some(Format::Gsm8k)),
            (&["prompt", "response"], None),
            (&[], None),
        ];
        for (fields, want) in cases {
            assert_eq!(Format::detect(|f| fields.contains(&f)), *want, "fields {fields:?}");
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().ok(), Some(f));
        }
        assert_eq!(" OlympiadBench ".parse::<Format>().ok(), Some(Format::OlympiadBench));
        let err = "csv".parse::<Format>().map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("`csv`") && err.contains("deepmath"), "{err}");
    }

    #[test]
    fn gsm8k_gold_is_the_text_after_the_last_marker() {
        let cases = [
            ("so 18\n#### 18", Some("18")),
            ("#### 1,450,000 ", Some("1,450,000")),
            ("a #### 1\n#### 2", Some("2")),
            ("no marker", None),
            ("#### ", None),
        ];
        for (text, want) in cases {
            assert_eq!(gsm8k_gold(text).as_deref(), want, "input {text:?}");
        }
    }
}
