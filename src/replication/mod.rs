//! The replication core's shared pieces: the wire types of the leader API, the collection filter of
//! `includeSystem`/`includeFoxxQueues`, and the key-chunk hash of incremental sync. Both sides use them:
//! the leader endpoints in `server/` produce these shapes and a follower parses them.

pub mod filter;
pub mod keys;
pub mod wire;
