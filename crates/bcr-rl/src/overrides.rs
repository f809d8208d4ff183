//! `--set key=value` overrides of a [`TrainConfig`].
//!
//! The config is turned into a TOML tree in which every key exists (every
//! default is written out), so an override can be checked before it is
//! applied: the dotted key must name an existing leaf (otherwise the error
//! lists the valid keys of that table), and the value, parsed as a TOML value
//! (`0.5`, `true`, `[3, 4]`, `"x"` or a bare word taken as a string), must
//! have the leaf's type. Integers are accepted where a float is expected.

use toml::Value;

use crate::config::TrainConfig;
use crate::error::{Error, Result};

/// Applies `key=value` overrides in order; the first bad one is the error.
pub fn apply(config: &TrainConfig, sets: &[String]) -> Result<TrainConfig> {
    let mut out = config.clone();
    for set in sets {
        out = apply_one(&out, set)?;
    }
    Ok(out)
}

fn apply_one(config: &TrainConfig, set: &str) -> Result<TrainConfig> {
    let at = format!("--set {set}");
    let (key, raw) =
        set.split_once('=').ok_or_else(|| Error::config(&at, "expected KEY=VALUE, e.g. --set rollout.group_size=8"))?;
    let (key, raw) = (key.trim(), raw.trim());
    let mut tree = Value::try_from(config).map_err(|e| Error::config(&at, e.to_string()))?;
    let slot = leaf_mut(&mut tree, key).map_err(|m| Error::config(&at, m))?;
    *slot = convert(slot, raw).map_err(|m| Error::config(&at, format!("{key}: {m}")))?;
    tree.try_into::<TrainConfig>().map_err(|e| Error::config(&at, format!("{key}: {}", e.message().trim())))
}

/// The leaf at a dotted key; the error lists the valid keys of the table
/// where the walk stopped.
fn leaf_mut<'a>(tree: &'a mut Value, key: &str) -> std::result::Result<&'a mut Value, String> {
    let mut node = tree;
    let mut prefix = String::new();
    for part in key.split('.') {
        let Value::Table(table) = node else {
            return Err(format!("unknown key `{key}`: `{prefix}` is not a table"));
        };
        if !table.contains_key(part) {
            let valid: Vec<String> = table.keys().map(|k| join(&prefix, k)).collect();
            return Err(format!("unknown key `{key}`; valid keys here: {}", valid.join(", ")));
        }
        prefix = join(&prefix, part);
        node = table.get_mut(part).ok_or_else(|| format!("unknown key `{key}`"))?;
    }
    if let Value::Table(table) = node {
        let valid: Vec<String> = table.keys().map(|k| join(&prefix, k)).collect();
        return Err(format!("`{key}` is a table; set one of: {}", valid.join(", ")));
    }
    Ok(node)
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
        (Value::Array(items), Some(Value::Array(new))) => {
            if let Some(first) = items.first() {
                let converted: std::result::Result<Vec<Value>, String> =
                    new.iter().map(|v| convert(first, &v.to_string())).collect();
                return converted.map(Value::Array);
            }
            Ok(Value::Array(new))
        }
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
    use crate::config::{AdvantageKind, LossAgg};

    fn set(sets: &[&str]) -> Result<TrainConfig> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        apply(&TrainConfig::default(), &sets)
    }

    #[test]
    fn typed_overrides_apply() {
        let c = set(&[
            "rollout.group_size=4",
            "optim.lr=1",
            "optim.lr = 3e-4",
            "algo.advantage=drgrpo",
            "algo.loss_agg=\"seq-mean-token-mean\"",
            "data.n=[3, 4, 5]",
            "model.path=/tmp/x model.gguf",
            "algo.filter_equal_groups=false",
            "optim.betas=[0.9, 0.95]",
        ])
        .unwrap();
        assert_eq!(c.rollout.group_size, 4);
        assert_eq!(c.optim.lr, 3e-4);
        assert_eq!(c.algo.advantage, AdvantageKind::Drgrpo);
        assert_eq!(c.algo.loss_agg, LossAgg::SeqMeanTokenMean);
        assert_eq!(c.data.n, vec![3, 4, 5]);
        assert_eq!(c.model.path, "/tmp/x model.gguf");
        assert!(!c.algo.filter_equal_groups);
        assert_eq!(c.optim.betas, [0.9, 0.95]);
    }

    #[test]
    fn bad_overrides_say_why() {
        let cases: &[(&str, &str)] = &[
            ("rollout.groupsize=4", "valid keys here: rollout.group_size"),
            ("nope.x=1", "valid keys here: algo, data"),
            ("rollout=4", "is a table"),
            ("rollout.group_size=four", "expected an integer"),
            ("rollout.group_size=4.5", "expected an integer"),
            ("optim.lr=true", "expected a float"),
            ("data.n=3", "expected an array of an integer"),
            ("data.n=[3, \"x\"]", "expected an integer"),
            ("algo.advantage=ppo", "unknown variant `ppo`"),
            ("rollout.group_size=-1", "rollout.group_size"),
            ("rollout.group_size", "expected KEY=VALUE"),
        ];
        for (s, want) in cases {
            let msg = set(&[s]).unwrap_err().to_string();
            assert!(msg.contains(want), "{s}: {msg}");
            assert!(msg.starts_with("--set "), "{s}: {msg}");
        }
    }
}
