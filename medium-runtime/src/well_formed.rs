//! Whether a received frame body is exactly one well-formed MessagePack value, and whether it
//! nests deeper than the receiver allows, in one pass before anything else reads it.
//!
//! Well-formed means: every item whole (no length running past the body), no reserved marker
//! `0xc1`, every `str` valid UTF-8, and no byte after the value. A frame that is not is
//! malformed, whatever it holds. Depth matters because serde decodes nested arrays and maps by
//! recursion, a few KiB of stack per level in a debug build, so a small frame of a few hundred
//! nested arrays would overflow a thread's stack and abort the process.
//!
//! [`check`] walks the bytes once, in a loop: no recursion, and no allocation for values
//! nesting up to [`INLINE`] levels (a declared length is only a counter, so a huge array
//! header costs nothing; a `bin` is skipped without reading it). Pure, no I/O.

use bytes::Bytes;

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

/// Serde's error for a value too deep to decode: what a call or event stream reports.
impl From<TooDeep> for rmp_serde::decode::Error {
    fn from(_: TooDeep) -> Self {
        rmp_serde::decode::Error::DepthLimitExceeded
    }
}

/// The value a message carries (a call's arguments, a reply's value, an event's arguments),
/// taken from a well-formed frame: its bytes, or why they are not to be decoded.
pub(crate) type CheckedValue = Result<WellFormed, TooDeep>;

/// Bytes that [`check`] found well-formed: whole MessagePack items, every `str` among them
/// UTF-8. Only this module makes one (the whole of a checked frame body, or its last item:
/// [`CheckedFrame::last_item`]), so a decoder reading them item by item from their start may
/// take each `str` as UTF-8 without checking it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WellFormed(Bytes);

impl WellFormed {
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }
}

/// A frame body that [`check_frame`] found well-formed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckedFrame<'a>(&'a Bytes);

impl CheckedFrame<'_> {
    /// The body's last `len` bytes, for a reader that read the body from its start, `heads`
    /// item heads in all, each taken whole (a container's head is its marker and length, any
    /// other item's head is the whole item), up to the last item of the body's outer array.
    /// The items it read are then the ones [`check`] read, so its position is where `check`
    /// found an item to start, and what is left, the body being one value, is that one item.
    /// Not walked again (about 100 instructions per frame), but in debug builds (tests, fuzzing).
    pub(crate) fn last_item(&self, heads: usize, len: usize) -> WellFormed {
        debug_assert!(
            self.after(heads)
                .is_some_and(|after| after.0.len() == len && len > 0),
            "a reader's last item is not where `check` found one"
        );
        WellFormed(self.0.slice(self.0.len() - len..))
    }

    /// What follows the first `heads` item heads of the body (heads as above), by this
    /// module's own reading of the items. `None` when the body has fewer.
    fn after(&self, heads: usize) -> Option<WellFormed> {
        let mut rest: &[u8] = self.0;
        for _ in 0..heads {
            let (&marker, after) = rest.split_first()?;
            rest = after;
            match Item::of(marker, &mut rest)? {
                Item::Scalar(len) | Item::Str(len) => rest = rest.get(len..)?,
                Item::Container(_) => {}
                Item::Reserved => return None,
            }
        }
        Some(WellFormed(self.0.slice(self.0.len() - rest.len()..)))
    }
}

/// [`check`] for a frame body, which is then known to be well-formed.
pub(crate) fn check_frame(
    body: &Bytes,
    limit: usize,
) -> Result<(CheckedFrame<'_>, Nesting), Malformed> {
    let nesting = check(body, limit)?;
    Ok((CheckedFrame(body), nesting))
}

/// `body`, which must be well-formed (any depth), as [`WellFormed`], for tests.
#[cfg(test)]
pub(crate) fn checked(body: impl Into<Bytes>) -> WellFormed {
    let body = body.into();
    check(&body, 0).expect("a well-formed value");
    WellFormed(body)
}

/// Whether `text` is UTF-8; ASCII (the usual case: names, keys, ids) without `from_utf8`'s
/// per-call cost.
pub(crate) fn is_utf8(text: &[u8]) -> bool {
    text.is_ascii() || std::str::from_utf8(text).is_ok()
}

/// Why a frame body is not exactly one well-formed MessagePack value. `at` is a byte offset
/// into the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("the frame ends inside a MessagePack value (a length runs past its end)")]
    Truncated,
    #[error("reserved MessagePack marker 0xc1 at byte {at}")]
    ReservedMarker { at: usize },
    #[error("the str at byte {at} is not UTF-8")]
    NotUtf8 { at: usize },
    #[error(
        "{extra} {} after the frame's MessagePack value",
        if *extra == 1 { "byte" } else { "bytes" }
    )]
    BytesAfterValue { extra: usize },
}

/// Whether a well-formed value stays within the depth limit it was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nesting {
    WithinLimit,
    TooDeep,
}

/// Checks that `body` is exactly one well-formed MessagePack value, and whether it nests at
/// most `limit` arrays and maps deep (a scalar is depth 0, `[]` and `[1]` depth 1, `[[1]]`
/// depth 2; map keys count like values). A value too deep is still scanned to its end, so
/// malformed input is reported as such however deep it is.
pub(crate) fn check(body: &[u8], limit: usize) -> Result<Nesting, Malformed> {
    let mut scan = Scan {
        body,
        rest: body,
        expected: 1,
    };
    // Items left in the innermost open container (at first: the one top-level value), and in
    // each container around it; `outer.len` containers are open.
    let mut left: u64 = 1;
    let mut outer = Open::default();
    while scan.expected > 0 {
        if let Some(items) = scan.item()? {
            if outer.len >= limit {
                // Too deep: the rest is only checked to be well-formed.
                while scan.expected > 0 {
                    scan.item()?;
                }
                return scan.end(Nesting::TooDeep);
            }
            if items > 0 {
                outer.push(left - 1);
                left = items;
                continue;
            }
        }
        // One item is complete: count it off its container, and every container it completes
        // off the one around it.
        left -= 1;
        while left == 0 {
            match outer.pop() {
                Some(around) => left = around,
                None => break,
            }
        }
    }
    scan.end(Nesting::WithinLimit)
}

/// Reading a body item by item. Every item takes at least one byte, so more items expected
/// (in all open containers) than bytes left is truncated, which also keeps the count from
/// overflowing.
struct Scan<'a> {
    body: &'a [u8],
    rest: &'a [u8],
    /// Items still expected until the value ends.
    expected: u64,
}

impl Scan<'_> {
    /// Reads the next item: a container's head (`Some` of its item count, counted as expected)
    /// or a whole scalar or str (`None`).
    #[inline(always)]
    fn item(&mut self) -> Result<Option<u64>, Malformed> {
        let at = self.body.len() - self.rest.len();
        let (&marker, mut rest) = self.rest.split_first().ok_or(Malformed::Truncated)?;
        self.expected -= 1;
        let items = match Item::of(marker, &mut rest).ok_or(Malformed::Truncated)? {
            Item::Reserved => return Err(Malformed::ReservedMarker { at }),
            Item::Scalar(len) => {
                rest = rest.get(len..).ok_or(Malformed::Truncated)?;
                None
            }
            Item::Str(len) => {
                let (text, after) = rest.split_at_checked(len).ok_or(Malformed::Truncated)?;
                if !is_utf8(text) {
                    return Err(Malformed::NotUtf8 { at });
                }
                rest = after;
                None
            }
            Item::Container(items) => {
                self.expected += items;
                if self.expected > rest.len() as u64 {
                    return Err(Malformed::Truncated);
                }
                Some(items)
            }
        };
        self.rest = rest;
        Ok(items)
    }

    /// `nesting`, once the value ended: nothing may follow it.
    fn end(&self, nesting: Nesting) -> Result<Nesting, Malformed> {
        match self.rest.len() {
            0 => Ok(nesting),
            extra => Err(Malformed::BytesAfterValue { extra }),
        }
    }
}

/// What a marker starts: a scalar with this many bytes after its header, a `str` of this many
/// bytes, a container of this many items (a map's keys and values both count), or the
/// reserved marker.
enum Item {
    Scalar(usize),
    Str(usize),
    Container(u64),
    Reserved,
}

impl Item {
    /// The item `marker` starts, reading its length from `rest`; `None` when truncated.
    /// Matched on the byte itself (MessagePack's marker table), the fix* ranges first.
    #[inline(always)]
    fn of(marker: u8, rest: &mut &[u8]) -> Option<Item> {
        let len =
            |rest: &mut &[u8], width| length(rest, width).and_then(|n| usize::try_from(n).ok());
        // An extension's payload follows its type byte.
        let ext = |rest: &mut &[u8], width| len(rest, width)?.checked_add(1).map(Item::Scalar);
        Some(match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Item::Scalar(0),
            0x80..=0x8f => Item::Container(2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => Item::Container(u64::from(marker & 0x0f)),
            0xa0..=0xbf => Item::Str(usize::from(marker & 0x1f)),
            0xc1 => Item::Reserved,
            0xc4 => Item::Scalar(len(rest, 1)?),
            0xc5 => Item::Scalar(len(rest, 2)?),
            0xc6 => Item::Scalar(len(rest, 4)?),
            0xc7 => ext(rest, 1)?,
            0xc8 => ext(rest, 2)?,
            0xc9 => ext(rest, 4)?,
            0xcc | 0xd0 => Item::Scalar(1),
            0xcd | 0xd1 => Item::Scalar(2),
            0xca | 0xce | 0xd2 => Item::Scalar(4),
            0xcb | 0xcf | 0xd3 => Item::Scalar(8),
            // fixext 1, 2, 4, 8, 16.
            0xd4 => Item::Scalar(2),
            0xd5 => Item::Scalar(3),
            0xd6 => Item::Scalar(5),
            0xd7 => Item::Scalar(9),
            0xd8 => Item::Scalar(17),
            0xd9 => Item::Str(len(rest, 1)?),
            0xda => Item::Str(len(rest, 2)?),
            0xdb => Item::Str(len(rest, 4)?),
            0xdc => Item::Container(length(rest, 2)?),
            0xdd => Item::Container(length(rest, 4)?),
            0xde => Item::Container(2 * length(rest, 2)?),
            0xdf => Item::Container(2 * length(rest, 4)?),
        })
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

    fn pop(&mut self) -> Option<u64> {
        self.len = self.len.checked_sub(1)?;
        match self.inline.get(self.len) {
            Some(&items) => Some(items),
            None => self.deeper.pop(),
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

    fn within(value: &[u8], limit: usize) -> bool {
        check(value, limit).unwrap() == Nesting::WithinLimit
    }

    fn depth(value: &[u8]) -> usize {
        (0..10_000).find(|&limit| within(value, limit)).unwrap()
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
            assert!(within(&arrays(limit), limit), "{limit}");
            assert!(!within(&arrays(limit + 1), limit), "{limit}");
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
        // {1: [[nil]], 2: 3}
        assert_eq!(depth(&[0x82, 0x01, 0x91, 0x91, 0xc0, 0x02, 0x03]), 3);
        // A model with an unknown key holding nested arrays, as the frame had.
        let mut model = vec![0x91, 0x82, 0xa4];
        model.extend(b"name");
        model.extend([0xa1, b'x', 0xa5]);
        model.extend(b"extra");
        model.extend(arrays(700));
        assert_eq!(depth(&model), 702);
        assert!(!within(&model, DEFAULT_MAX_NESTING_DEPTH));
    }

    /// Every scalar encoding, each with a payload of bytes that would be containers if read as
    /// markers.
    fn scalars() -> Vec<Vec<u8>> {
        let payload = [0x91u8; 300];
        vec![
            vec![0xcc, 0x91],
            vec![0xcd, 0x91, 0x91],
            vec![0xce, 0x91, 0x91, 0x91, 0x91],
            [vec![0xcf], vec![0x91; 8]].concat(),
            vec![0xd0, 0x91],
            [vec![0xd3], vec![0x91; 8]].concat(),
            vec![0xca, 0x91, 0x91, 0x91, 0x91],
            [vec![0xcb], vec![0x91; 8]].concat(),
            [vec![0xa3], vec![b'a'; 3]].concat(),
            [vec![0xd9, 3], vec![b'a'; 3]].concat(),
            [vec![0xda, 1, 44], vec![b'a'; 300]].concat(),
            [vec![0xdb, 0, 0, 1, 44], vec![b'a'; 300]].concat(),
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
        ]
    }

    #[test]
    fn every_scalar_encoding_is_skipped_whole() {
        for scalar in scalars() {
            // [scalar, [nil]]: depth 2 only if the scalar was skipped exactly.
            let value = [&[0x92][..], &scalar, &[0x91, 0xc0]].concat();
            assert_eq!(depth(&value), 2, "{scalar:02x?}");
            assert_eq!(depth(&scalar), 0, "{scalar:02x?}");
        }
    }

    #[test]
    fn every_truncation_is_malformed() {
        for scalar in scalars() {
            for cut in 0..scalar.len() {
                assert_eq!(
                    check(&scalar[..cut], 10),
                    Err(Malformed::Truncated),
                    "{scalar:02x?} cut at {cut}"
                );
            }
        }
        for cut in 0..11 {
            assert_eq!(check(&arrays(10)[..cut], 10), Err(Malformed::Truncated));
        }
        // Cut inside a length, a map missing its last value.
        assert_eq!(check(&[0x91, 0xdc, 0x00], 1), Err(Malformed::Truncated));
        assert_eq!(
            check(&[0x82, 0x01, 0x02, 0x03], 1),
            Err(Malformed::Truncated)
        );
    }

    #[test]
    fn bytes_after_the_value_are_malformed() {
        assert_eq!(
            check(&[0x91, 0x01, 0xc0, 0xc0], 5),
            Err(Malformed::BytesAfterValue { extra: 2 })
        );
        // Even after a value that is too deep.
        let deep = [&arrays(300)[..], &[0x01]].concat();
        assert_eq!(
            check(&deep, 5),
            Err(Malformed::BytesAfterValue { extra: 1 })
        );
    }

    #[test]
    fn the_reserved_marker_is_malformed_wherever_it_is() {
        assert_eq!(check(&[0xc1], 1), Err(Malformed::ReservedMarker { at: 0 }));
        assert_eq!(
            check(&[0x92, 0x01, 0xc1], 1),
            Err(Malformed::ReservedMarker { at: 2 })
        );
        // Deeper than the limit too: the scan goes on to the end.
        let deep = [&[0x92][..], &arrays(50), &[0xc1]].concat();
        assert_eq!(check(&deep, 5), Err(Malformed::ReservedMarker { at: 52 }));
    }

    #[test]
    fn a_str_must_be_utf8_but_a_bin_need_not() {
        assert_eq!(
            check(&[0x92, 0xa2, 0xc3, 0x28, 0x01], 1),
            Err(Malformed::NotUtf8 { at: 1 })
        );
        assert_eq!(
            check(&[0xd9, 1, 0xff], 1),
            Err(Malformed::NotUtf8 { at: 0 })
        );
        assert_eq!(check(&[0xc4, 2, 0xc3, 0x28], 1), Ok(Nesting::WithinLimit));
        let text = [&[0xa2][..], "é".as_bytes()].concat();
        assert_eq!(check(&text, 0), Ok(Nesting::WithinLimit));
    }

    #[test]
    fn huge_declared_lengths_are_truncated_at_once() {
        // array 32 and map 32 of u32::MAX items with a few present.
        assert_eq!(
            check(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02], 1),
            Err(Malformed::Truncated)
        );
        assert_eq!(
            check(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02], 1),
            Err(Malformed::Truncated)
        );
        // Lengths of strings, binaries and extensions beyond the input.
        for value in [
            &[0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, b'x'][..],
            &[0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 1],
            &[0x91, 0xc9, 0xff, 0xff, 0xff, 0xff, 1],
        ] {
            assert_eq!(check(value, 1), Err(Malformed::Truncated));
        }
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

    /// `check` by recursion, a different walk to compare with: the same items in the same
    /// order, the same count of items still expected (for `Truncated`), the depth reached by
    /// each branch.
    fn recursive(body: &[u8], limit: usize) -> Result<Nesting, Malformed> {
        struct Walk<'a> {
            body: &'a [u8],
            rest: &'a [u8],
            expected: u64,
            deepest: usize,
        }
        impl Walk<'_> {
            fn value(&mut self, depth: usize) -> Result<(), Malformed> {
                let at = self.body.len() - self.rest.len();
                let (&marker, mut rest) = self.rest.split_first().ok_or(Malformed::Truncated)?;
                self.expected -= 1;
                match Item::of(marker, &mut rest).ok_or(Malformed::Truncated)? {
                    Item::Reserved => return Err(Malformed::ReservedMarker { at }),
                    Item::Scalar(len) => self.rest = rest.get(len..).ok_or(Malformed::Truncated)?,
                    Item::Str(len) => {
                        let text = rest.get(..len).ok_or(Malformed::Truncated)?;
                        if std::str::from_utf8(text).is_err() {
                            return Err(Malformed::NotUtf8 { at });
                        }
                        self.rest = &rest[len..];
                    }
                    Item::Container(items) => {
                        self.expected += items;
                        if self.expected > rest.len() as u64 {
                            return Err(Malformed::Truncated);
                        }
                        self.rest = rest;
                        self.deepest = self.deepest.max(depth + 1);
                        for _ in 0..items {
                            self.value(depth + 1)?;
                        }
                    }
                }
                Ok(())
            }
        }
        let mut walk = Walk {
            body,
            rest: body,
            expected: 1,
            deepest: 0,
        };
        walk.value(0)?;
        if !walk.rest.is_empty() {
            return Err(Malformed::BytesAfterValue {
                extra: walk.rest.len(),
            });
        }
        Ok(if walk.deepest > limit {
            Nesting::TooDeep
        } else {
            Nesting::WithinLimit
        })
    }

    #[test]
    fn agrees_with_a_recursive_walk_on_damaged_frames() {
        #[derive(serde::Serialize)]
        struct Student {
            id: String,
            first_name: String,
            age: u8,
            photo: serde_bytes::ByteBuf,
            grades: Vec<Vec<f64>>,
        }
        let student = Student {
            id: "s-000042".into(),
            first_name: "Zoë".into(),
            age: 36,
            photo: serde_bytes::ByteBuf::from(vec![0x91; 8]),
            grades: vec![vec![1.5], vec![]],
        };
        let frames = [
            encode(&(2u8, 77u32, &student)),
            encode(&(5u8, "student_added", (1.25f64, [&student, &student]))),
            arrays(6),
        ];
        let markers = [
            0x00, 0x7f, 0x80, 0x81, 0x91, 0x92, 0xa3, 0xc0, 0xc1, 0xc4, 0xd9, 0xdc,
        ];
        let mut cases = 0;
        for frame in &frames {
            for at in 0..=frame.len() {
                let mut damaged = vec![frame[..at].to_vec(), [&frame[..], &[0xc0]].concat()];
                for &marker in &markers {
                    let mut changed = frame.clone();
                    if let Some(byte) = changed.get_mut(at) {
                        *byte = marker;
                        damaged.push(changed);
                    }
                }
                for body in &damaged {
                    for limit in 0..8 {
                        assert_eq!(
                            check(body, limit),
                            recursive(body, limit),
                            "{body:x?} {limit}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 10_000, "{cases}");
    }
}
