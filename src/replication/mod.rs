//! The replication core: the follower's configuration, state, leader client and initial sync, plus the
//! shared pieces: the wire types of the leader API, the collection filter of
//! `includeSystem`/`includeFoxxQueues`, and the key-chunk hash of incremental sync. Both sides use them:
//! the leader endpoints in `server/` produce these shapes and a follower parses them.

pub mod applier;
pub mod config;
pub mod filter;
pub mod follower;
pub mod host;
pub mod initial_sync;
pub mod keys;
pub mod leader_client;
pub mod remote;
pub mod state;
pub mod wire;
