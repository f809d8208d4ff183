//! The shipped warm start (`assets/demo/warm-start`, rebuilt by
//! `bcr sft --config configs/demo-sft.toml`): it loads like any HF model
//! directory, its config is the one in `configs/demo-sft.toml`, and under
//! seeded sampling at temperature 1 it follows the answer format on held-out gym packs.

use std::path::PathBuf;

use bcr_gym::check::{check_model, CheckOptions};
use bcr_gym::sft::SftConfig;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn shipped_warm_start_matches_its_config_and_answers_in_format() {
    let cfg = SftConfig::load(&root().join("configs/demo-sft.toml"), &[]).unwrap();
    let dir = root().join(&cfg.output);
    let model = bcr_model::Model::load(&dir.to_string_lossy(), &bcr_model::LoadOptions::default()).unwrap();
    let mc = model.lm.config();
    assert_eq!(
        (mc.hidden_size, mc.num_hidden_layers, mc.vocab_size),
        (cfg.model.hidden_size, cfg.model.num_layers, cfg.data.vocab_size)
    );
    // Measured on 48 problems (docs/demo.md): format 0.938 at N=1, 0.688 at N=3.
    for (n, min_format) in [(1, 0.6), (3, 0.3)] {
        let opts = CheckOptions {
            n,
            packs: 6,
            budget_per_problem: 320,
            temperature: 1.0,
            seed: 0,
            batch: 6,
            max_difficulty: 3,
        };
        let r = check_model(&model, &opts).unwrap();
        assert_eq!(r.packs, 6);
        assert!(r.format >= min_format, "N={n}: {r:?}");
    }
}
