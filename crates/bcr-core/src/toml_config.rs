//! TOML configs (`bcr train`, `bcr sft`, `bcr demo`): parsing with errors
//! that name `FILE:LINE` ([`parse_toml`]), and `--set key=value` overrides
//! ([`apply_overrides`]), one strict implementation for every command.
//!
//! The config is serialised to a TOML tree in which every key exists (every
//! default is written out), so an override is checked before it is applied:
//! the dotted key must name an existing leaf (otherwise the error names the
//! key and the nearest valid one), and the value, parsed as a TOML value
//! (`0.5`, `true`, `[3, 4]`, `"x"`, or a bare word taken as a string), must
//! have the leaf's type. Integers are accepted where a float is expected.
//! The tree is then deserialised back, so the config's own checks (enum
//! spellings, unknown fields) run as for a file.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use toml::Value;

use crate::{Error, Result};

/// Parses the TOML text of a config; errors read `ORIGIN:LINE: why` (unknown
/// keys are refused when `T` denies them).
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let line =
            e.span().map(|s| 1 + text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count());
        let at = line.map_or_else(|| origin.to_string(), |l| format!("{origin}:{l}"));
        Error::Config { at, message: e.message().trim().to_string() }
    })
}

/// Reads and parses the config file `path`, then applies `sets` in order.
pub fn load_toml<T: Serialize + DeserializeOwned>(path: &Path, sets: &[String]) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    apply_overrides(&parse_toml::<T>(&text, &path.display().to_string())?, sets)
}

/// Applies `KEY=VALUE` overrides to `config` in order; the first bad one is
/// the error, as `--set KEY=VALUE: why`.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Cfg { steps: usize, lr: f64 }
/// let c = bcr_core::apply_overrides(&Cfg { steps: 1, lr: 0.1 }, &["lr=1".to_string()]).unwrap();
/// assert_eq!(c.lr, 1.0);
/// let err = bcr_core::apply_overrides(&c, &["step=3".to_string()]).err().unwrap().to_string();
/// assert!(err.contains("unknown key `step`") && err.contains("did you mean `steps`"), "{err}");
/// ```
pub fn apply_overrides<T: Serialize + DeserializeOwned>(config: &T, sets: &[String]) -> Result<T> {
    let mut tree = Value::try_from(config).map_err(|e| Error::Invalid(format!("config as TOML: {e}")))?;
    for set in sets {
        let bad = |message: String| Error::Config { at: format!("--set {set}"), message };
        let (key, raw) =
            set.split_once('=').ok_or_else(|| bad("expected KEY=VALUE, e.g. --set rollout.group_size=8".into()))?;
        let (key, raw) = (key.trim(), raw.trim());
        let leaves = leaf_keys(&tree);
        let slot = leaf_mut(&mut tree, key, &leaves).map_err(bad)?;
        *slot = convert(slot, raw).map_err(|m| bad(format!("{key}: {m}")))?;
        tree =
            Value::try_from(tree.clone().try_into::<T>().map_err(|e| bad(format!("{key}: {}", e.message().trim())))?)
                .map_err(|e| bad(e.to_string()))?;
    }
    tree.try_into::<T>().map_err(|e| Error::Config { at: "--set".into(), message: e.message().trim().to_string() })
}

/// Every leaf of the tree as a dotted key.
fn leaf_keys(tree: &Value) -> Vec<String> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Table(t) => t.iter().for_each(|(k, v)| walk(v, &join(prefix, k), out)),
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

/// The leaf at a dotted key.
fn leaf_mut<'a>(tree: &'a mut Value, key: &str, leaves: &[String]) -> std::result::Result<&'a mut Value, String> {
    let unknown = || match nearest(key, leaves) {
        Some(near) => format!("unknown key `{key}`; did you mean `{near}`?"),
        None => format!("unknown key `{key}`"),
    };
    let mut node = tree;
    let mut prefix = String::new();
    for part in key.split('.') {
        let Value::Table(table) = node else { return Err(unknown()) };
        prefix = join(&prefix, part);
        node = table.get_mut(part).ok_or_else(unknown)?;
    }
    if let Value::Table(table) = node {
        let valid: Vec<String> = table.keys().map(|k| join(&prefix, k)).collect();
        return Err(format!("`{key}` is a table; set one of: {}", valid.join(", ")));
    }
    Ok(node)
}

/// The valid key closest to `key` by edit distance, if any is reasonably close.
fn nearest<'a>(key: &str, leaves: &'a [String]) -> Option<&'a str> {
    let best = leaves.iter().map(|l| (edit_distance(key, l), l)).min()?;
    (best.0 <= key.len().max(4) / 2 + 2).then_some(best.1.as_str())
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diag + usize::from(ca != cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Parses `raw` as a TOML value of the same type as `old`.
fn convert(old: &Value, raw: &str) -> std::result::Result<Value, String> {
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v"));
    match (old, parsed) {
        (Value::String(_), Some(Value::String(s))) => Ok(Value::String(s)),
        (Value::String(_), _) => Ok(Value::String(raw.to_string())),
        (Value::Float(_), Some(Value::Integer(i))) => Ok(Value::Float(i as f64)),
        (Value::Array(items), Some(Value::Array(new))) => match items.first() {
            Some(first) => {
                new.iter().map(|v| convert(first, &v.to_string())).collect::<Result<_, _>>().map(Value::Array)
            }
            None => Ok(Value::Array(new)),
        },
        (old, Some(new)) if old.same_type(&new) => Ok(new),
        (old, found) => Err(format!(
            "expected {}, found {}",
            describe(old),
            found.map_or_else(|| format!("{raw:?} (not a TOML value)"), |v| describe(&v))
        )),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Array(items) => match items.first() {
            Some(first) => format!("an array of {} like {v}", v_type(first)),
            None => "an array".into(),
        },
        other => format!("{} (e.g. {other})", v_type(other)),
    }
}

fn v_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        group_size: usize,
        lr: f64,
        ns: Vec<usize>,
        path: String,
        on: bool,
        mode: crate::BudgetMode,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        seed: u64,
        rollout: Inner,
    }

    fn cfg() -> Cfg {
        let rollout =
            Inner { group_size: 8, lr: 0.1, ns: vec![3], path: "x".into(), on: true, mode: crate::BudgetMode::Total };
        Cfg { seed: 0, rollout }
    }

    fn set(sets: &[&str]) -> Result<Cfg> {
        apply_overrides(&cfg(), &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn typed_overrides_apply_in_order() {
        let c = set(&[
            "rollout.group_size=4",
            "rollout.lr=1",
            "rollout.lr = 3e-4",
            "rollout.ns=[3, 4, 5]",
            "rollout.path=/tmp/x model.gguf",
            "rollout.on=false",
            "rollout.mode=per-problem",
            "seed=7",
        ])
        .unwrap();
        assert_eq!(c.rollout.group_size, 4);
        assert_eq!(c.rollout.lr, 3e-4);
        assert_eq!(c.rollout.ns, vec![3, 4, 5]);
        assert_eq!(c.rollout.path, "/tmp/x model.gguf");
        assert!(!c.rollout.on);
        assert_eq!(c.rollout.mode, crate::BudgetMode::PerProblem);
        assert_eq!(c.seed, 7);
        assert_eq!(set(&[]).unwrap(), cfg());
    }

    #[test]
    fn bad_overrides_name_the_key_and_the_nearest_one() {
        let cases: &[(&str, &str)] = &[
            ("rollout.groupsize=4", "unknown key `rollout.groupsize`; did you mean `rollout.group_size`?"),
            ("seeds=1", "did you mean `seed`?"),
            ("nope.entirely.different=1", "unknown key `nope.entirely.different`"),
            ("rollout=4", "is a table; set one of: rollout.group_size"),
            ("seed.x=4", "unknown key `seed.x`"),
            ("rollout.group_size=four", "expected an integer"),
            ("rollout.group_size=4.5", "expected an integer"),
            ("rollout.lr=true", "expected a float"),
            ("rollout.ns=3", "expected an array of an integer"),
            ("rollout.ns=[3, \"x\"]", "expected an integer"),
            ("rollout.mode=per-token", "unknown budget mode `per-token`"),
            ("rollout.group_size=-1", "rollout.group_size"),
            ("rollout.group_size", "expected KEY=VALUE"),
        ];
        for (s, want) in cases {
            let msg = set(&[s]).unwrap_err().to_string();
            assert!(msg.contains(want), "{s}: {msg}");
            assert!(msg.starts_with(&format!("--set {s}")), "{s}: {msg}");
        }
        assert!(!set(&["nope.entirely.different=1"]).unwrap_err().to_string().contains("did you mean"));
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let text = "seed = 1\n\n[rollout]\ngroup_size = \"x\"\n";
        let err = parse_toml::<Cfg>(text, "c.toml").unwrap_err().to_string();
        assert!(err.starts_with("c.toml:4: "), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml::to_string(&cfg()).unwrap()).unwrap();
        let c: Cfg = load_toml(&path, &["seed=9".to_string()]).unwrap();
        assert_eq!(c.seed, 9);
        assert!(load_toml::<Cfg>(&dir.path().join("none.toml"), &[]).is_err());
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
