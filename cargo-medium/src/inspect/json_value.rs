//! MessagePack values from a daemon to JSON: maps become objects (keeping the order the daemon
//! sent, which is the spec's field order), `bin` becomes base64 text, non-finite floats `null`.
//! The daemon's values need no type information to print, so this works on any value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmpv::Value;
use serde_json::{Map, Number, Value as Json};

use crate::check::Event;

/// `value` as JSON.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (None, Some(n)) => Json::from(n),
            (None, None) => Json::Null,
        },
        Value::F32(f) => float(f64::from(*f)),
        Value::F64(f) => float(*f),
        Value::String(s) => Json::String(s.as_str().map_or_else(
            || String::from_utf8_lossy(s.as_bytes()).into_owned(),
            str::to_owned,
        )),
        Value::Binary(bytes) => Json::String(BASE64.encode(bytes)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.as_str().unwrap_or_default().to_owned(),
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Ext(_, bytes) => Json::String(BASE64.encode(bytes)),
    }
}

fn float(f: f64) -> Json {
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// One monitor line: `{"time": …, "event": "name", "args": {param: value, …}}`, from the
/// event's arguments as JSON. `time` is seconds since the Unix epoch. Arguments beyond the
/// declared parameters (a daemon built from another spec) are kept under their position.
pub fn event_line(event: &Event, args: &Json, time: f64) -> Json {
    let values: &[Json] = match args {
        Json::Array(items) => items,
        other => std::slice::from_ref(other),
    };
    let mut named = Map::new();
    for (i, value) in values.iter().enumerate() {
        let name = event
            .params
            .get(i)
            .map_or_else(|| i.to_string(), |p| p.name.clone());
        named.insert(name, value.clone());
    }
    let mut line = Map::new();
    line.insert("time".into(), float(time));
    line.insert("event".into(), Json::String(event.name.clone()));
    line.insert("args".into(), Json::Object(named));
    Json::Object(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_source;

    #[test]
    fn values_convert_with_binary_as_base64_and_maps_in_order() {
        let value = Value::Map(vec![
            ("z".into(), Value::Binary(vec![0, 1, 2])),
            (
                "a".into(),
                Value::Array(vec![Value::from(-3), Value::F32(0.5)]),
            ),
            ("n".into(), Value::Nil),
            ("f".into(), Value::F64(f64::NAN)),
        ]);
        assert_eq!(
            to_json(&value).to_string(),
            r#"{"z":"AAEC","a":[-3,0.5],"n":null,"f":null}"#
        );
        assert_eq!(
            to_json(&Value::from(u64::MAX)).to_string(),
            "18446744073709551615"
        );
    }

    #[test]
    fn event_line_names_the_arguments_after_the_parameters() {
        let spec = check_source(
            "e.lmspc",
            "namespace a.b\nclass E\nevent moved(x: int32, label: string)\n",
        )
        .unwrap();
        let args = to_json(&Value::Array(vec![Value::from(4), "here".into()]));
        assert_eq!(
            event_line(&spec.events[0], &args, 1.5).to_string(),
            r#"{"time":1.5,"event":"moved","args":{"x":4,"label":"here"}}"#
        );
    }
}
