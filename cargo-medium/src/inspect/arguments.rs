//! JSON arguments to MessagePack, checked against the declared parameter types before anything
//! is sent: integers must fit their type, `binary` is base64 text or `@path` (a file's bytes),
//! `fd` is `@path` (the file, opened read-write if it can be, else read-only, which the runtime
//! attaches to the call), a model is a JSON object with exactly its fields, a list a JSON array.
//! Errors name the parameter (with the path inside it, e.g. `student.tags[2]`) and its spec type.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use medium_runtime::Fd;
use medium_runtime::serde::{Serialize, Serializer};
use rmpv::Value;
use serde_json::Value as Json;

use crate::check::{CheckedSpec, Field, Primitive, Type};

/// Why arguments could not be converted; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    /// Not as many arguments as the method has parameters.
    #[error("`{method}` takes {expected} argument{} ({signature}), got {got}", if *.expected == 1 { "" } else { "s" })]
    Count {
        method: String,
        expected: usize,
        got: usize,
        /// The parameters in spec syntax: `id: string, age: uint8`.
        signature: String,
    },
    /// An argument is not JSON.
    #[error("argument `{param}` ({ty}) is not JSON: {detail}")]
    NotJson {
        param: String,
        ty: String,
        detail: String,
    },
    /// A value does not fit the declared type.
    #[error("argument `{param}` ({ty}): {detail}")]
    Mismatch {
        /// The parameter, with the path inside it: `student.tags[2]`.
        param: String,
        /// The expected type in spec syntax.
        ty: String,
        detail: String,
    },
    /// The file of a `binary` argument given as `@path` could not be read.
    #[error("argument `{param}` (binary): cannot read {}", .path.display())]
    File {
        param: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file of an `fd` argument could not be opened.
    #[error("argument `{param}` (fd): cannot open {}", .path.display())]
    Open {
        param: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A value converted by its spec type, ready to send: MessagePack, with the open file of each
/// `fd` in its place, which the runtime attaches to the frame as it encodes it.
#[derive(Debug)]
pub enum Argument {
    /// A value holding no `fd`.
    Value(Value),
    Fd(Fd),
    List(Vec<Argument>),
    /// A model's fields, in spec order.
    Model(Vec<(String, Argument)>),
}

impl Serialize for Argument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Argument::Value(value) => value.serialize(serializer),
            Argument::Fd(fd) => fd.serialize(serializer),
            Argument::List(items) => serializer.collect_seq(items),
            Argument::Model(fields) => serializer.collect_map(fields.iter().map(|(k, v)| (k, v))),
        }
    }
}

/// The argument array for a call of a method (or an emit of an event) with `params`, from one
/// JSON text per parameter.
pub fn encode_arguments(
    spec: &CheckedSpec,
    method: &str,
    params: &[Field],
    args: &[String],
) -> Result<Argument, ArgumentError> {
    if args.len() != params.len() {
        return Err(ArgumentError::Count {
            method: method.to_owned(),
            expected: params.len(),
            got: args.len(),
            signature: params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.ty.spec_text()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let values = params
        .iter()
        .zip(args)
        .map(|(param, text)| {
            let hint = quoting_hint(&param.ty, text);
            let json: Json = serde_json::from_str(text).map_err(|e| ArgumentError::NotJson {
                param: param.name.clone(),
                ty: param.ty.spec_text(),
                detail: with_hint(e.to_string(), hint.as_deref()),
            })?;
            Converter { spec }
                .value(&json, &param.ty, &param.name)
                .map_err(|e| match e {
                    ArgumentError::Mismatch { param, ty, detail } => ArgumentError::Mismatch {
                        param,
                        ty,
                        detail: with_hint(detail, hint.as_deref()),
                    },
                    other => other,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Argument::List(values))
}

/// For a `string` or `binary` argument written without JSON quotes (`42`, `Bob`), or an `fd`
/// one (`@log.txt`): the shell ate no quotes, the user never wrote any, so show the argument as
/// it must be typed.
fn quoting_hint(ty: &Type, text: &str) -> Option<String> {
    let string_typed = match ty {
        Type::Primitive(Primitive::String | Primitive::Binary) => true,
        Type::Primitive(Primitive::Fd) => text.trim_start().starts_with('@'),
        _ => false,
    };
    if !string_typed || text.trim_start().starts_with('"') {
        return None;
    }
    let json = Json::from(text.trim()).to_string();
    // Single-quoted for a POSIX shell; a `'` inside is closed, escaped and reopened.
    Some(format!(
        "strings are JSON: '{}'",
        json.replace('\'', r"'\''")
    ))
}

fn with_hint(detail: String, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("{detail}; {hint}"),
        None => detail,
    }
}

/// Converts one JSON value by its declared type.
struct Converter<'a> {
    spec: &'a CheckedSpec,
}

impl Converter<'_> {
    fn value(&self, json: &Json, ty: &Type, at: &str) -> Result<Argument, ArgumentError> {
        let mismatch = |detail: String| ArgumentError::Mismatch {
            param: at.to_owned(),
            ty: ty.spec_text(),
            detail,
        };
        match ty {
            Type::Primitive(p) => self.primitive(json, *p, at).map_err(mismatch_or(mismatch)),
            Type::List(item) => match json {
                Json::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.value(v, item, &format!("{at}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Argument::List),
                other => Err(mismatch(format!(
                    "expected a JSON array, got {}",
                    kind(other)
                ))),
            },
            Type::Model(name) => {
                let Some(model) = self.spec.model(name) else {
                    return Err(mismatch(format!("the spec has no model `{name}`")));
                };
                let Json::Object(object) = json else {
                    return Err(mismatch(format!(
                        "expected a JSON object with fields {}, got {}",
                        field_list(&model.fields),
                        kind(json)
                    )));
                };
                if let Some(unknown) = object
                    .keys()
                    .find(|k| !model.fields.iter().any(|f| &f.name == *k))
                {
                    return Err(mismatch(format!(
                        "`{name}` has no field `{unknown}` (fields: {})",
                        field_list(&model.fields)
                    )));
                }
                model
                    .fields
                    .iter()
                    .map(|field| {
                        let v = object
                            .get(&field.name)
                            .ok_or_else(|| mismatch(format!("missing field `{}`", field.name)))?;
                        let value = self.value(v, &field.ty, &format!("{at}.{}", field.name))?;
                        Ok((field.name.clone(), value))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Argument::Model)
            }
        }
    }

    /// A primitive value of type `p`.
    fn primitive(&self, json: &Json, p: Primitive, at: &str) -> Result<Argument, PrimitiveError> {
        let wrong =
            || PrimitiveError::Detail(format!("expected {}, got {}", expected(p), kind(json)));
        Ok(Argument::Value(match p {
            Primitive::Boolean => Value::Boolean(json.as_bool().ok_or_else(wrong)?),
            Primitive::String => Value::from(json.as_str().ok_or_else(wrong)?),
            Primitive::Float => Value::F32(json.as_f64().ok_or_else(wrong)? as f32),
            Primitive::Double => Value::F64(json.as_f64().ok_or_else(wrong)?),
            Primitive::Binary => {
                let text = json.as_str().ok_or_else(wrong)?;
                Value::Binary(match text.strip_prefix('@') {
                    Some(path) => std::fs::read(path).map_err(|source| {
                        PrimitiveError::Done(ArgumentError::File {
                            param: at.to_owned(),
                            path: path.into(),
                            source,
                        })
                    })?,
                    None => BASE64.decode(text).map_err(|e| {
                        PrimitiveError::Detail(format!(
                            "not base64 ({e}); give a file's bytes as \"@path\""
                        ))
                    })?,
                })
            }
            Primitive::Fd => {
                let path = json
                    .as_str()
                    .and_then(|text| text.strip_prefix('@'))
                    .ok_or_else(wrong)?;
                let file = open_to_pass(Path::new(path)).map_err(|source| {
                    PrimitiveError::Done(ArgumentError::Open {
                        param: at.to_owned(),
                        path: path.into(),
                        source,
                    })
                })?;
                return Ok(Argument::Fd(Fd::from(file)));
            }
            _ => integer(json, p)?,
        }))
    }
}

/// Opens the file of an `fd` argument read-write, for a daemon that writes to it, or read-only
/// when that is all this user (or the file: a directory, a read-only mount) allows.
fn open_to_pass(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .or_else(|_| File::open(path))
}

/// What went wrong with a primitive, before it is given the parameter's name and type.
enum PrimitiveError {
    Detail(String),
    Done(ArgumentError),
}

fn mismatch_or(
    mismatch: impl Fn(String) -> ArgumentError,
) -> impl FnOnce(PrimitiveError) -> ArgumentError {
    move |e| match e {
        PrimitiveError::Detail(detail) => mismatch(detail),
        PrimitiveError::Done(error) => error,
    }
}

/// An integer type's value, range-checked.
fn integer(json: &Json, p: Primitive) -> Result<Value, PrimitiveError> {
    let (min, max): (i128, i128) = match p {
        Primitive::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Primitive::Uint8 => (0, u8::MAX.into()),
        Primitive::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Primitive::Uint16 => (0, u16::MAX.into()),
        Primitive::Int32 => (i32::MIN.into(), i32::MAX.into()),
        Primitive::Uint32 => (0, u32::MAX.into()),
        Primitive::Int64 => (i64::MIN.into(), i64::MAX.into()),
        _ => (0, u64::MAX.into()),
    };
    let n: i128 = match json {
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into(),
            (None, Some(i)) => i.into(),
            (None, None) => {
                return Err(PrimitiveError::Detail(format!(
                    "expected an integer, got {n}"
                )));
            }
        },
        other => {
            return Err(PrimitiveError::Detail(format!(
                "expected an integer, got {}",
                kind(other)
            )));
        }
    };
    if !(min..=max).contains(&n) {
        return Err(PrimitiveError::Detail(format!(
            "{n} is out of range {min}..={max}"
        )));
    }
    Ok(match (u64::try_from(n), i64::try_from(n)) {
        (Ok(u), _) => Value::from(u),
        (Err(_), Ok(i)) => Value::from(i),
        // The range check above keeps every value within i64 or u64.
        (Err(_), Err(_)) => Value::Nil,
    })
}

fn expected(p: Primitive) -> &'static str {
    match p {
        Primitive::Boolean => "true or false",
        Primitive::String => "a JSON string",
        Primitive::Float | Primitive::Double => "a number",
        Primitive::Binary => "a base64 string or \"@path\"",
        Primitive::Fd => "\"@path\" (the file to open and pass)",
        _ => "an integer",
    }
}

/// How a JSON value is described in an error.
fn kind(json: &Json) -> String {
    match json {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("the string {s:?}"),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}

fn field_list(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| format!("`{}`", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_source;

    const SPEC: &str = "namespace com.example.t\nclass T\n\
        model Inner{\n    tags: *string\n    raw: binary\n}\n\
        model Outer{\n    id: uint8\n    inner: *Inner\n}\n\
        method all(b: boolean, i8: int8, u8: uint8, i16: int16, u16: uint16, i32: int32, \
        u32: uint32, i64: int64, u64: uint64, f: float, d: double, s: string, bin: binary)\n\
        method nested(o: Outer)\n\
        method pass(sink: fd)\n";

    fn convert(method: &str, args: &[&str]) -> Result<Argument, ArgumentError> {
        let spec = check_source("t.lmspc", SPEC).unwrap();
        let m = spec.methods.iter().find(|m| m.name == method).unwrap();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        encode_arguments(&spec, method, &m.params, &args)
    }

    /// The arguments as the MessagePack they encode to (none holding an `fd`).
    fn encode(method: &str, args: &[&str]) -> Result<Value, ArgumentError> {
        convert(method, args).map(|args| rmpv::ext::to_value(&args).unwrap())
    }

    fn error(method: &str, args: &[&str]) -> String {
        encode(method, args).unwrap_err().to_string()
    }

    const ALL_OK: [&str; 13] = [
        "true",
        "-128",
        "255",
        "-32768",
        "65535",
        "-2147483648",
        "4294967295",
        "-9223372036854775808",
        "18446744073709551615",
        "1.5",
        "2.25",
        "\"hi\"",
        "\"AAEC\"",
    ];

    /// The one `fd` argument of `pass`, given as `@path`.
    fn passed(path: &Path) -> Fd {
        let Argument::List(mut args) =
            convert("pass", &[&format!("\"@{}\"", path.display())]).unwrap()
        else {
            panic!("not a list");
        };
        match args.pop() {
            Some(Argument::Fd(fd)) => fd,
            other => panic!("not an fd: {other:?}"),
        }
    }

    /// Where `fd` leads (`/proc/self/fd`) and whether it was opened for writing.
    fn target_and_writable(fd: &Fd) -> (PathBuf, bool) {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        // SAFETY: F_GETFL reads the flags of a descriptor this test owns.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        let target = std::fs::read_link(format!("/proc/self/fd/{raw}")).unwrap();
        (target, flags & libc::O_ACCMODE == libc::O_RDWR)
    }

    #[test]
    fn an_fd_argument_opens_the_file_at_path_read_write_when_it_can_else_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(target_and_writable(&passed(&file)), (file, true));
        // A directory opens only for reading.
        assert_eq!(
            target_and_writable(&passed(dir.path())),
            (dir.path().to_owned(), false)
        );
    }

    #[test]
    fn an_fd_argument_is_an_at_path_that_opens() {
        assert_eq!(
            error("pass", &["3"]),
            "argument `sink` (fd): expected \"@path\" (the file to open and pass), got 3"
        );
        assert_eq!(
            error("pass", &["@log"]),
            "argument `sink` (fd) is not JSON: expected value at line 1 column 1; \
             strings are JSON: '\"@log\"'"
        );
        let missing = "/nonexistent/log";
        assert!(
            error("pass", &[&format!("\"@{missing}\"")])
                .starts_with(&format!("argument `sink` (fd): cannot open {missing}"))
        );
    }

    #[test]
    fn every_primitive_converts_to_its_messagepack_value() {
        let Value::Array(values) = encode("all", &ALL_OK).unwrap() else {
            panic!("not an array");
        };
        assert_eq!(
            values,
            [
                Value::Boolean(true),
                Value::from(-128),
                Value::from(255),
                Value::from(-32768),
                Value::from(65535),
                Value::from(i64::from(i32::MIN)),
                Value::from(u32::MAX),
                Value::from(i64::MIN),
                Value::from(u64::MAX),
                Value::F32(1.5),
                Value::F64(2.25),
                Value::from("hi"),
                Value::Binary(vec![0, 1, 2]),
            ]
        );
    }

    #[test]
    fn out_of_range_integers_are_rejected_naming_the_parameter_and_type() {
        for (i, bad, message) in [
            (
                1,
                "128",
                "argument `i8` (int8): 128 is out of range -128..=127",
            ),
            (2, "-1", "argument `u8` (uint8): -1 is out of range 0..=255"),
            (
                4,
                "65536",
                "argument `u16` (uint16): 65536 is out of range 0..=65535",
            ),
            (
                6,
                "-1",
                "argument `u32` (uint32): -1 is out of range 0..=4294967295",
            ),
            (
                8,
                "-1",
                "argument `u64` (uint64): -1 is out of range 0..=18446744073709551615",
            ),
            (
                2,
                "1.5",
                "argument `u8` (uint8): expected an integer, got 1.5",
            ),
        ] {
            let mut args = ALL_OK;
            args[i] = bad;
            assert_eq!(error("all", &args), message);
        }
    }

    #[test]
    fn wrong_json_kinds_are_rejected_naming_the_parameter_and_type() {
        let mut args = ALL_OK;
        args[0] = "1";
        assert_eq!(
            error("all", &args),
            "argument `b` (boolean): expected true or false, got 1"
        );
        let mut args = ALL_OK;
        args[11] = "hi";
        assert!(error("all", &args).starts_with("argument `s` (string) is not JSON"));
    }

    #[test]
    fn a_string_given_bare_gets_the_json_quoting_shown() {
        for (i, bad, message) in [
            (
                11,
                "42",
                "argument `s` (string): expected a JSON string, got 42; \
                 strings are JSON: '\"42\"'",
            ),
            (
                11,
                "hello",
                "argument `s` (string) is not JSON: expected value at line 1 column 1; \
                 strings are JSON: '\"hello\"'",
            ),
            (
                11,
                "it's",
                "argument `s` (string) is not JSON: expected value at line 1 column 1; \
                 strings are JSON: '\"it'\\''s\"'",
            ),
            (
                12,
                "AAEC",
                "argument `bin` (binary) is not JSON: expected value at line 1 column 1; \
                 strings are JSON: '\"AAEC\"'",
            ),
        ] {
            let mut args = ALL_OK;
            args[i] = bad;
            assert_eq!(error("all", &args), message);
        }
        // Inside JSON the quoting is already there to see: no shell advice.
        assert_eq!(
            error(
                "nested",
                &[r#"{"id": 1, "inner": [{"tags": [7], "raw": ""}]}"#]
            ),
            "argument `o.inner[0].tags[0]` (string): expected a JSON string, got 7"
        );
    }

    #[test]
    fn argument_count_is_checked_with_the_signature() {
        assert_eq!(
            error("nested", &[]),
            "`nested` takes 1 argument (o: Outer), got 0"
        );
    }

    #[test]
    fn binary_is_base64_or_a_file_given_as_at_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("blob");
        std::fs::write(&file, [9, 8, 7]).unwrap();
        let mut args = ALL_OK;
        let at = format!("\"@{}\"", file.display());
        args[12] = &at;
        let Value::Array(values) = encode("all", &args).unwrap() else {
            panic!("not an array");
        };
        assert_eq!(values[12], Value::Binary(vec![9, 8, 7]));

        args[12] = "\"not base64!\"";
        assert!(error("all", &args).starts_with("argument `bin` (binary): not base64"));
        let missing = format!("\"@{}\"", dir.path().join("missing").display());
        args[12] = &missing;
        assert!(error("all", &args).starts_with("argument `bin` (binary): cannot read"));
    }

    #[test]
    fn nested_models_and_lists_convert_to_maps_and_arrays() {
        let value = encode(
            "nested",
            &[r#"{"id": 7, "inner": [{"tags": ["a", "b"], "raw": ""}]}"#],
        )
        .unwrap();
        let inner = Value::Map(vec![
            ("tags".into(), Value::Array(vec!["a".into(), "b".into()])),
            ("raw".into(), Value::Binary(vec![])),
        ]);
        assert_eq!(
            value,
            Value::Array(vec![Value::Map(vec![
                ("id".into(), Value::from(7)),
                ("inner".into(), Value::Array(vec![inner])),
            ])])
        );
    }

    #[test]
    fn nested_errors_name_the_path_inside_the_parameter() {
        assert_eq!(
            error(
                "nested",
                &[r#"{"id": 7, "inner": [{"tags": ["a", 3], "raw": ""}]}"#]
            ),
            "argument `o.inner[0].tags[1]` (string): expected a JSON string, got 3"
        );
        assert_eq!(
            error("nested", &[r#"{"id": 7}"#]),
            "argument `o` (Outer): missing field `inner`"
        );
        assert_eq!(
            error("nested", &[r#"{"id": 7, "inner": [], "extra": 1}"#]),
            "argument `o` (Outer): `Outer` has no field `extra` (fields: `id`, `inner`)"
        );
        assert_eq!(
            error("nested", &["[]"]),
            "argument `o` (Outer): expected a JSON object with fields `id`, `inner`, got an array"
        );
    }
}
