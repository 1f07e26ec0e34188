//! The serde `Deserializer` for values received from the peer: call arguments (daemon), reply
//! values and event arguments (client). Each Rust type accepts exactly the MessagePack
//! encodings of its spec type (PROTOCOL.md §3) and nothing else:
//!
//! - `bool`: `true`/`false`; integers: any integer encoding whose value is in range (serde's
//!   visitors check the range); `f32`/`f64`: a float or any integer;
//! - strings (and identifiers, so model keys): `str` only; bytes (`Binary`, `serde_bytes`):
//!   `bin` only;
//! - sequences: arrays only (so never a `bin`, even for `Vec<u8>`); tuples: arrays of exactly
//!   their length; `()`: `nil` only; ext values: never;
//! - a struct is a map (a model) everywhere except as the whole of a message's arguments,
//!   which are an array holding exactly one element per parameter.
//!
//! Unknown and duplicate model keys are the struct's to refuse (generated models derive
//! `deny_unknown_fields`; serde's derive refuses duplicates). Errors say where they happened
//! (parameter, field or element) and what was found. Every read is bounds-checked and
//! recursion is bounded, whatever the bytes. One thing is taken from `well_formed`: a `str` in
//! bytes of the type `WellFormed` (which only its check makes) is not checked for UTF-8 again;
//! other bytes (`decode_args`) are. A struct's field names reach its
//! visitor as bytes (`visit_borrowed_bytes`, which serde's derived visitors take as they take
//! text), so they never need the check. Pure, no I/O.
//!
//! Decoding a received frame's values lends them the frame's `Bytes` and descriptors
//! (`fd::decode_with_set`): a decoded `Binary` is a slice of the frame rather than a copy, and
//! an `Fd` takes its descriptor.

use std::fmt;
use std::os::fd::OwnedFd;

use rmp_serde::decode::Error;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Error as _, Expected, MapAccess, SeqAccess,
    Unexpected, Visitor,
};

/// Deepest recursion, whatever the caller checked before (rmp_serde's own default).
const MAX_DEPTH: usize = 1024;

use crate::fd::{self, Rejected};
use crate::well_formed::WellFormed;

/// Decodes a message's arguments (a call's or an event's), received with `fds`: an array with
/// one element per parameter of `T` (a struct or a tuple). A `Binary` among them is a slice of
/// the frame, an `Fd` takes its descriptor; their strs are not checked for UTF-8 again.
pub(crate) fn arguments<T: DeserializeOwned>(
    args: &WellFormed,
    fds: Vec<OwnedFd>,
) -> Result<T, Rejected> {
    let frame = args.bytes();
    fd::decode_with_set(frame, fds, || decode(frame, true, true))
}

/// Like [`arguments`], for bytes that are not known to be a frame: a `Binary` is a copy.
pub(crate) fn arguments_copied<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    decode(bytes, true, false)
}

/// Decodes a reply's value, received with `fds`, as [`arguments`] decodes arguments.
pub(crate) fn value<T: DeserializeOwned>(
    value: &WellFormed,
    fds: Vec<OwnedFd>,
) -> Result<T, Rejected> {
    let frame = value.bytes();
    fd::decode_with_set(frame, fds, || decode(frame, false, true))
}

/// `utf8_proven`: `bytes` are a [`WellFormed`]'s (see [`Decoder::text`]).
fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    arguments: bool,
    utf8_proven: bool,
) -> Result<T, Error> {
    let mut decoder = Decoder {
        rest: bytes,
        depth: 0,
        arguments,
        utf8_proven,
    };
    let value = T::deserialize(&mut decoder)?;
    if !decoder.rest.is_empty() {
        let extra = decoder.rest.len();
        let bytes = if extra == 1 { "byte" } else { "bytes" };
        return Err(Error::custom(format!("{extra} {bytes} after the value")));
    }
    Ok(value)
}

struct Decoder<'de> {
    rest: &'de [u8],
    /// Arrays and maps open around the value being decoded.
    depth: usize,
    /// The next value is a whole message's arguments, so a struct is an array too.
    arguments: bool,
    /// The bytes decoded are a [`WellFormed`]'s: every `str` item in them is UTF-8.
    utf8_proven: bool,
}

/// One MessagePack item's header, with a scalar's value (a container's elements follow it).
enum Head<'de> {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(&'de [u8]),
    Bin(&'de [u8]),
    Array(u32),
    Map(u32),
    Ext,
}

impl Head<'_> {
    /// What was found, for an error message (never the contents of a str or bin, which may be
    /// as large as a frame).
    fn unexpected(&self) -> Unexpected<'static> {
        match *self {
            Head::Nil => Unexpected::Other("nil"),
            Head::Bool(b) => Unexpected::Bool(b),
            Head::Uint(v) => Unexpected::Unsigned(v),
            Head::Int(v) => Unexpected::Signed(v),
            Head::F32(v) => Unexpected::Float(v.into()),
            Head::F64(v) => Unexpected::Float(v),
            Head::Str(_) => Unexpected::Other("a str"),
            Head::Bin(_) => Unexpected::Other("a bin"),
            Head::Array(_) => Unexpected::Other("an array"),
            Head::Map(_) => Unexpected::Other("a map"),
            Head::Ext => Unexpected::Other("an ext value"),
        }
    }

    fn wrong(&self, expected: &dyn Expected) -> Error {
        Error::invalid_type(self.unexpected(), expected)
    }
}

fn truncated() -> Error {
    Error::custom("the value ends early")
}

fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|_| Error::custom("a str that is not UTF-8"))
}

/// `error`, said to have happened at `place` (outermost place first).
fn within(error: Error, place: impl fmt::Display) -> Error {
    match error {
        Error::Syntax(message) => Error::Syntax(format!("{place}: {message}")),
        other => other,
    }
}

impl<'de> Decoder<'de> {
    fn take(&mut self, len: usize) -> Result<&'de [u8], Error> {
        let (taken, rest) = self.rest.split_at_checked(len).ok_or_else(truncated)?;
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    /// A big-endian length of `width` bytes.
    fn length(&mut self, width: usize) -> Result<usize, Error> {
        let bytes = self.take(width)?;
        let len = bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
        usize::try_from(len).map_err(|_| truncated())
    }

    /// As many bytes as a length of `width` bytes says.
    fn sized(&mut self, width: usize) -> Result<&'de [u8], Error> {
        let len = self.length(width)?;
        self.take(len)
    }

    /// Reads the next item's header (and a scalar's value). From here on the value is no
    /// longer a message's arguments as a whole.
    fn head(&mut self) -> Result<Head<'de>, Error> {
        self.arguments = false;
        let (&marker, rest) = self.rest.split_first().ok_or_else(truncated)?;
        self.rest = rest;
        // Matched on the byte itself (MessagePack's marker table), the fix* ranges first.
        Ok(match marker {
            0x00..=0x7f => Head::Uint(marker.into()),
            0x80..=0x8f => Head::Map((marker & 0x0f).into()),
            0x90..=0x9f => Head::Array((marker & 0x0f).into()),
            0xa0..=0xbf => Head::Str(self.take((marker & 0x1f).into())?),
            0xe0..=0xff => Head::Int((marker as i8).into()),
            0xc0 => Head::Nil,
            0xc1 => return Err(Error::custom("reserved marker 0xc1")),
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.sized(1)?),
            0xc5 => Head::Bin(self.sized(2)?),
            0xc6 => Head::Bin(self.sized(4)?),
            0xc7 => self.ext_sized(1)?,
            0xc8 => self.ext_sized(2)?,
            0xc9 => self.ext_sized(4)?,
            0xca => Head::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Head::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Head::Uint(u8::from_be_bytes(self.array()?).into()),
            0xcd => Head::Uint(u16::from_be_bytes(self.array()?).into()),
            0xce => Head::Uint(u32::from_be_bytes(self.array()?).into()),
            0xcf => Head::Uint(u64::from_be_bytes(self.array()?)),
            0xd0 => Head::Int(i8::from_be_bytes(self.array()?).into()),
            0xd1 => Head::Int(i16::from_be_bytes(self.array()?).into()),
            0xd2 => Head::Int(i32::from_be_bytes(self.array()?).into()),
            0xd3 => Head::Int(i64::from_be_bytes(self.array()?)),
            // fixext 1, 2, 4, 8, 16: the type byte, then the payload.
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => Head::Str(self.sized(1)?),
            0xda => Head::Str(self.sized(2)?),
            0xdb => Head::Str(self.sized(4)?),
            0xdc => Head::Array(u16::from_be_bytes(self.array()?).into()),
            0xdd => Head::Array(u32::from_be_bytes(self.array()?)),
            0xde => Head::Map(u16::from_be_bytes(self.array()?).into()),
            0xdf => Head::Map(u32::from_be_bytes(self.array()?)),
        })
    }

    /// An ext value: its type byte and `len` bytes.
    fn ext(&mut self, len: usize) -> Result<Head<'de>, Error> {
        self.take(len + 1)?;
        Ok(Head::Ext)
    }

    /// An ext value whose length is `width` bytes.
    fn ext_sized(&mut self, width: usize) -> Result<Head<'de>, Error> {
        let len = self.length(width)?;
        self.take(len.checked_add(1).ok_or_else(truncated)?)?;
        Ok(Head::Ext)
    }

    /// Skips one value of any type, without recursion.
    fn skip(&mut self) -> Result<(), Error> {
        let mut left: u64 = 1;
        while left > 0 {
            left -= 1;
            left += match self.head()? {
                Head::Array(len) => u64::from(len),
                Head::Map(len) => 2 * u64::from(len),
                _ => 0,
            };
            // Every item takes a byte: this also keeps the count from overflowing.
            if left > self.rest.len() as u64 {
                return Err(truncated());
            }
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::DepthLimitExceeded);
        }
        Ok(())
    }

    fn seq<V: Visitor<'de>>(
        &mut self,
        len: u32,
        places: Places,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.enter()?;
        let mut elements = Elements {
            decoder: self,
            left: len,
            index: 0,
            places,
        };
        let value = visitor.visit_seq(&mut elements)?;
        if elements.left > 0 {
            return Err(Error::custom(format!(
                "the array has {} more elements than expected",
                elements.left
            )));
        }
        self.depth -= 1;
        Ok(value)
    }

    fn map<V: Visitor<'de>>(&mut self, len: u32, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let mut entries = Entries {
            decoder: self,
            left: len,
            key_at: &[],
        };
        let value = visitor.visit_map(&mut entries)?;
        if entries.left > 0 {
            return Err(Error::custom(format!(
                "the map has {} more entries than expected",
                entries.left
            )));
        }
        self.depth -= 1;
        Ok(value)
    }

    fn integer<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Uint(v) => visitor.visit_u64(v),
            Head::Int(v) => visitor.visit_i64(v),
            other => Err(other.wrong(&visitor)),
        }
    }

    fn float<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Uint(v) => visitor.visit_u64(v),
            Head::Int(v) => visitor.visit_i64(v),
            Head::F32(v) => visitor.visit_f32(v),
            Head::F64(v) => visitor.visit_f64(v),
            other => Err(other.wrong(&visitor)),
        }
    }

    /// A `str` item's bytes as text, checked to be UTF-8 unless they are known to be.
    fn text(&self, bytes: &'de [u8]) -> Result<&'de str, Error> {
        if self.utf8_proven {
            // SAFETY: `bytes` is the payload of a `str` item of a `WellFormed` value, which
            // `well_formed::check` found UTF-8. It is that item's payload because the decoder
            // starts at the value's first item (a `WellFormed` starts where an item starts) and
            // moves item by item (`head` reads an item's length as `well_formed::Item::of`
            // does, and takes a scalar's, str's or bin's payload whole), so the items it reads
            // are the ones `check` read.
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        utf8(bytes)
    }

    /// The next item's payload when it is a whole fixstr (field names and most text), read
    /// without building a [`Head`]; anything else, truncated or not, is left to `head`.
    #[inline]
    fn fixstr(&mut self) -> Option<&'de [u8]> {
        let (&marker, rest) = self.rest.split_first()?;
        if !(0xa0..=0xbf).contains(&marker) {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(usize::from(marker & 0x1f))?;
        self.rest = rest;
        self.arguments = false;
        Some(bytes)
    }

    /// The payload of the next item, which must be a `str` (else `expected` says what was).
    #[inline(always)]
    fn str_payload(&mut self, expected: &dyn Expected) -> Result<&'de [u8], Error> {
        if let Some(bytes) = self.fixstr() {
            return Ok(bytes);
        }
        match self.head()? {
            Head::Str(bytes) => Ok(bytes),
            other => Err(other.wrong(expected)),
        }
    }

    fn str<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        let bytes = self.str_payload(&visitor)?;
        visitor.visit_borrowed_str(self.text(bytes)?)
    }

    /// A struct's field name (a model's map key): a `str`, handed over as its bytes, which
    /// serde's derived field visitors match as they match text (so no `&str` is needed).
    fn identifier<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        let bytes = self.str_payload(&visitor)?;
        if !self.utf8_proven {
            utf8(bytes)?;
        }
        visitor.visit_borrowed_bytes(bytes)
    }

    fn bytes<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Bin(bytes) => visitor.visit_borrowed_bytes(bytes),
            other => Err(other.wrong(&visitor)),
        }
    }

    fn unit<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Nil => visitor.visit_unit(),
            other => Err(other.wrong(&visitor)),
        }
    }

    /// An array of exactly `len` elements: a tuple, or a message's arguments.
    fn exact_array<V: Visitor<'de>>(
        &mut self,
        len: usize,
        places: Places,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let expected = ExactArray { len, places };
        match self.head()? {
            Head::Array(found) if found as usize == len => self.seq(found, places, visitor),
            Head::Array(found) => Err(Error::invalid_length(found as usize, &expected)),
            other => Err(other.wrong(&expected)),
        }
    }
}

/// How the elements of an array are named in error messages.
#[derive(Clone, Copy)]
enum Places {
    Elements,
    /// A message's arguments, given as a tuple.
    Arguments,
    /// A message's arguments, given as a struct with these fields.
    Parameters(&'static [&'static str]),
}

impl Places {
    fn name(self, index: u32) -> String {
        match self {
            Places::Parameters(names) => match names.get(index as usize) {
                Some(name) => format!("parameter `{name}`"),
                None => format!("argument {index}"),
            },
            Places::Arguments => format!("argument {index}"),
            Places::Elements => format!("element {index}"),
        }
    }
}

/// What an array of exactly `len` elements is expected to be, for error messages.
struct ExactArray {
    len: usize,
    places: Places,
}

impl Expected for ExactArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.places {
            Places::Elements => write!(f, "an array of {} elements", self.len),
            Places::Arguments | Places::Parameters(_) => {
                write!(f, "an array of {} arguments", self.len)
            }
        }
    }
}

struct Elements<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    left: u32,
    index: u32,
    places: Places,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let index = self.index;
        self.index += 1;
        seed.deserialize(&mut *self.decoder)
            .map(Some)
            .map_err(|e| within(e, self.places.name(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

struct Entries<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    left: u32,
    /// Where the key of the entry being read starts: on an error, a str key names the field.
    /// Kept raw so that only a failing decode reads it a second time.
    key_at: &'de [u8],
}

/// The str key at the start of `bytes`, if it is one (for error messages only).
fn str_key(bytes: &[u8]) -> Option<&str> {
    let mut peek = Decoder {
        rest: bytes,
        depth: 0,
        arguments: false,
        utf8_proven: false,
    };
    match peek.head() {
        Ok(Head::Str(bytes)) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key_at = self.decoder.rest;
        self.key_at = key_at;
        // A str key the struct refuses is named by the struct's own error.
        seed.deserialize(&mut *self.decoder)
            .map(Some)
            .map_err(|e| match str_key(key_at) {
                Some(_) => e,
                None => within(e, "a map key"),
            })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let key_at = self.key_at;
        seed.deserialize(&mut *self.decoder)
            .map_err(|e| match str_key(key_at) {
                Some(key) => within(e, format_args!("field `{key}`")),
                None => within(e, "a map value"),
            })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

/// Integer methods: any integer encoding; the visitor checks the range.
macro_rules! integers {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.integer(visitor)
            }
        )*
    };
}

/// Methods that take what the visitor names, decoded by one of the decoder's methods.
macro_rules! by {
    ($by:ident: $($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.$by(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Nil => visitor.visit_unit(),
            Head::Bool(b) => visitor.visit_bool(b),
            Head::Uint(v) => visitor.visit_u64(v),
            Head::Int(v) => visitor.visit_i64(v),
            Head::F32(v) => visitor.visit_f32(v),
            Head::F64(v) => visitor.visit_f64(v),
            Head::Str(bytes) => visitor.visit_borrowed_str(self.text(bytes)?),
            Head::Bin(bytes) => visitor.visit_borrowed_bytes(bytes),
            Head::Array(len) => self.seq(len, Places::Elements, visitor),
            Head::Map(len) => self.map(len, visitor),
            other @ Head::Ext => Err(other.wrong(&visitor)),
        }
    }

    integers!(
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
    );
    by!(float: deserialize_f32 deserialize_f64);
    by!(str: deserialize_char deserialize_str deserialize_string);
    by!(identifier: deserialize_identifier);
    by!(bytes: deserialize_bytes deserialize_byte_buf);
    by!(unit: deserialize_unit);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Bool(b) => visitor.visit_bool(b),
            other => Err(other.wrong(&visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.rest.first() == Some(&0xc0) {
            self.head()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Array(len) => self.seq(len, Places::Elements, visitor),
            other => Err(other.wrong(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        let places = if self.arguments {
            Places::Arguments
        } else {
            Places::Elements
        };
        self.exact_array(len, places, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Map(len) => self.map(len, visitor),
            other => Err(other.wrong(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if self.arguments {
            return self.exact_array(fields.len(), Places::Parameters(fields), visitor);
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error::custom(format!(
            "enum `{name}`: enums are not part of the protocol"
        )))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip()?;
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use serde::de::IgnoredAny;

    use super::*;
    use bytes::Bytes;

    use crate::Binary;
    use crate::well_formed::checked;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Model {
        name: String,
        #[serde(with = "serde_bytes")]
        photo: Vec<u8>,
        scores: Vec<(u8, f64)>,
    }

    fn model() -> Model {
        Model {
            name: "Ada".into(),
            photo: vec![1, 2, 3],
            scores: vec![(1, 2.5), (255, -1.0)],
        }
    }

    #[test]
    fn what_rmp_serde_encodes_decodes_back() {
        let args = rmp_serde::to_vec_named(&(model(), "x", 7u64)).unwrap();
        let decoded: (Model, String, u64) = arguments_copied(&args).unwrap();
        assert_eq!(decoded, (model(), "x".into(), 7));
        let value = checked(rmp_serde::to_vec_named(&model()).unwrap());
        assert_eq!(self::value::<Model>(&value, Vec::new()).unwrap(), model());
    }

    #[test]
    fn every_cut_of_a_value_is_an_error_not_a_panic() {
        let args = rmp_serde::to_vec_named(&(model(),)).unwrap();
        for cut in 0..args.len() {
            assert!(
                arguments_copied::<(Model,)>(&args[..cut]).is_err(),
                "cut at {cut}"
            );
            assert!(
                arguments_copied::<IgnoredAny>(&args[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bytes_after_the_value_are_refused() {
        assert_eq!(
            arguments_copied::<u8>(&[0x01, 0x02])
                .unwrap_err()
                .to_string(),
            "1 byte after the value"
        );
    }

    #[test]
    fn floats_take_any_number_and_narrow_to_the_nearest() {
        let f64_bytes = checked([&[0xcb][..], &0.1f64.to_be_bytes()].concat());
        assert_eq!(value::<f32>(&f64_bytes, Vec::new()).unwrap(), 0.1f32);
        assert_eq!(
            value::<f64>(&checked(&[0xd0, 0x80][..]), Vec::new()).unwrap(),
            -128.0
        );
        let u64_max = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            value::<f32>(&checked(u64_max.to_vec()), Vec::new()).unwrap(),
            u64::MAX as f32
        );
    }

    #[test]
    fn ignored_values_are_skipped_without_recursion() {
        // Far deeper than any stack could recurse.
        let mut deep = vec![0x91; 1_000_000];
        deep.push(0xc0);
        value::<IgnoredAny>(&checked(deep), Vec::new()).unwrap();
    }

    #[test]
    fn a_binary_is_a_slice_of_the_frame_and_takes_only_bin() {
        let frame = Bytes::from(rmp_serde::to_vec(&(Binary::from(vec![4; 1000]), 1u8)).unwrap());
        let (binary, _): (Binary, u8) = arguments(&checked(frame.clone()), Vec::new()).unwrap();
        let inside = frame.as_ptr_range();
        assert!(inside.contains(&binary.as_ptr()), "copied out of the frame");
        assert_eq!(binary, vec![4; 1000]);
        let (copied, _): (Binary, u8) = arguments_copied(&frame).unwrap();
        assert!(!inside.contains(&copied.as_ptr()));
        // An array of small integers is a `Vec<u8>`'s other spelling, never a binary's.
        let array = Bytes::from(rmp_serde::to_vec(&(vec![1u8, 2], 1u8)).unwrap());
        let error = arguments::<(Binary, u8)>(&checked(array), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("argument 0") && error.contains("a bin"),
            "{error}"
        );
    }
}
