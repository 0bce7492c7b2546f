//! JSON and `google.protobuf.Struct`, both ways: extra variables are JSON in the database and in
//! Ansible, and a `Struct` on the wire.

use prost_types::value::Kind;
use serde_json::{Map, Value};

/// A JSON object as a protobuf `Struct`.
pub fn json_to_struct(map: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .iter()
            .map(|(key, value)| (key.clone(), json_to_value(value)))
            .collect(),
    }
}

fn json_to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(*flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        Value::String(text) => Kind::StringValue(text.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(json_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A protobuf `Struct` as JSON. Whole numbers become JSON integers: protobuf only has doubles,
/// and Ansible must see `port: 3001`, not `3001.0`.
pub fn struct_to_json(value: &prost_types::Struct) -> Map<String, Value> {
    value
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

fn value_to_json(value: &prost_types::Value) -> Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::NumberValue(n)) => number_to_json(*n),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(inner)) => Value::Object(struct_to_json(inner)),
    }
}

fn number_to_json(n: f64) -> Value {
    /// Largest integer a double holds exactly (2^53).
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        // In range and whole, so the cast is exact.
        return Value::from(n as i64);
    }
    serde_json::Number::from_f64(n)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_survive_the_round_trip_with_whole_numbers_as_integers() {
        let vars = serde_json::json!({
            "port": 3001, "ratio": 0.5, "tls": true, "hosts": ["a", "b"], "none": null,
            "nested": {"name": "kuma"}
        });
        let map = vars.as_object().expect("a literal object");
        let round_trip = struct_to_json(&json_to_struct(map));
        assert_eq!(Value::Object(round_trip), vars);
    }

    #[test]
    fn whole_numbers_stay_integers() {
        assert_eq!(number_to_json(3001.0), Value::from(3001));
        assert_eq!(number_to_json(-2.0), Value::from(-2));
        assert_eq!(number_to_json(0.5), serde_json::json!(0.5));
        assert_eq!(number_to_json(f64::NAN), Value::Null);
        assert_eq!(number_to_json(1e300), serde_json::json!(1e300));
    }
}
