//! arangorepl: ArangoDB-style Leader/Follower replication — a server, a replication applier and an
//! arangosh-compatible shell in one binary.
//!
//! Layers (each imports only the ones below it; see `architecture.md`):
//! - [`store`] — the durable embedded store (redb): databases, collections, documents, indexes, stream
//!   transactions and the tick-numbered replication log written atomically with every change.
//! - [`server`] — the ArangoDB-compatible HTTP API over a store, including the leader's replication API.
//! - [`replication`] — replication wire types and rules shared by leader and follower; initial sync and
//!   the continuous applier, writing through a `Follower` trait, arrive with the follower issues.
//! - [`client`] — the one ArangoDB HTTP client, shared by the shell and the replication core.
//! - [`js`] — the boa JavaScript runtime with `db`, `arango` and `@arangodb/replication`.
//! - [`shell`] — the REPL and script runner.
//!
//! Leaf modules: [`error`] (ArangoDB's error numbers and envelope), [`tick`] (ticks on the wire),
//! [`endpoint`] (endpoint strings), [`time`] (UTC timestamps as the replication API writes them),
//! [`logging`] (log levels per topic that change at run time, recent entries kept in memory).

/// The ArangoDB version our server reports and the shell shows (arangosh and ArangoDB 3.8–3.11 followers
/// accept it).
pub const ARANGODB_VERSION: &str = "3.11.4";

pub mod aql;
pub mod client;
pub mod demo;
pub mod endpoint;
pub mod error;
pub mod js;
pub mod logging;
pub mod metrics;
pub mod proxy;
pub mod replication;
pub mod server;
pub mod service;
pub mod shell;
pub mod store;
pub mod tick;
pub mod time;
pub mod tls;
