//! `bcr demo` end to end on the shipped warm start, shrunk to seconds: all
//! three arms train with two seeds each, all seven models are swept, the report, table and plots
//! are written, the same seed gives the same numbers in another directory,
//! and a rerun into the same directory resumes without retraining.

use std::path::{Path, PathBuf};

use bcr_gym::demo::{run_demo, DemoConfig, DemoOptions, Role};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn config(out: &Path) -> DemoConfig {
    let sets: Vec<String> = [
        format!("out={}", out.display()),
        format!("warm_start={}", root().join("assets/demo/warm-start").display()),
        "tasks.train_problems=60".into(),
        "tasks.test_problems=4".into(),
        "eval.ns=[1,2]".into(),
        "eval.budget_per_problem=40".into(),
        "eval.batch=4".into(),
        "train.run.steps=1".into(),
        "train.rollout.group_size=2".into(),
        "train.rollout.packs_per_step=1".into(),
        "train.data.budget=48".into(),
        "seeds=2".into(),
    ]
    .into();
    let mut cfg = DemoConfig::load(&root().join("configs/demo.toml"), false, &sets).unwrap();
    // The arms keep their roles and N but get budgets that fit the test.
    for arm in &mut cfg.arms {
        arm.sets.retain(|s| !s.starts_with("data.budget") && !s.starts_with("rollout.packs_per_step"));
    }
    cfg
}

#[test]
fn demo_trains_evaluates_reports_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = DemoOptions { quiet: true, command: "test".into() };
    let a = tmp.path().join("a");
    let report = run_demo(&config(&a), &opts).unwrap();

    assert_eq!(report.models.len(), 7);
    assert_eq!(report.models[0].name, "warm-start");
    let roles: Vec<_> = report.models[1..].iter().map(|m| (m.role, m.seed)).collect();
    let (bcr, base, lp) = (Some(Role::Bcr), Some(Role::Baseline), Some(Role::LengthPenalty));
    assert_eq!(roles, [(bcr, Some(0)), (bcr, Some(1)), (base, Some(0)), (base, Some(1)), (lp, Some(0)), (lp, Some(1))]);
    for m in &report.models {
        let ns: Vec<usize> = m.summary.rows.iter().filter(|r| r.responses > 0).map(|r| r.n).collect();
        assert_eq!(ns, [1, 2], "{}", m.name);
        assert!(m.summary.rows.iter().all(|r| r.problems == 4 && r.tokens_per_problem > 0.0), "{}", m.name);
        if m.role.is_some() {
            assert_eq!(m.training.as_ref().unwrap().steps, 1, "{}", m.name);
            assert!(a.join(&m.name).join("model/model.safetensors").exists());
        }
    }
    assert_eq!(report.findings.len(), 5);
    assert_eq!(report.seed_findings.len(), 2);
    // Two seeds sample two different rollouts.
    let rollouts = |run: &str| std::fs::read_to_string(a.join(run).join("samples.jsonl")).unwrap();
    assert!(rollouts("bcr-n3-s0") != rollouts("bcr-n3-s1"), "seeds 0 and 1 sampled the same responses");
    for file in ["report.md", "summary.json", "scaling.svg", "scaling.png", "config.toml"] {
        let len = std::fs::metadata(a.join(file)).unwrap().len();
        assert!(len > 100, "{file}: {len} bytes");
    }
    let md = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(md.contains("| BCR N=3 |") && md.contains("BCR N=3 (seed 1)") && md.contains("Free lunch"), "{md}");
    assert!(md.contains("Redundant reflections per problem"), "{md}");

    // Same seed, same numbers, in another directory, reached by adding a
    // seed to a one-seed run (which keeps its finished seed).
    let stamp = |p: PathBuf| std::fs::metadata(p).unwrap().modified().unwrap();
    let b = tmp.path().join("b");
    let mut one = config(&b);
    one.seeds = 1;
    run_demo(&one, &opts).unwrap();
    let first = stamp(b.join("bcr-n3-s0/model/model.safetensors"));
    let again = run_demo(&config(&b), &opts).unwrap();
    assert_eq!(first, stamp(b.join("bcr-n3-s0/model/model.safetensors")));
    let key = |m: &bcr_gym::demo::ModelResult| {
        m.summary.rows.iter().map(|r| (r.n, r.accuracy, r.tokens_per_problem)).collect::<Vec<_>>()
    };
    for (x, y) in report.models.iter().zip(&again.models) {
        assert_eq!(key(x), key(y), "{}", x.name);
    }

    // A rerun resumes: nothing is retrained, the numbers stay.
    let before = stamp(a.join("bcr-n3-s0/model/model.safetensors"));
    let resumed = run_demo(&config(&a), &opts).unwrap();
    assert_eq!(before, stamp(a.join("bcr-n3-s0/model/model.safetensors")));
    assert_eq!(key(&resumed.models[1]), key(&report.models[1]));

    // Another config into the same directory is refused; fewer seeds too.
    let mut other = config(&a);
    other.seed = 7;
    let err = run_demo(&other, &opts).unwrap_err().to_string();
    assert!(err.contains("different config"), "{err}");
    let mut fewer = config(&a);
    fewer.seeds = 1;
    let err = run_demo(&fewer, &opts).unwrap_err().to_string();
    assert!(err.contains("different config"), "{err}");
}
