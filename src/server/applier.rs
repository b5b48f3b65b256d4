//! The follower's applier control endpoints (spec §2) of `arangorepl serve`: the appliers are hosted by
//! [`crate::replication::host`] over this server's store ([`LocalFollower`]); here are the HTTP side
//! (methods, rights) and what the host needs to know of the server.

use crate::error::ArangoResult;
use crate::replication::host::{self, Host};
use crate::server::Shared;
use crate::server::follower::LocalFollower;
use crate::server::http::{ApiResult, Ctx, Params, json, method_not_allowed};
use crate::server::leader::server_info;
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

pub use crate::replication::host::Appliers;

/// This server as the host of its appliers.
#[derive(Clone)]
pub struct ServerHost(pub Shared);

impl Host for ServerHost {
    type F = LocalFollower;

    fn follower(&self) -> LocalFollower {
        LocalFollower { st: self.0.clone() }
    }

    fn server_json(&self) -> Value {
        let mut server = serde_json::to_value(server_info(&self.0, false)).unwrap_or(Value::Null);
        server["version"] = json!(self.0.version);
        server
    }

    async fn databases(&self) -> ArangoResult<Vec<String>> {
        Ok(self.0.store.catalog().database_names())
    }
}

/// Starts the appliers whose stored configuration has `autoStart` (spec §5.2).
pub async fn auto_start(st: &Shared) {
    host::auto_start(&ServerHost(st.clone()), &st.appliers).await
}

/// `/_api/replication/<command>` on the follower side; `None` when `command` is not one of them.
pub async fn command(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    p: &Params,
    body: &Bytes,
) -> Option<ApiResult> {
    if !host::is_command(command) {
        return None;
    }
    Some(
        async {
            if !host::method_allowed(command, method.as_str()) {
                return Err(method_not_allowed(
                    method,
                    &format!("/_api/replication/{command}"),
                ));
            }
            ctx.require_superuser()?;
            let from = if command == "applier-start" {
                p.u64("from")?
            } else {
                None
            };
            let v = host::command(
                &ServerHost(st.clone()),
                &st.appliers,
                &ctx.db,
                method.as_str(),
                command,
                from,
                p.bool("global", false),
                body,
            )
            .await?;
            Ok(json(StatusCode::OK, &v))
        }
        .await,
    )
}
