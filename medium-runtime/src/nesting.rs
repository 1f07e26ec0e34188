//! How deeply a MessagePack value nests, checked before serde sees it. serde decodes nested
//! arrays and maps by recursion, a few KiB of stack per level in a debug build, so a small
//! frame of a few hundred nested arrays would overflow a thread's stack and abort the process.
//! [`check`] walks the bytes once, in a loop, keeping one counter per open array or map: no
//! recursion, and no allocation for values nesting up to [`INLINE`] levels (a declared length
//! is only a counter, so a huge array header costs nothing). Pure, no I/O.

use rmp::Marker;
use serde::de::DeserializeOwned;

/// Default deepest nesting of arrays and maps in a value: 128. A debug build spends about 3 KiB
/// of stack per level decoding (measured: a 2 MiB thread overflows past about 600–700 levels),
/// so 128 levels take well under half of a 2 MiB thread's stack.
pub const DEFAULT_MAX_NESTING_DEPTH: usize = 128;

/// Open containers tracked without allocating.
const INLINE: usize = 32;

/// A value nests deeper than the limit it was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    pub(crate) limit: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "value nests deeper than {} arrays and maps", self.limit)
    }
}

/// Checks that the MessagePack value at the start of `value` nests at most `limit` arrays and
/// maps deep (a scalar is depth 0, `[]` and `[1]` depth 1, `[[1]]` depth 2; map keys count
/// like values). Bytes after the value are not looked at. Input that is truncated or invalid
/// passes as far as it goes: decoding it fails on its own, without recursing deeper than what
/// was checked.
pub(crate) fn check(value: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut open = Open::default();
    let mut rest = value;
    loop {
        let Some((&marker, after)) = rest.split_first() else {
            return Ok(());
        };
        rest = after;
        let item = match Item::of(marker, &mut rest) {
            Some(item) => item,
            None => return Ok(()),
        };
        match item {
            Item::Scalar(len) => match rest.get(len..) {
                Some(after) => rest = after,
                None => return Ok(()),
            },
            Item::Container(items) => {
                if open.len >= limit {
                    return Err(TooDeep { limit });
                }
                if items > 0 {
                    open.push(items);
                    continue;
                }
            }
        }
        // One item is complete: count it off its container, and every container it completes
        // off the one around it.
        loop {
            let Some(left) = open.last_mut() else {
                return Ok(());
            };
            *left -= 1;
            if *left > 0 {
                break;
            }
            open.pop();
        }
    }
}

/// Decodes a value received from the peer, refusing one that nests deeper than `limit` before
/// serde sees it, with the error serde's own (much higher) depth limit gives.
pub(crate) fn decode<T: DeserializeOwned>(
    value: &[u8],
    limit: usize,
) -> Result<T, rmp_serde::decode::Error> {
    check(value, limit).map_err(|_| rmp_serde::decode::Error::DepthLimitExceeded)?;
    rmp_serde::from_slice(value)
}

/// What a marker starts: a scalar with this many bytes after its header, or a container of
/// this many items (a map's keys and values both count).
enum Item {
    Scalar(usize),
    Container(u64),
}

impl Item {
    /// The item `marker` starts, reading its length from `rest`; `None` when truncated or
    /// invalid.
    fn of(marker: u8, rest: &mut &[u8]) -> Option<Item> {
        let scalar = |len: u64| usize::try_from(len).ok().map(Item::Scalar);
        match Marker::from_u8(marker) {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
                Some(Item::Scalar(0))
            }
            Marker::Reserved => None,
            Marker::U8 | Marker::I8 => Some(Item::Scalar(1)),
            Marker::U16 | Marker::I16 => Some(Item::Scalar(2)),
            Marker::U32 | Marker::I32 | Marker::F32 => Some(Item::Scalar(4)),
            Marker::U64 | Marker::I64 | Marker::F64 => Some(Item::Scalar(8)),
            Marker::FixStr(len) => Some(Item::Scalar(usize::from(len))),
            Marker::Str8 | Marker::Bin8 => scalar(length(rest, 1)?),
            Marker::Str16 | Marker::Bin16 => scalar(length(rest, 2)?),
            Marker::Str32 | Marker::Bin32 => scalar(length(rest, 4)?),
            // An extension's payload follows its type byte.
            Marker::FixExt1 => Some(Item::Scalar(2)),
            Marker::FixExt2 => Some(Item::Scalar(3)),
            Marker::FixExt4 => Some(Item::Scalar(5)),
            Marker::FixExt8 => Some(Item::Scalar(9)),
            Marker::FixExt16 => Some(Item::Scalar(17)),
            Marker::Ext8 => scalar(length(rest, 1)? + 1),
            Marker::Ext16 => scalar(length(rest, 2)? + 1),
            Marker::Ext32 => scalar(length(rest, 4)? + 1),
            Marker::FixArray(len) => Some(Item::Container(u64::from(len))),
            Marker::Array16 => Some(Item::Container(length(rest, 2)?)),
            Marker::Array32 => Some(Item::Container(length(rest, 4)?)),
            Marker::FixMap(len) => Some(Item::Container(2 * u64::from(len))),
            Marker::Map16 => Some(Item::Container(2 * length(rest, 2)?)),
            Marker::Map32 => Some(Item::Container(2 * length(rest, 4)?)),
        }
    }
}

/// A big-endian length of `width` bytes taken off the front of `rest`.
fn length(rest: &mut &[u8], width: usize) -> Option<u64> {
    let (bytes, after) = rest.split_at_checked(width)?;
    *rest = after;
    Some(bytes.iter().fold(0, |n, &b| n << 8 | u64::from(b)))
}

/// Items left in each open container, innermost last: inline up to [`INLINE`] levels, then on
/// the heap (at most the limit's worth).
#[derive(Default)]
struct Open {
    inline: [u64; INLINE],
    deeper: Vec<u64>,
    len: usize,
}

impl Open {
    fn push(&mut self, items: u64) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = items,
            None => self.deeper.push(items),
        }
        self.len += 1;
    }

    fn last_mut(&mut self) -> Option<&mut u64> {
        let last = self.len.checked_sub(1)?;
        match self.inline.get_mut(last) {
            Some(slot) => Some(slot),
            None => self.deeper.last_mut(),
        }
    }

    fn pop(&mut self) {
        self.len -= 1;
        if self.len >= INLINE {
            self.deeper.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
        rmp_serde::to_vec_named(value).unwrap()
    }

    /// `depth` nested one-element arrays around `nil`.
    fn arrays(depth: usize) -> Vec<u8> {
        let mut v = vec![0x91; depth];
        v.push(0xc0);
        v
    }

    fn depth(value: &[u8]) -> usize {
        (0..10_000)
            .find(|&limit| check(value, limit).is_ok())
            .unwrap()
    }

    #[test]
    fn scalars_and_empty_containers_have_the_documented_depth() {
        assert_eq!(depth(&encode(&1u8)), 0);
        assert_eq!(depth(&encode(&"text")), 0);
        assert_eq!(depth(&encode(&Vec::<u8>::new())), 1);
        assert_eq!(depth(&encode(&vec![1u8])), 1);
        assert_eq!(depth(&encode(&vec![vec![1u8]])), 2);
        assert_eq!(depth(&encode(&vec![Vec::<u8>::new(); 3])), 2);
        assert_eq!(depth(&[0x80]), 1); // {}
    }

    #[test]
    fn the_limit_is_exact() {
        for limit in [0, 1, 2, 31, 32, 33, 64, 127, 128, 129, 1000] {
            assert_eq!(check(&arrays(limit), limit), Ok(()), "{limit}");
            assert_eq!(
                check(&arrays(limit + 1), limit),
                Err(TooDeep { limit }),
                "{limit}"
            );
        }
    }

    #[test]
    fn depth_is_the_deepest_branch_not_the_sum() {
        // [[[1]], [[[1]]], 2, [[[[[]]]]]]: depth 6 in the last element, after shallower ones.
        let value = encode(&(
            vec![vec![1u8]],
            vec![vec![vec![1u8]]],
            2u8,
            vec![vec![vec![vec![Vec::<u8>::new()]]]],
        ));
        assert_eq!(depth(&value), 6);
        // Many siblings at the same level do not add up.
        assert_eq!(depth(&encode(&vec![vec![vec![0u8; 3]; 50]; 50])), 3);
    }

    #[test]
    fn map_keys_and_values_both_count() {
        // {[[nil]]: 1}
        assert_eq!(depth(&[0x81, 0x91, 0x91, 0xc0, 0x01]), 3);
        // {1: [[nil]]}, then a second pair.
        assert_eq!(depth(&[0x82, 0x01, 0x91, 0x91, 0xc0, 0x02, 0x03]), 3);
        // A model with an unknown key holding nested arrays, as the frame had.
        let mut model = vec![0x91, 0x82, 0xa4];
        model.extend(b"name");
        model.extend([0xa1, b'x', 0xa5]);
        model.extend(b"extra");
        model.extend(arrays(700));
        assert_eq!(depth(&model), 702);
        assert!(check(&model, DEFAULT_MAX_NESTING_DEPTH).is_err());
    }

    #[test]
    fn every_scalar_encoding_is_skipped_whole() {
        // Each scalar's payload holds bytes that would be containers if read as markers.
        let payload = [0x91u8; 300];
        let scalars: Vec<Vec<u8>> = vec![
            vec![0xcc, 0x91],
            vec![0xcd, 0x91, 0x91],
            vec![0xce, 0x91, 0x91, 0x91, 0x91],
            [vec![0xcf], vec![0x91; 8]].concat(),
            vec![0xd0, 0x91],
            [vec![0xd3], vec![0x91; 8]].concat(),
            vec![0xca, 0x91, 0x91, 0x91, 0x91],
            [vec![0xcb], vec![0x91; 8]].concat(),
            [vec![0xa3], vec![0x91; 3]].concat(),
            [vec![0xd9, 3], vec![0x91; 3]].concat(),
            [vec![0xda, 1, 44], payload.to_vec()].concat(),
            [vec![0xdb, 0, 0, 1, 44], payload.to_vec()].concat(),
            [vec![0xc4, 3], vec![0x91; 3]].concat(),
            [vec![0xc5, 1, 44], payload.to_vec()].concat(),
            [vec![0xc6, 0, 0, 1, 44], payload.to_vec()].concat(),
            vec![0xd4, 1, 0x91],
            vec![0xd5, 1, 0x91, 0x91],
            [vec![0xd6, 1], vec![0x91; 4]].concat(),
            [vec![0xd7, 1], vec![0x91; 8]].concat(),
            [vec![0xd8, 1], vec![0x91; 16]].concat(),
            [vec![0xc7, 3, 1], vec![0x91; 3]].concat(),
            [vec![0xc8, 1, 44, 1], payload.to_vec()].concat(),
            [vec![0xc9, 0, 0, 1, 44, 1], payload.to_vec()].concat(),
        ];
        for scalar in scalars {
            // [scalar, [nil]]: depth 2 only if the scalar was skipped exactly.
            let value = [&[0x92][..], &scalar, &[0x91, 0xc0]].concat();
            assert_eq!(depth(&value), 2, "{scalar:02x?}");
            assert_eq!(depth(&scalar), 0, "{scalar:02x?}");
        }
    }

    #[test]
    fn bytes_after_the_value_are_not_looked_at() {
        let value = [&[0x91, 0x01][..], &arrays(1000)].concat();
        assert_eq!(depth(&value), 1);
    }

    #[test]
    fn truncated_or_invalid_input_passes_as_far_as_it_goes() {
        for cut in 0..20 {
            assert_eq!(check(&arrays(10)[..cut.min(11)], 10), Ok(()));
        }
        // Cut inside a length, inside a string, or at a reserved marker.
        assert_eq!(check(&[0x91, 0xdc, 0x00], 1), Ok(()));
        assert_eq!(check(&[0x91, 0xd9, 5, b'a'], 1), Ok(()));
        assert_eq!(check(&[0x91, 0xc1, 0x91, 0x91], 1), Ok(()));
        // What was read before the cut still counts.
        assert!(check(&arrays(20)[..15], 10).is_err());
    }

    #[test]
    fn huge_declared_lengths_cost_nothing() {
        // array 32 and map 32 of u32::MAX items with a few present: no allocation, no error.
        let array = [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02];
        assert_eq!(check(&array, 1), Ok(()));
        let map = [0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02];
        assert_eq!(check(&map, 1), Ok(()));
        // Lengths of strings and binaries beyond the input end the scan.
        assert_eq!(
            check(&[0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, b'x'], 1),
            Ok(())
        );
        assert_eq!(check(&[0x91, 0xc9, 0xff, 0xff, 0xff, 0xff, 1], 1), Ok(()));
        // A deep value inside a huge array is still found.
        let deep = [&[0xdd, 0xff, 0xff, 0xff, 0xff][..], &arrays(200)].concat();
        assert_eq!(check(&deep, 128), Err(TooDeep { limit: 128 }));
    }

    #[test]
    fn deep_limits_beyond_the_inline_stack_work() {
        // Up and down across the inline/heap boundary many times.
        let mut value = Vec::new();
        let rounds = 5;
        value.push(0x90 | rounds as u8);
        for _ in 0..rounds {
            value.extend(arrays(100));
        }
        assert_eq!(depth(&value), 101);
    }

    #[test]
    fn real_payloads_pass() {
        #[derive(serde::Serialize)]
        struct Student {
            name: String,
            grades: Vec<(String, f64)>,
            photo: serde_bytes::ByteBuf,
        }
        let student = Student {
            name: "Ada".into(),
            grades: vec![("math".into(), 1.0); 100],
            photo: serde_bytes::ByteBuf::from(vec![0x91; 4096]),
        };
        assert_eq!(depth(&encode(&(vec![&student, &student],))), 5);
    }
}
