//! Verifier benchmark driver (used by `bench/verifier/run.sh`): grades every
//! `{"gold", "pred"}` line of a corpus on one thread, timing each pair
//! in-process, and writes one verdict per line plus a JSON summary on stdout.
//!
//! Usage: grade_bench CORPUS.jsonl VERDICTS.jsonl [REPEATS]

use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(corpus), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: grade_bench CORPUS.jsonl VERDICTS.jsonl [REPEATS]".into());
    };
    let repeats: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let text = std::fs::read_to_string(&corpus)?;
    let mut pairs = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let field = |f: &str| {
            v[f].as_str().map(str::to_owned).ok_or_else(|| format!("{corpus}:{}: field `{f}`: not a string", k + 1))
        };
        pairs.push((field("gold")?, field("pred")?));
    }
    // Warm-up pass (page faults, allocator), then timed passes: the latency of
    // a pair is its median over `repeats` runs, throughput is from the total.
    let verdicts: Vec<bool> = pairs.iter().map(|(g, p)| bcr_core::grade(g, p)).collect();
    let mut times = vec![Vec::with_capacity(repeats); pairs.len()];
    let mut total = 0.0;
    for _ in 0..repeats {
        let start = Instant::now();
        for (k, (g, p)) in pairs.iter().enumerate() {
            let t = Instant::now();
            let v = std::hint::black_box(bcr_core::grade(g, p));
            times[k].push(t.elapsed().as_secs_f64());
            if v != verdicts[k] {
                return Err(format!("pair {k}: verdict changed between runs").into());
            }
        }
        total += start.elapsed().as_secs_f64();
    }
    let best: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t.get(t.len() / 2).copied().unwrap_or(0.0)
        })
        .collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out)?);
    for (v, t) in verdicts.iter().zip(&best) {
        writeln!(f, "{{\"equivalent\":{v},\"seconds\":{t:e}}}")?;
    }
    f.flush()?;
    let mut sorted = best.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let n = (pairs.len() * repeats) as f64;
    println!(
        "{{\"pairs\":{},\"pairs_per_s\":{:.1},\"p50_us\":{:.2},\"p99_us\":{:.2},\"max_us\":{:.2}}}",
        pairs.len(),
        n / total,
        q(0.5) * 1e6,
        q(0.99) * 1e6,
        q(1.0) * 1e6
    );
    Ok(())
}
