//! Canonical JSON for signing: keys sorted by byte order at every level, `null`, `""`, `{}` and
//! `[]` pruned (also inside arrays, and objects/arrays that become empty after pruning), compact,
//! non-ASCII left unescaped. Key order is produced here, never inherited from `serde_json::Map`,
//! so a dependency switching on serde_json's `preserve_order` cannot change our signatures.

use serde_json::Value;

/// How JSON numbers enter the sign string: as literals (Python/TS peers) or as strings (the
/// official Java SDK's `stringValue=true`). The province's SDK decides; it is a profile knob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStyle {
    #[default]
    Literal,
    String,
}

/// The pruned copy of `v`, or `None` when `v` itself is empty.
pub fn prune(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(prune).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        Value::Object(map) => {
            let kept: serde_json::Map<String, Value> =
                map.iter().filter_map(|(k, v)| prune(v).map(|p| (k.clone(), p))).collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other.clone()),
    }
}

/// Compact JSON with sorted keys (no pruning: call [`prune`] first when wanted).
pub fn to_sorted_json(v: &Value, numbers: NumberStyle) -> String {
    let mut out = String::new();
    write_sorted(v, numbers, &mut out);
    out
}

fn write_sorted(v: &Value, numbers: NumberStyle, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(k));
                out.push(':');
                write_sorted(&map[k], numbers, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, numbers, out);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&quote(s)),
        Value::Number(n) => match numbers {
            NumberStyle::Literal => out.push_str(&n.to_string()),
            NumberStyle::String => out.push_str(&quote(&n.to_string())),
        },
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

/// JSON string literal; serde_json escapes only what JSON requires (not non-ASCII, not '/').
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The cleaned `data` JSON: pruned, sorted, compact. Empty data becomes "{}".
pub fn canonical_data(data: &Value, numbers: NumberStyle) -> String {
    prune(data).map(|d| to_sorted_json(&d, numbers)).unwrap_or_else(|| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edge_case_vector() {
        let data = json!({"emptyString":"","nullValue":null,"emptyDict":{},"emptyList":[],
            "nested":{"b":2,"a":1,"deep":{"z":"","y":[1,"",null,{"k":"值"}]}},
            "boolTrue":true,"boolFalse":false,"number":123,"chinese":"高平市人民医院"});
        assert_eq!(
            canonical_data(&data, NumberStyle::Literal),
            r#"{"boolFalse":false,"boolTrue":true,"chinese":"高平市人民医院","nested":{"a":1,"b":2,"deep":{"y":[1,{"k":"值"}]}},"number":123}"#
        );
        assert!(canonical_data(&data, NumberStyle::String).contains(r#""number":"123""#));
    }

    #[test]
    fn containers_emptied_by_pruning_disappear() {
        assert_eq!(canonical_data(&json!({"a":{"b":""},"c":[null],"d":0}), NumberStyle::Literal), r#"{"d":0}"#);
        assert_eq!(canonical_data(&json!({}), NumberStyle::Literal), "{}");
    }

    #[test]
    fn escapes_only_what_json_requires() {
        assert_eq!(to_sorted_json(&json!({"u":"a/b\"c\n中"}), NumberStyle::Literal), "{\"u\":\"a/b\\\"c\\n中\"}");
    }
}
