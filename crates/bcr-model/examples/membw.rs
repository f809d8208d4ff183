//! Memory read bandwidth of this machine, the ceiling of a batch-1 decode
//! step (which reads every weight once per token): a 1 GiB f32 buffer
//! summed by rayon's threads in chunks of 64 KiB, 256 KiB and 4 MiB, best
//! of 5 passes each.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p bcr-model --example membw
//! ```

use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let n = 256 << 20; // 1 GiB of f32
    let x: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
    println!("threads={} buffer=1 GiB", rayon::current_num_threads());
    for chunk in [16 << 10, 64 << 10, 1 << 20] {
        let mut best = f64::MAX;
        let mut total = 0.0;
        for _ in 0..5 {
            let t = Instant::now();
            // Eight independent partial sums per chunk, so the adds keep up
            // with memory (the compiler vectorises the inner loop).
            total = x
                .par_chunks(chunk)
                .map(|c| {
                    let mut acc = [0f32; 64];
                    for block in c.chunks_exact(64) {
                        for (a, v) in acc.iter_mut().zip(block) {
                            *a += v;
                        }
                    }
                    acc.iter().sum::<f32>()
                })
                .sum::<f32>();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{{\"chunk_bytes\":{},\"read_gb_s\":{:.1},\"checksum\":{total}}}",
            chunk * 4,
            (n * 4) as f64 / best / 1e9
        );
    }
}
