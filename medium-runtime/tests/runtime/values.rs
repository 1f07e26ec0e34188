//! Every MessagePack type the spec language uses survives a round trip unchanged: a fixed
//! sample of edge values, and random values of every shape (proptest) through a real call.

use medium_runtime::NoException;
use proptest::prelude::*;

use crate::support::{AllTypes, Inner, TestDaemon};

fn sample() -> AllTypes {
    let inner = |name: &str| Inner {
        name: name.into(),
        tags: vec!["a".into(), "ü€".into(), String::new()],
    };
    AllTypes {
        flag: true,
        i8_min: i8::MIN,
        u8_max: u8::MAX,
        i16_min: i16::MIN,
        u16_max: u16::MAX,
        i32_min: i32::MIN,
        u32_max: u32::MAX,
        i64_min: i64::MIN,
        u64_max: u64::MAX,
        float: 1.5e-3,
        double: -2.25e300,
        text: "Grüße, 世界".into(),
        blob: (0..=255).collect(),
        grid: vec![vec![1, -2], vec![], vec![i32::MAX]],
        inner: inner("one"),
        inners: vec![vec![inner("two"), inner("three")], vec![]],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_msgpack_type_round_trips_unchanged() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let value = sample();
    let back: AllTypes = client
        .call::<_, _, NoException>("echo_all", &(&value,))
        .await
        .unwrap();
    assert_eq!(back, value);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_travels_as_msgpack_bin_not_an_int_array() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    for len in [3usize, 300, 70_000] {
        let blob = serde_bytes::ByteBuf::from(vec![7u8; len]);
        let raw: serde_bytes::ByteBuf = client
            .call::<_, _, NoException>("raw_args", &(&blob,))
            .await
            .unwrap();
        // Arguments are `[blob]`: a one-element array holding bin8/bin16/bin32.
        let (marker, header) = match len {
            0..=255 => (0xc4, vec![len as u8]),
            256..=65535 => (0xc5, (len as u16).to_be_bytes().to_vec()),
            _ => (0xc6, (len as u32).to_be_bytes().to_vec()),
        };
        assert_eq!(raw[0], 0x91, "args are an array of one");
        assert_eq!(raw[1], marker, "binary of {len} bytes is bin");
        assert_eq!(&raw[2..2 + header.len()], &header[..]);
        assert_eq!(raw.len(), 2 + header.len() + len);
    }
}

fn inner_strategy() -> impl Strategy<Value = Inner> {
    (".{0,12}", prop::collection::vec(".{0,6}", 0..4)).prop_map(|(name, tags)| Inner { name, tags })
}

prop_compose! {
    fn all_types()(
        (flag, i8_min, u8_max, i16_min, u16_max, i32_min) in
            (any::<bool>(), any::<i8>(), any::<u8>(), any::<i16>(), any::<u16>(), any::<i32>()),
        (u32_max, i64_min, u64_max) in (any::<u32>(), any::<i64>(), any::<u64>()),
        // NaN is excluded only because it is not equal to itself.
        float in any::<f32>().prop_filter("NaN", |f| !f.is_nan()),
        double in any::<f64>().prop_filter("NaN", |f| !f.is_nan()),
        text in ".{0,40}",
        blob in prop::collection::vec(any::<u8>(), 0..300),
        grid in prop::collection::vec(prop::collection::vec(any::<i32>(), 0..5), 0..4),
        inner in inner_strategy(),
        inners in prop::collection::vec(prop::collection::vec(inner_strategy(), 0..3), 0..3),
    ) -> AllTypes {
        AllTypes {
            flag, i8_min, u8_max, i16_min, u16_max, i32_min, u32_max, i64_min, u64_max,
            float, double, text, blob, grid, inner, inners,
        }
    }
}

#[test]
fn random_values_of_every_shape_survive_a_call_unchanged() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // One daemon and connection for all cases: the property is about values, not connections.
    let (daemon, client) = runtime.block_on(async {
        let daemon = TestDaemon::start().await;
        let client = daemon.client().await;
        (daemon, client)
    });
    let config = ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    };
    proptest!(config, |(value in all_types())| {
        let back: AllTypes = runtime
            .block_on(client.call::<_, _, NoException>("echo_all", &(&value,)))
            .unwrap();
        prop_assert_eq!(back, value);
    });
    drop(daemon);
}
