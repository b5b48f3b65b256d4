//! Routing of `/_api/replication/*`: the leader's commands (`leader.rs`), the follower's applier control
//! (`applier.rs`); unknown commands and extra
//! path segments get ArangoDB's errors.

use crate::error::{ArangoError, codes};
use crate::server::Shared;
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad};
use crate::server::{applier, leader, restore};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;

fn invalid_command(cmd: &str) -> ApiError {
    bad(format!("invalid command '{cmd}'"))
}

/// The commands ArangoDB 3.12.10 no longer has.
pub fn removed_in_3_12_10(cmd: &str) -> bool {
    crate::replication::host::is_command(cmd) || cmd == "logger-follow"
}

/// `/_api/replication/<command>`
pub async fn command(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    Path(cmd): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    if (st.without_applier && removed_in_3_12_10(&cmd))
        || (!st.restore_api && cmd.starts_with("restore-"))
    {
        return Err(crate::server::removed_path(&format!(
            "/_api/replication/{cmd}"
        )));
    }
    if let Some(r) = restore::command(&st, &ctx, &method, &cmd, &p, &body).await {
        return r;
    }
    if let Some(r) = leader::command(&st, &ctx, &method, &cmd, &p, &body).await {
        return r;
    }
    match applier::command(&st, &ctx, &method, &cmd, &p, &body).await {
        Some(r) => r,
        None => Err(invalid_command(&cmd)),
    }
}

/// `/_api/replication/<command>/<id>`
pub async fn command_with_id(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    Path((cmd, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    match leader::command_with_id(&st, &ctx, &method, &cmd, &id, &p, &body).await {
        Some(r) => r,
        None if matches!(cmd.as_str(), "batch" | "keys" | "revisions") => {
            Err(invalid_command(&cmd))
        }
        None => Err(too_many_segments(&cmd)),
    }
}

/// Anything deeper than `/_api/replication/<command>/<id>`.
pub async fn too_deep(Path(parts): Path<std::collections::HashMap<String, String>>) -> ApiResult {
    let cmd = parts.get("cmd").cloned().unwrap_or_default();
    if cmd == "revisions" {
        return Err(leader::revisions_unsupported());
    }
    Err(too_many_segments(&cmd))
}

fn too_many_segments(cmd: &str) -> ApiError {
    ApiError(ArangoError::with_message(
        codes::HTTP_SUPERFLUOUS_SUFFICES,
        format!("expecting URL /_api/replication/{cmd}"),
    ))
}
