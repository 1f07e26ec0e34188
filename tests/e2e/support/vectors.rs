//! The conformance vectors of `tests/vectors/` (their README says the format): loading the
//! JSON files, the bytes notation (hex, `hh*N` repeats, `'text'`, `{fingerprint}`),
//! MessagePack decoded with its wire types kept (`rmpv`: str vs bin, float 32 vs float 64, maps
//! as pairs), and the typed-JSON patterns a decoded value is matched against, `{"fd": k}`
//! included (through [`Descriptors`], told how to compare a frame's descriptors). Pure: no
//! sockets, no processes.

use std::cell::RefCell;
use std::path::PathBuf;

use rmpv::Value;
use serde_json::Value as Json;

use super::checkout_root;

/// The folder of the vectors.
pub fn vectors_dir() -> PathBuf {
    checkout_root().join("tests").join("vectors")
}

/// A JSON file of the vectors folder (`"values.json"`, `"sessions/calls.json"`).
pub fn load(name: &str) -> Json {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
}

/// The session files, sorted: `sessions/<name>.json`.
pub fn session_files() -> Vec<String> {
    let dir = vectors_dir().join("sessions");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry is readable").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("sessions/{name}"))
        .collect();
    files.sort();
    files
}

/// The bytes a bytes notation stands for: hex digit pairs (whitespace between pairs ignored),
/// `hh*N` for the byte `hh` N times (N decimal), `'text'` for the UTF-8 bytes of text,
/// `{fingerprint}` for the 64 ASCII characters of the conformance spec's fingerprint.
pub fn parse_bytes(notation: &str, fingerprint: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = notation;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if let Some(text) = rest.strip_prefix('\'') {
            let end = text
                .find('\'')
                .unwrap_or_else(|| panic!("unclosed ' in {notation:?}"));
            out.extend_from_slice(&text.as_bytes()[..end]);
            rest = &text[end + 1..];
        } else if let Some(placeholder) = rest.strip_prefix("{fingerprint}") {
            assert!(!fingerprint.is_empty(), "{{fingerprint}} in {notation:?}");
            out.extend_from_slice(fingerprint.as_bytes());
            rest = placeholder;
        } else {
            let pair = rest.get(..2).filter(|pair| {
                pair.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            let pair = pair.unwrap_or_else(|| panic!("bad hex at {rest:?} in {notation:?}"));
            let byte = u8::from_str_radix(pair, 16).expect("checked hex");
            rest = &rest[2..];
            let mut count = 1;
            if let Some(repeat) = rest.strip_prefix('*') {
                let digits = repeat.len()
                    - repeat
                        .trim_start_matches(|c: char| c.is_ascii_digit())
                        .len();
                count = repeat[..digits].parse().unwrap_or_else(|_| {
                    panic!("a repeat without a count at {rest:?} in {notation:?}")
                });
                rest = &repeat[digits..];
            }
            out.resize(out.len() + count, byte);
        }
    }
    out
}

/// Bytes as spaced hex, for failure messages.
pub fn hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

/// The one MessagePack value `bytes` holds, or why they are not exactly one well-formed value
/// (truncated, reserved marker, a `str` that is not UTF-8, bytes after the value).
pub fn decode_exactly_one(bytes: &[u8]) -> Result<Value, String> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value(&mut rest).map_err(|err| err.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the value", rest.len()));
    }
    if let Some(bad) = invalid_utf8(&value) {
        return Err(format!("a str is not UTF-8: {}", hex(bad)));
    }
    Ok(value)
}

/// The bytes of the first `str` in `value` that is not UTF-8.
fn invalid_utf8(value: &Value) -> Option<&[u8]> {
    match value {
        Value::String(s) if s.as_str().is_none() => Some(s.as_bytes()),
        Value::Array(items) => items.iter().find_map(invalid_utf8),
        Value::Map(pairs) => pairs
            .iter()
            .find_map(|(k, v)| invalid_utf8(k).or_else(|| invalid_utf8(v))),
        _ => None,
    }
}

/// A decoded value in the typed-JSON notation, for failure messages.
pub fn show(value: &Value) -> String {
    match value {
        Value::Nil => "null".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::F32(f) => format!("{{\"f32\": {f:?}}}"),
        Value::F64(f) => format!("{{\"f64\": {f:?}}}"),
        Value::String(s) => match s.as_str() {
            Some(text) => Json::from(text).to_string(),
            None => format!("<str not UTF-8: {}>", hex(s.as_bytes())),
        },
        Value::Binary(b) => format!("{{\"bin\": \"{}\"}}", hex(b).replace(' ', "")),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("[{}, {}]", show(k), show(v)))
                .collect();
            format!("{{\"map\": [{}]}}", pairs.join(", "))
        }
        Value::Ext(kind, data) => {
            format!("{{\"ext\": [{kind}, \"{}\"]}}", hex(data).replace(' ', ""))
        }
    }
}

/// The descriptors that came with one frame, for its `{"fd": k}` patterns: `same(i, k)` says
/// whether the frame's descriptor `i` is the vector's pipe `k`. Each pattern names one
/// descriptor, and each descriptor must be named exactly once ([`Descriptors::unnamed`]).
pub struct Descriptors<'a> {
    same: &'a dyn Fn(usize, u64) -> bool,
    named: RefCell<Vec<bool>>,
}

impl<'a> Descriptors<'a> {
    /// `count` descriptors, compared with the vector's pipes by `same`.
    pub fn new(count: usize, same: &'a dyn Fn(usize, u64) -> bool) -> Descriptors<'a> {
        Descriptors {
            same,
            named: RefCell::new(vec![false; count]),
        }
    }

    /// A frame that came with no descriptor.
    pub fn none() -> Descriptors<'static> {
        fn never(_: usize, _: u64) -> bool {
            false
        }
        Descriptors::new(0, &never)
    }

    /// Why the frame's descriptor `index` is not pipe `pipe` here; `None` if it is.
    fn name(&self, index: u64, pipe: u64, path: &str) -> Option<String> {
        let mut named = self.named.borrow_mut();
        let count = named.len();
        let Some(slot) = usize::try_from(index).ok().filter(|&i| i < count) else {
            return Some(format!(
                "{path}: descriptor index {index}, but the frame came with {count}"
            ));
        };
        if named[slot] {
            return Some(format!("{path}: descriptor {index} is named twice"));
        }
        if !(self.same)(slot, pipe) {
            return Some(format!("{path}: descriptor {index} is not pipe {pipe}"));
        }
        named[slot] = true;
        None
    }

    /// Why the frame's set is not exactly what its patterns named; `None` if it is.
    pub fn unnamed(&self) -> Option<String> {
        let named = self.named.borrow();
        let left: Vec<usize> = (0..named.len()).filter(|&i| !named[i]).collect();
        (!left.is_empty()).then(|| {
            format!(
                "the frame came with {} descriptors; no value names {left:?}",
                named.len()
            )
        })
    }
}

/// Why `value` does not match the typed-JSON `pattern`, naming the place (`$[2].name`), or
/// `None` when it does. `fingerprint` is what `{"placeholder": "fingerprint"}` stands for.
pub fn mismatch(pattern: &Json, value: &Value, fingerprint: &str, path: &str) -> Option<String> {
    mismatch_with_fds(pattern, value, fingerprint, path, &Descriptors::none())
}

/// [`mismatch`] for a frame that came with the descriptors `fds`, which its `{"fd": k}`
/// patterns name (that each is named, [`Descriptors::unnamed`] says).
pub fn mismatch_with_fds(
    pattern: &Json,
    value: &Value,
    fingerprint: &str,
    path: &str,
    fds: &Descriptors<'_>,
) -> Option<String> {
    let found = || Some(format!("{path}: expected {pattern}, got {}", show(value)));
    let matches = match (pattern, value) {
        (Json::Null, Value::Nil) => true,
        (Json::Bool(p), Value::Boolean(v)) => p == v,
        (Json::Number(p), Value::Integer(v)) if !p.is_f64() => {
            p.as_i64().is_some_and(|p| v.as_i64() == Some(p))
                || p.as_u64().is_some_and(|p| v.as_u64() == Some(p))
        }
        (Json::Number(p), _) if p.is_f64() => {
            panic!("{path}: a bare JSON float in a pattern; write {{\"f64\": {p}}}")
        }
        (Json::String(p), Value::String(v)) => v.as_str() == Some(p.as_str()),
        (Json::Array(p), Value::Array(v)) => {
            if p.len() != v.len() {
                return found();
            }
            return p.iter().zip(v).enumerate().find_map(|(i, (p, v))| {
                mismatch_with_fds(p, v, fingerprint, &format!("{path}[{i}]"), fds)
            });
        }
        (Json::Object(tagged), _) => {
            let (tag, arg) = tagged
                .iter()
                .next()
                .filter(|_| tagged.len() == 1)
                .unwrap_or_else(|| panic!("{path}: not a pattern: {pattern}"));
            if tag == "map" {
                return map_mismatch(arg, value, fingerprint, path, fds);
            }
            if tag == "fd" {
                let pipe = arg.as_u64().expect("{\"fd\": k} names a pipe by number");
                return match value.as_u64() {
                    Some(index) => fds.name(index, pipe, path),
                    None => found(),
                };
            }
            !tagged_mismatch(tag, arg, value, fingerprint, path)
        }
        _ => false,
    };
    if matches { None } else { found() }
}

/// Whether `value` fails the pattern `{tag: arg}` (not `map`: [`map_mismatch`]).
fn tagged_mismatch(tag: &str, arg: &Json, value: &Value, fingerprint: &str, path: &str) -> bool {
    match (tag, value) {
        ("f32", Value::F32(v)) => !same_float(f64::from(*v), arg),
        ("f64", Value::F64(v)) => !same_float(*v, arg),
        ("float", Value::F32(v)) => !same_float(f64::from(*v), arg),
        ("float", Value::F64(v)) => !same_float(*v, arg),
        ("bin", Value::Binary(v)) => arg.as_str().map(|h| parse_bytes(h, "")) != Some(v.clone()),
        ("ext", Value::Ext(kind, data)) => {
            let expected = arg.as_array().expect("ext is [type, hex]");
            expected[0].as_i64() != Some(i64::from(*kind))
                || parse_bytes(expected[1].as_str().expect("ext data is hex"), "") != *data
        }
        ("any", _) => {
            let kind = match value {
                Value::Nil => "nil",
                Value::Boolean(_) => "bool",
                Value::Integer(_) => "int",
                Value::F32(_) => "f32",
                Value::F64(_) => "f64",
                Value::String(_) => "str",
                Value::Binary(_) => "bin",
                Value::Array(_) => "array",
                Value::Map(_) => "map",
                Value::Ext(..) => "ext",
            };
            arg != "value" && arg != kind
        }
        ("placeholder", Value::String(v)) => {
            assert_eq!(arg, "fingerprint", "{path}: unknown placeholder");
            v.as_str() != Some(fingerprint)
        }
        ("f32" | "f64" | "float" | "bin" | "ext" | "placeholder", _) => true,
        _ => panic!("{path}: unknown tag {tag:?}"),
    }
}

/// Maps match whatever their order: each expected entry by exactly one entry of the map.
fn map_mismatch(
    entries: &Json,
    value: &Value,
    fingerprint: &str,
    path: &str,
    fds: &Descriptors<'_>,
) -> Option<String> {
    let expected: Vec<(Json, &Json)> = match entries {
        Json::Object(fields) => fields
            .iter()
            .map(|(k, v)| (Json::from(k.as_str()), v))
            .collect(),
        Json::Array(pairs) => pairs
            .iter()
            .map(|pair| (pair[0].clone(), &pair[1]))
            .collect(),
        _ => panic!("{path}: a map pattern is an object or a list of pairs"),
    };
    let Value::Map(pairs) = value else {
        return Some(format!("{path}: expected a map, got {}", show(value)));
    };
    if pairs.len() != expected.len() {
        return Some(format!(
            "{path}: expected {} entries, got {}",
            expected.len(),
            show(value)
        ));
    }
    let mut unmatched: Vec<&(Value, Value)> = pairs.iter().collect();
    for (key, value_pattern) in &expected {
        let Some(at) = unmatched
            .iter()
            .position(|(k, _)| mismatch(key, k, fingerprint, path).is_none())
        else {
            return Some(format!("{path}: no key {key} in {}", show(value)));
        };
        let (k, v) = unmatched.remove(at);
        if let Some(why) = mismatch_with_fds(
            value_pattern,
            v,
            fingerprint,
            &format!("{path}.{}", show(k)),
            fds,
        ) {
            return Some(why);
        }
    }
    None
}

/// Whether `actual` is the float written as decimal text in `expected` (`"0.1"`, `"-0.0"`,
/// `"inf"`), sign of zero included. Text, because JSON parsers need not round numbers exactly.
fn same_float(actual: f64, expected: &Json) -> bool {
    let text = expected
        .as_str()
        .unwrap_or_else(|| panic!("a float pattern holds decimal text, not {expected}"));
    let expected: f64 = text
        .parse()
        .unwrap_or_else(|err| panic!("{text:?} is not a float: {err}"));
    actual == expected && actual.is_sign_negative() == expected.is_sign_negative()
}
