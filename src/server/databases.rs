//! `/_api/database`: list, create (with users), drop, current, and the user's databases.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::server::http::{Access, ApiError, ApiResult, Ctx, bad, body_object, result};
use crate::server::{Shared, blocking};
use crate::store::names;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn only_in_system(ctx: &Ctx) -> Result<(), ApiError> {
    if ctx.db == names::SYSTEM_DATABASE {
        Ok(())
    } else {
        Err(ApiError(ArangoError::new(
            codes::ARANGO_USE_SYSTEM_DATABASE,
        )))
    }
}

/// The system collections every ArangoDB database has, which scripts and drivers look at; they stay
/// empty where no feature of ours writes to them.
pub const SYSTEM_COLLECTIONS: [&str; 8] = [
    "_analyzers",
    "_graphs",
    "_aqlfunctions",
    "_queues",
    "_jobs",
    "_apps",
    "_appbundles",
    "_frontend",
];

/// Creates the [`SYSTEM_COLLECTIONS`] a database lacks (a new database, or one made by an older
/// version).
pub fn ensure_system_collections(store: &crate::store::Store, db: &str) -> ArangoResult<()> {
    let missing: Vec<&str> = {
        let cat = store.catalog();
        SYSTEM_COLLECTIONS
            .iter()
            .copied()
            .filter(|c| cat.collection(db, c).is_err())
            .collect()
    };
    for name in missing {
        match store.create_collection(db, crate::store::CollectionOptions::new(name)) {
            Ok(_) => {}
            Err(e) if e.error_num == codes::ARANGO_DUPLICATE_NAME => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `GET /_api/database`
pub async fn list(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    only_in_system(&ctx)?;
    ctx.require_superuser()?;
    Ok(result(StatusCode::OK, json!(st.store.databases())))
}

/// `GET /_api/database/current`
pub async fn current(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let def = st.store.database(&ctx.db)?;
    Ok(result(StatusCode::OK, def.properties_json()))
}

/// `GET /_api/database/user`: the databases the current user may access.
pub async fn user_databases(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let dbs: Vec<String> = st
        .store
        .databases()
        .into_iter()
        .filter(|d| {
            !st.auth.enabled || ctx.superuser || st.auth.access(&ctx.user, d) >= Access::ReadOnly
        })
        .collect();
    Ok(result(StatusCode::OK, json!(dbs)))
}

/// `POST /_api/database {"name", "options", "users": [{"username","passwd","active","extra"}]}`
pub async fn create(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    only_in_system(&ctx)?;
    ctx.require_superuser()?;
    let b = body_object(&body)?;
    let name = match b.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError(ArangoError::with_message(
                codes::ARANGO_DATABASE_NAME_INVALID,
                "database name invalid: expecting string attribute 'name'",
            )));
        }
    };
    let mut users = Vec::new();
    match b.get("users") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for u in a {
                let o = u
                    .as_object()
                    .ok_or_else(|| bad("each entry of 'users' must be an object"))?;
                let user = o
                    .get("username")
                    .or_else(|| o.get("user"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("each entry of 'users' needs a string 'username'"))?
                    .to_string();
                let passwd = match o.get("passwd") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(p)) => p.clone(),
                    Some(_) => return Err(bad("'passwd' must be a string")),
                };
                let active = o.get("active").and_then(Value::as_bool).unwrap_or(true);
                let extra = o.get("extra").cloned().unwrap_or_else(|| json!({}));
                users.push((user, passwd, active, extra));
            }
        }
        Some(_) => return Err(bad("'users' must be an array")),
    }
    let st2 = st.clone();
    blocking(move || {
        st2.store.create_database(&name)?;
        ensure_system_collections(&st2.store, &name)?;
        for (user, passwd, active, extra) in users {
            if st2.auth.get(&user).is_none() {
                st2.auth.create(&user, &passwd, active, extra)?;
            }
            st2.auth.grant(&user, &name, Access::ReadWrite)?;
        }
        Ok(())
    })
    .await?;
    Ok(result(StatusCode::CREATED, Value::Bool(true)))
}

/// `DELETE /_api/database/<name>`
pub async fn drop(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> ApiResult {
    only_in_system(&ctx)?;
    ctx.require_superuser()?;
    let st2 = st.clone();
    let dropped = name.clone();
    blocking(move || st2.store.drop_database(&name)).await?;
    // its applier stops and forgets what it cached, as the store forgot its record
    st.appliers.database_dropped(&dropped).await;
    Ok(result(StatusCode::OK, Value::Bool(true)))
}
