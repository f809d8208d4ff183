//! `bcr grade`: judge `{"gold", "pred"}` pairs with bcr_core's verifier,
//! streaming a JSONL file in chunks graded in parallel and written in order.

use super::lines::LineJob;
use anyhow::Context;
use bcr_core::data::Record;
use bcr_core::Location;
use serde_json::{Map, Value};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Input: one JSON object per line with string fields `gold` and `pred`; `pred` may
be a bare answer or a whole model response (its last \\boxed{} is taken, else
\"final answer is ...\", else the last $...$). Output: each object unchanged plus
\"equivalent\": true|false, in input order. A line whose object lacks `gold` or
`pred` (or has a non-string one) is written with \"equivalent\": false and an
\"error\" field naming the field, and the run goes on; the count is reported on
stderr. A line that is not a JSON object stops the run with exit status 1 and
names the file and line. Blank lines are skipped. Memory stays constant: lines
are read in chunks of 4096, graded on all cores, written in order.

Examples:
  bcr grade --input pairs.jsonl --output graded.jsonl
  echo '{\"gold\": \"\\\\frac12\", \"pred\": \"0.5\"}' | bcr grade --input -
  bcr grade --input pairs.jsonl --threads 1 --output - | grep -c '\"equivalent\":true'";

/// Lines graded per parallel chunk.
const CHUNK: usize = 4096;

/// Flags of `bcr grade`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// JSONL file of {"gold", "pred"} objects (`-` for stdin). Example: --input pairs.jsonl
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Output JSONL file (`-` or absent: stdout). Example: --output graded.jsonl
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (0: all cores). Example: --threads 1
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

/// Counts reported at the end of a run.
#[derive(Debug, Default)]
struct Tally {
    lines: usize,
    equivalent: usize,
    errors: usize,
}

/// Runs `bcr grade`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(args.threads).build().context("starting the grading threads")?;
    let input: Box<dyn Read> = if args.input == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&args.input).with_context(|| format!("{}", args.input.display()))?;
        Box::new(f)
    };
    let mut out = super::prompt::open_output(args.output.as_deref())?;
    let job = LineJob { name: &args.input, chunk: CHUNK, unit: "pairs", pool: &pool };
    let mut tally = Tally::default();
    let name = args.input.as_path();
    job.run(BufReader::new(input), &mut out, |line, no| grade_line(line, name, no), |o| tally.add(o))?;
    eprintln!(
        "graded {} pairs: {} equivalent, {} not, {} could not be graded",
        tally.lines,
        tally.equivalent,
        tally.lines - tally.equivalent - tally.errors,
        tally.errors
    );
    Ok(())
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.lines += 1;
        match outcome {
            Outcome::Equivalent => self.equivalent += 1,
            Outcome::Different => {}
            Outcome::Error => self.errors += 1,
        }
    }
}

enum Outcome {
    Equivalent,
    Different,
    Error,
}

/// Grades one line; the output keeps the input object's text and key order.
fn grade_line(line: &str, name: &Path, no: usize) -> anyhow::Result<(String, Outcome)> {
    let record = Record::parse(line, Location { file: name.to_path_buf(), line: no })?;
    let (extra, outcome) = match (record.string("gold"), record.string("pred")) {
        (Ok(gold), Ok(pred)) => {
            let eq = bcr_core::grade(&gold, &pred);
            let o = if eq { Outcome::Equivalent } else { Outcome::Different };
            (vec![("equivalent", Value::Bool(eq))], o)
        }
        (Err(e), _) | (_, Err(e)) => {
            // The line's own error, without the file and line the output sits beside.
            let message = match e {
                bcr_core::Error::Record { field, message, .. } => format!("field `{field}`: {message}"),
                other => other.to_string(),
            };
            let fields = vec![("equivalent", Value::Bool(false)), ("error", Value::String(message))];
            (fields, Outcome::Error)
        }
    };
    Ok((splice(line, record.into_fields(), &extra), outcome))
}

/// Appends fields before the closing brace of the original text; rebuilds
/// the object only when a field of that name already exists.
fn splice(line: &str, mut obj: Map<String, Value>, extra: &[(&str, Value)]) -> String {
    let body = line.trim_end().strip_suffix('}').map(str::trim_end);
    match body {
        Some(body) if extra.iter().all(|(k, _)| !obj.contains_key(*k)) => {
            let mut out = body.to_string();
            for (k, v) in extra {
                if !out.ends_with('{') {
                    out.push(',');
                }
                out.push_str(&format!("\"{k}\":{v}"));
            }
            out.push('}');
            out.trim_start().to_string()
        }
        _ => {
            for (k, v) in extra {
                obj.insert((*k).to_string(), v.clone());
            }
            Value::Object(obj).to_string()
        }
    }
}
