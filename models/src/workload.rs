//! What the clients of every key-value model do, so that the Raft and chain models check
//! the same workload.

use coord_specs::kv::KvOp;

/// Client `c`'s script of `ops` operations: put and get of key `x` alternating, starting
/// with a put of the client's own value. Client 1 (and every odd client) creates the key
/// only if absent, so that both outcomes of a conditional put occur.
pub fn kv_script(c: usize, ops: usize) -> Vec<KvOp> {
    let value = ["a", "b", "c", "d", "e", "f"][c % 6];
    (0..ops)
        .map(|i| {
            if i % 2 == 1 {
                get_x()
            } else {
                KvOp::Put {
                    key: "x".into(),
                    value: value.into(),
                    expected: (c % 2 == 1).then_some(0),
                }
            }
        })
        .collect()
}

/// A read of the key every script uses.
pub fn get_x() -> KvOp {
    KvOp::Get { key: "x".into() }
}
