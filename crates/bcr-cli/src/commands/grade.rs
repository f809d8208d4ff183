//! `bcr grade`: judge `{"gold", "pred"}` pairs with bcr_core's verifier,
//! streaming a JSONL file in chunks graded in parallel and written in order.

use anyhow::{bail, Context};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
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
    let output: Box<dyn Write> = match &args.output {
        Some(p) if p != Path::new("-") => {
            let f = super::create_output(p)?;
            Box::new(f)
        }
        _ => Box::new(std::io::stdout().lock()),
    };
    let tally = grade_stream(BufReader::new(input), BufWriter::new(output), &args.input, &pool)?;
    eprintln!(
        "graded {} pairs: {} equivalent, {} not, {} could not be graded",
        tally.lines,
        tally.equivalent,
        tally.lines - tally.equivalent - tally.errors,
        tally.errors
    );
    Ok(())
}

fn grade_stream(
    mut input: impl BufRead,
    mut out: impl Write,
    name: &Path,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Tally> {
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("grading");
        bar
    });
    let mut tally = Tally::default();
    let mut line_no = 0usize;
    let mut chunk: Vec<(usize, String)> = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        while chunk.len() < CHUNK {
            let mut buf = Vec::new();
            let n = input.read_until(b'\n', &mut buf).with_context(|| format!("{}", name.display()))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let text = String::from_utf8(buf)
                .map_err(|_| anyhow::anyhow!("{}:{line_no}: field `-`: invalid UTF-8", name.display()))?;
            if !text.trim().is_empty() {
                chunk.push((line_no, text));
            }
        }
        if chunk.is_empty() {
            break;
        }
        let graded: Vec<anyhow::Result<(String, Outcome)>> =
            pool.install(|| chunk.par_iter().map(|(no, line)| grade_line(line, name, *no)).collect());
        for g in graded {
            let (text, outcome) = g?;
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            tally.lines += 1;
            match outcome {
                Outcome::Equivalent => tally.equivalent += 1,
                Outcome::Different => {}
                Outcome::Error => tally.errors += 1,
            }
        }
        if let Some(bar) = &progress {
            bar.set_position(tally.lines as u64);
        }
    }
    out.flush()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(tally)
}

enum Outcome {
    Equivalent,
    Different,
    Error,
}

/// Grades one line; the output keeps the input object's text and key order.
fn grade_line(line: &str, name: &Path, no: usize) -> anyhow::Result<(String, Outcome)> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{}:{no}: field `-`: not JSON: {e}", name.display()))?;
    let Value::Object(obj) = value else {
        bail!("{}:{no}: field `-`: expected a JSON object", name.display());
    };
    let field = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(format!("field `{k}`: expected a string, found {}", kind(other))),
        None => Err(format!("missing field `{k}`")),
    };
    let (extra, outcome) = match (field("gold"), field("pred")) {
        (Ok(gold), Ok(pred)) => {
            let eq = bcr_core::grade(gold, pred);
            let o = if eq { Outcome::Equivalent } else { Outcome::Different };
            (vec![("equivalent", Value::Bool(eq))], o)
        }
        (Err(e), _) | (_, Err(e)) => {
            let fields = vec![("equivalent", Value::Bool(false)), ("error", Value::String(e))];
            (fields, Outcome::Error)
        }
    };
    Ok((splice(line, obj, &extra), outcome))
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

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
