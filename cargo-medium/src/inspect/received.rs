//! A call's reply or an event's arguments as JSON, decoded by their spec types so that each
//! `fd` in them takes its descriptor from the frame (an untaken descriptor would fail the call
//! or the event, PROTOCOL.md §3.1) and prints as what it is:
//! `{"fd": "file", "target": "/var/log/x.log"}`, where `fd` is the kind (`file`, `directory`,
//! `pipe`, `socket`, `character device`, `block device`, `other`) and `target` the descriptor's
//! `/proc/self/fd` link (`pipe:[1234]`, `/memfd:x (deleted)`…; `null` where there is no
//! `/proc`). The descriptor is closed once described. Values holding no `fd` print as
//! [`to_json`] prints them.
//!
//! The runtime decodes into a `DeserializeOwned` type, which cannot carry the spec;
//! [`decoding_reply`] and [`decoding_event_args`] lend the types to [`Received`] through a
//! thread-local while a call runs or an event stream is polled, as the runtime lends a frame's
//! descriptors. A blocking client's call decodes its reply on the calling thread (inside
//! `block_on`), an event stream each event as it is polled; without lent types, decoding fails
//! and says so.

use std::cell::RefCell;
use std::fmt;
use std::fs::Metadata;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;

use medium_runtime::Fd;
use medium_runtime::serde::Deserialize;
use medium_runtime::serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use rmpv::Value;
use serde_json::{Map, Value as Json, json};

use super::to_json;
use crate::check::{CheckedSpec, Event, FdHolders, Field, Type};

/// The types of what is decoded, lent to [`Received`].
struct Expected {
    spec: CheckedSpec,
    shape: Shape,
}

enum Shape {
    /// A call's reply: what the method returns (`None`: nothing).
    Reply(Option<Type>),
    /// An event's arguments: its parameters.
    EventArgs(Vec<Field>),
}

thread_local! {
    static EXPECTED: RefCell<Option<Expected>> = const { RefCell::new(None) };
}

/// Runs `call` (one call of a method returning `returns`, `None` for nothing), decoding its
/// reply, a [`Received`], by that type.
pub fn decoding_reply<T>(
    spec: &CheckedSpec,
    returns: Option<&Type>,
    call: impl FnOnce() -> T,
) -> T {
    lending(spec, Shape::Reply(returns.cloned()), call)
}

/// Runs `poll` (a poll of `event`'s stream), decoding the arguments it yields, a [`Received`]
/// array, by the event's parameters.
pub fn decoding_event_args<T>(spec: &CheckedSpec, event: &Event, poll: impl FnOnce() -> T) -> T {
    lending(spec, Shape::EventArgs(event.params.clone()), poll)
}

fn lending<T>(spec: &CheckedSpec, shape: Shape, decode: impl FnOnce() -> T) -> T {
    let expected = Expected {
        spec: spec.clone(),
        shape,
    };
    let outer = EXPECTED.replace(Some(expected));
    let result = decode();
    EXPECTED.set(outer);
    result
}

/// A received value as JSON, descriptors described (see the module docs).
#[derive(Debug)]
pub struct Received(pub Json);

impl<'de> Deserialize<'de> for Received {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Received, D::Error> {
        EXPECTED.with_borrow(|expected| {
            let expected = expected.as_ref().ok_or_else(|| {
                de::Error::custom(
                    "a value decoded outside `decoding_reply` or `decoding_event_args` has no type",
                )
            })?;
            let holders = FdHolders::of(&expected.spec);
            let typed = |ty| Typed {
                spec: &expected.spec,
                holders: &holders,
                ty,
            };
            match &expected.shape {
                Shape::Reply(Some(returns)) => typed(returns).deserialize(deserializer),
                Shape::EventArgs(params) if params.iter().any(|p| holders.holds(&p.ty)) => {
                    let types = params.iter().map(|param| typed(&param.ty)).collect();
                    deserializer.deserialize_seq(Arguments(types))
                }
                Shape::Reply(None) | Shape::EventArgs(_) => {
                    Value::deserialize(deserializer).map(|value| to_json(&value))
                }
            }
            .map(Received)
        })
    }
}

/// Decodes an event's arguments, each by its parameter's type; any beyond them as they are.
struct Arguments<'a>(Vec<Typed<'a>>);

impl<'de> de::Visitor<'de> for Arguments<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {} arguments", self.0.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Json, A::Error> {
        let mut args = Vec::new();
        for typed in self.0 {
            match items.next_element_seed(typed)? {
                Some(value) => args.push(value),
                None => return Ok(Json::Array(args)),
            }
        }
        while let Some(value) = items.next_element::<Value>()? {
            args.push(to_json(&value));
        }
        Ok(Json::Array(args))
    }
}

/// Decodes a value of `ty` to JSON.
#[derive(Clone, Copy)]
struct Typed<'a> {
    spec: &'a CheckedSpec,
    holders: &'a FdHolders<'a>,
    ty: &'a Type,
}

impl<'a> Typed<'a> {
    fn of(self, ty: &'a Type) -> Typed<'a> {
        Typed { ty, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Typed<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        if !self.holders.holds(self.ty) {
            return Value::deserialize(deserializer).map(|value| to_json(&value));
        }
        match self.ty {
            Type::Primitive(_) => Fd::deserialize(deserializer).map(|fd| describe(&fd)),
            Type::List(_) => deserializer.deserialize_seq(self),
            Type::Model(_) => deserializer.deserialize_map(self),
        }
    }
}

impl<'de> de::Visitor<'de> for Typed<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of type {}", self.ty.spec_text())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Json, A::Error> {
        let Type::List(item) = self.ty else {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        };
        let mut list = Vec::new();
        while let Some(value) = items.next_element_seed(self.of(item))? {
            list.push(value);
        }
        Ok(Json::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Json, A::Error> {
        let Some(model) = (match self.ty {
            Type::Model(name) => self.spec.model(name),
            _ => None,
        }) else {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        };
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let field = model.fields.iter().find(|f| f.name == key).ok_or_else(|| {
                de::Error::custom(format!("`{}` has no field `{key}`", model.name))
            })?;
            object.insert(key, entries.next_value_seed(self.of(&field.ty))?);
        }
        Ok(Json::Object(object))
    }
}

/// `{"fd": kind, "target": link}` for a received descriptor.
pub fn describe(fd: &Fd) -> Json {
    let kind = fd
        .try_clone()
        .and_then(|fd| fd.into_file().metadata())
        .map_or("other", |metadata| kind(&metadata));
    let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .ok()
        .map(|link| link.to_string_lossy().into_owned());
    json!({ "fd": kind, "target": target })
}

fn kind(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        "file"
    } else if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "pipe"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_is_described_by_its_kind_and_proc_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(
            describe(&Fd::from(file)),
            json!({"fd": "file", "target": path.display().to_string()})
        );
        let (read, _write) = std::io::pipe().unwrap();
        let pipe = describe(&Fd::from(std::os::fd::OwnedFd::from(read)));
        assert_eq!(pipe["fd"], "pipe");
        assert!(
            pipe["target"].as_str().unwrap().starts_with("pipe:["),
            "{pipe}"
        );
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(describe(&Fd::from(socket))["fd"], "socket");
        let null = describe(&Fd::from(std::fs::File::open("/dev/null").unwrap()));
        assert_eq!(
            null,
            json!({"fd": "character device", "target": "/dev/null"})
        );
        assert_eq!(
            describe(&Fd::from(std::fs::File::open(dir.path()).unwrap()))["fd"],
            "directory"
        );
    }
}
