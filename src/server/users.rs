//! `/_api/user`: create, list, read, change (password, active, extra), delete users, and their access
//! levels per database. Managing users needs admin rights; a user may read and change itself.

use crate::error::{ArangoError, codes};
use crate::server::http::{
    Access, ApiError, ApiResult, Ctx, Params, bad, body_object, forbidden, ok_with, result,
};
use crate::server::{Shared, blocking};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

fn self_or_admin(ctx: &Ctx, user: &str) -> Result<(), ApiError> {
    if ctx.superuser || ctx.user == user {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// A user the caller may look at (itself, or any as an administrator) and that exists (1703).
fn known_user(st: &Shared, ctx: &Ctx, user: &str) -> Result<(), ApiError> {
    self_or_admin(ctx, user)?;
    st.auth
        .get(user)
        .map(|_| ())
        .ok_or_else(|| ApiError(ArangoError::new(codes::USER_NOT_FOUND)))
}

fn str_field(b: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("'{k}' must be a string"))),
    }
}

fn bool_field(b: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(v)) => Ok(Some(*v)),
        Some(_) => Err(bad(format!("'{k}' must be a boolean"))),
    }
}

/// `GET /_api/user`
pub async fn list(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let users: Vec<Value> = st
        .auth
        .list()
        .into_iter()
        .filter(|u| ctx.superuser || u.user == ctx.user)
        .map(|u| u.to_json())
        .collect();
    Ok(result(StatusCode::OK, json!(users)))
}

/// `POST /_api/user {"user", "passwd", "active", "extra"}`
pub async fn create(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_superuser()?;
    let b = body_object(&body)?;
    let user = str_field(&b, "user")?.ok_or_else(|| {
        ApiError(ArangoError::with_message(
            codes::USER_INVALID_NAME,
            "invalid user name: expecting string attribute 'user'",
        ))
    })?;
    let passwd = str_field(&b, "passwd")?.unwrap_or_default();
    let active = bool_field(&b, "active")?.unwrap_or(true);
    let extra = b.get("extra").cloned().unwrap_or_else(|| json!({}));
    let st2 = st.clone();
    let rec = blocking(move || st2.auth.create(&user, &passwd, active, extra)).await?;
    Ok(ok_with(StatusCode::CREATED, rec.to_json()))
}

/// `GET /_api/user/<user>`
pub async fn get_one(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(user): Path<String>,
) -> ApiResult {
    self_or_admin(&ctx, &user)?;
    let rec = st
        .auth
        .get(&user)
        .ok_or_else(|| ApiError(ArangoError::new(codes::USER_NOT_FOUND)))?;
    Ok(ok_with(StatusCode::OK, rec.to_json()))
}

/// PATCH changes what the body gives; PUT replaces: what it leaves out takes ArangoDB's defaults
/// (empty password, active, empty `extra`).
async fn change(st: Shared, ctx: Ctx, user: String, body: Bytes, replace: bool) -> ApiResult {
    self_or_admin(&ctx, &user)?;
    let b = body_object(&body)?;
    let mut passwd = str_field(&b, "passwd")?;
    let mut active = bool_field(&b, "active")?;
    if active.is_some() && !ctx.superuser {
        return Err(forbidden());
    }
    let mut extra = b.get("extra").cloned();
    if replace {
        passwd = passwd.or_else(|| Some(String::new()));
        if ctx.superuser {
            active = active.or(Some(true));
        }
        extra = extra.or_else(|| Some(json!({})));
    }
    let st2 = st.clone();
    let rec = blocking(move || st2.auth.update(&user, passwd.as_deref(), active, extra)).await?;
    Ok(ok_with(StatusCode::OK, rec.to_json()))
}

/// `PUT /_api/user/<user>`
pub async fn replace(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(user): Path<String>,
    body: Bytes,
) -> ApiResult {
    change(st, ctx, user, body, true).await
}

/// `PATCH /_api/user/<user>`
pub async fn modify(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(user): Path<String>,
    body: Bytes,
) -> ApiResult {
    change(st, ctx, user, body, false).await
}

/// `DELETE /_api/user/<user>`
pub async fn remove(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(user): Path<String>,
) -> ApiResult {
    ctx.require_superuser()?;
    let st2 = st.clone();
    blocking(move || st2.auth.remove(&user)).await?;
    Ok(ok_with(StatusCode::ACCEPTED, json!({})))
}

/// `GET /_api/user/<user>/database[?full=true]`: each database's level; with `full`, also the
/// collections' (`{"permission": …, "collections": {name: level, "*": level}}`).
pub async fn databases(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    known_user(&st, &ctx, &user)?;
    let full = Params::parse(q.as_deref()).bool("full", false);
    let cat = st.store.catalog();
    let mut m = Map::new();
    for d in st.store.databases() {
        let level = st.auth.access(&user, &d);
        if !full {
            if level != Access::None {
                m.insert(d, json!(level.as_str()));
            }
            continue;
        }
        let mut colls = Map::new();
        for c in cat.collections_of(&d).unwrap_or_default() {
            let l = st.auth.collection_access(&user, &d, &c.name);
            colls.insert(c.name.clone(), json!(l.as_str()));
        }
        let star = st
            .auth
            .explicit_collection_access(&user, &d, "*")
            .unwrap_or(level);
        colls.insert("*".into(), json!(star.as_str()));
        m.insert(
            d,
            json!({"permission": level.as_str(), "collections": colls}),
        );
    }
    Ok(result(StatusCode::OK, Value::Object(m)))
}

/// `GET /_api/user/<user>/database/<db>`
pub async fn database_level(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db)): Path<(String, String)>,
) -> ApiResult {
    known_user(&st, &ctx, &user)?;
    Ok(result(
        StatusCode::OK,
        json!(st.auth.access(&user, &db).as_str()),
    ))
}

fn grant_level(body: &Bytes) -> Result<Access, ApiError> {
    body_object(body)?
        .get("grant")
        .and_then(Value::as_str)
        .and_then(Access::parse)
        .ok_or_else(|| bad("expecting attribute 'grant' with one of \"rw\", \"ro\", \"none\""))
}

/// `GET /_api/user/<user>/database/<db>/<collection>`
pub async fn collection_level(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db, coll)): Path<(String, String, String)>,
) -> ApiResult {
    known_user(&st, &ctx, &user)?;
    Ok(result(
        StatusCode::OK,
        json!(st.auth.collection_access(&user, &db, &coll).as_str()),
    ))
}

/// `PUT /_api/user/<user>/database/<db>/<collection> {"grant": "rw"|"ro"|"none"}`
pub async fn grant_collection(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db, coll)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    ctx.require_superuser()?;
    let level = grant_level(&body)?;
    if db != "*" {
        st.store.database(&db).map_err(ApiError)?;
        if coll != "*" {
            st.store.collection(&db, &coll).map_err(ApiError)?;
        }
    }
    let (st2, u2, d2, c2) = (st.clone(), user.clone(), db.clone(), coll.clone());
    blocking(move || st2.auth.grant_collection(&u2, &d2, &c2, level)).await?;
    Ok(ok_with(
        StatusCode::OK,
        json!({ format!("{db}/{coll}"): level.as_str() }),
    ))
}

/// `DELETE /_api/user/<user>/database/<db>/<collection>`
pub async fn revoke_collection(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db, coll)): Path<(String, String, String)>,
) -> ApiResult {
    ctx.require_superuser()?;
    let st2 = st.clone();
    blocking(move || st2.auth.revoke_collection(&user, &db, &coll)).await?;
    Ok(ok_with(StatusCode::ACCEPTED, json!({})))
}

/// `PUT /_api/user/<user>/database/<db> {"grant": "rw"|"ro"|"none"}`
pub async fn grant(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    ctx.require_superuser()?;
    let level = grant_level(&body)?;
    if db != "*" && st.store.database(&db).is_err() {
        return Err(ApiError(crate::store::database_not_found(&db)));
    }
    let (st2, u2, d2) = (st.clone(), user.clone(), db.clone());
    blocking(move || st2.auth.grant(&u2, &d2, level)).await?;
    Ok(ok_with(StatusCode::OK, json!({ db: level.as_str() })))
}

/// `DELETE /_api/user/<user>/database/<db>`
pub async fn revoke(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((user, db)): Path<(String, String)>,
) -> ApiResult {
    ctx.require_superuser()?;
    let st2 = st.clone();
    blocking(move || st2.auth.revoke(&user, &db)).await?;
    Ok(ok_with(StatusCode::ACCEPTED, json!({})))
}
