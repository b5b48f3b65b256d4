//! Users, passwords and tokens: HTTP Basic and JWT (HS256) authentication, per-database access levels.
//!
//! Users live in `_system/_users` (so they survive restarts like any data); passwords are stored as
//! salted PBKDF2-HMAC-SHA256 hashes, never in clear. Verified credentials are cached (as a SHA-256 digest)
//! so Basic authentication does not pay the key stretching on every request.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::server::http::{Access, ApiError};
use crate::store::{CollectionOptions, Store, WriteOptions, keygen};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, RwLock};

/// The collection holding users.
pub const USERS: &str = "_users";
const ITERATIONS: u32 = 10_000;
const TOKEN_TTL_SECS: u64 = 3600;

/// A user as kept in memory.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub key: String,
    pub user: String,
    pub active: bool,
    pub extra: Value,
    salt: Vec<u8>,
    hash: Vec<u8>,
    iterations: u32,
    /// database name (or `*`) → access level
    pub databases: BTreeMap<String, Access>,
    /// `<database>/<collection>` (either may be `*`) → access level for that collection
    pub collections: BTreeMap<String, Access>,
}

impl UserRecord {
    /// The public shape: `{user, active, extra}`.
    pub fn to_json(&self) -> Value {
        json!({ "user": self.user, "active": self.active, "extra": self.extra })
    }

    fn to_doc(&self) -> Value {
        let dbs: Map<String, Value> = self
            .databases
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.as_str().into())))
            .collect();
        let colls: Map<String, Value> = self
            .collections
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.as_str().into())))
            .collect();
        json!({
            "_key": self.key,
            "user": self.user,
            "active": self.active,
            "extra": self.extra,
            "authData": {
                "active": self.active,
                "simple": {
                    "method": "pbkdf2-sha256",
                    "iterations": self.iterations,
                    "salt": STANDARD.encode(&self.salt),
                    "hash": STANDARD.encode(&self.hash),
                }
            },
            "databases": dbs,
            "collections": colls,
        })
    }

    fn from_doc(doc: &Value) -> Option<UserRecord> {
        let simple = &doc["authData"]["simple"];
        Some(UserRecord {
            key: doc["_key"].as_str()?.to_string(),
            user: doc["user"].as_str()?.to_string(),
            active: doc["active"].as_bool().unwrap_or(true),
            extra: doc.get("extra").cloned().unwrap_or_else(|| json!({})),
            salt: STANDARD.decode(simple["salt"].as_str()?).ok()?,
            hash: STANDARD.decode(simple["hash"].as_str()?).ok()?,
            iterations: simple["iterations"].as_u64()? as u32,
            databases: levels(&doc["databases"]),
            collections: levels(&doc["collections"]),
        })
    }

    fn set_password(&mut self, password: &str) {
        let mut salt = Vec::with_capacity(16);
        salt.extend_from_slice(&keygen::random_u64().to_le_bytes());
        salt.extend_from_slice(&keygen::random_u64().to_le_bytes());
        self.hash = stretch(password, &salt, ITERATIONS).to_vec();
        self.salt = salt;
        self.iterations = ITERATIONS;
    }

    fn password_matches(&self, password: &str) -> bool {
        let h = stretch(password, &self.salt, self.iterations);
        constant_time_eq(&h, &self.hash)
    }
}

/// A stored `{name: "rw"|"ro"|"none"}` map.
fn levels(v: &Value) -> BTreeMap<String, Access> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), Access::parse(v.as_str()?)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn stretch(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who a request authenticated as.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    /// A token signed with the server secret and no user: full rights, as ArangoDB's superuser JWT.
    pub superuser_token: bool,
}

/// Authentication state of a server.
pub struct Auth {
    pub enabled: bool,
    secret: Vec<u8>,
    store: Store,
    users: RwLock<HashMap<String, UserRecord>>,
    /// (user, SHA-256 of user:password) pairs that verified recently.
    verified: Mutex<HashSet<(String, [u8; 32])>>,
}

/// 401 / 11: wrong credentials, no access to the database, or (to such a user) one that does not exist.
pub(crate) fn unauthorized() -> ApiError {
    ApiError(
        ArangoError::with_message(codes::FORBIDDEN, "not authorized to execute this request")
            .with_status(401),
    )
}

impl Auth {
    /// Loads users from `_system/_users` (creating it), and creates `root` with `root_password` if
    /// there is no root user yet.
    pub fn load(
        store: Store,
        enabled: bool,
        secret: Option<&str>,
        root_password: &str,
    ) -> ArangoResult<Auth> {
        if store.collection("_system", USERS).is_err() {
            let mut o = CollectionOptions::new(USERS);
            o.wait_for_sync = true;
            match store.create_collection("_system", o) {
                Ok(_) => {}
                Err(e) if e.error_num == codes::ARANGO_DUPLICATE_NAME => {}
                Err(e) => return Err(e),
            }
        }
        let secret = match secret {
            Some(s) if !s.is_empty() => s.as_bytes().to_vec(),
            _ => {
                let mut s = Vec::new();
                for _ in 0..4 {
                    s.extend_from_slice(&keygen::random_u64().to_le_bytes());
                }
                s
            }
        };
        let auth = Auth {
            enabled,
            secret,
            store,
            users: RwLock::new(HashMap::new()),
            verified: Mutex::new(HashSet::new()),
        };
        auth.reload()?;
        if auth.get("root").is_none() {
            auth.create("root", root_password, true, json!({}))?;
            auth.grant("root", "*", Access::ReadWrite)?;
        }
        Ok(auth)
    }

    /// Re-reads the users collection.
    pub fn reload(&self) -> ArangoResult<()> {
        let snap = self.store.snapshot()?;
        let cid = snap.catalog().collection("_system", USERS)?.id;
        let mut map = HashMap::new();
        for d in snap.documents(cid)? {
            if let Some(u) = UserRecord::from_doc(&Value::Object(d)) {
                map.insert(u.user.clone(), u);
            }
        }
        *self.users.write().unwrap_or_else(|p| p.into_inner()) = map;
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    pub fn get(&self, user: &str) -> Option<UserRecord> {
        self.users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .cloned()
    }

    pub fn list(&self) -> Vec<UserRecord> {
        let mut v: Vec<UserRecord> = self
            .users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.user.cmp(&b.user));
        v
    }

    fn save(&self, rec: &UserRecord) -> ArangoResult<()> {
        let o = WriteOptions {
            wait_for_sync: true,
            overwrite_mode: crate::store::OverwriteMode::Replace,
            ..WriteOptions::default()
        };
        self.store.insert_one("_system", USERS, rec.to_doc(), &o)?;
        self.users
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rec.user.clone(), rec.clone());
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(u, _)| u != &rec.user);
        Ok(())
    }

    /// Creates a user (1702 if it exists).
    pub fn create(
        &self,
        user: &str,
        password: &str,
        active: bool,
        extra: Value,
    ) -> ArangoResult<UserRecord> {
        if user.is_empty() || user.len() > 256 {
            return Err(ArangoError::with_message(
                codes::USER_INVALID_NAME,
                "invalid user name: 1 to 256 characters",
            ));
        }
        if self.get(user).is_some() {
            return Err(ArangoError::with_message(
                codes::USER_DUPLICATE,
                format!("duplicate user: '{user}' exists already"),
            ));
        }
        let mut rec = UserRecord {
            key: format!("u{:016x}", keygen::random_u64()),
            user: user.to_string(),
            active,
            extra,
            salt: Vec::new(),
            hash: Vec::new(),
            iterations: ITERATIONS,
            databases: BTreeMap::new(),
            collections: BTreeMap::new(),
        };
        rec.set_password(password);
        self.save(&rec)?;
        Ok(rec)
    }

    /// Changes password / active / extra.
    pub fn update(
        &self,
        user: &str,
        password: Option<&str>,
        active: Option<bool>,
        extra: Option<Value>,
    ) -> ArangoResult<UserRecord> {
        let mut rec = self.get(user).ok_or_else(user_not_found)?;
        if let Some(p) = password {
            rec.set_password(p);
        }
        if let Some(a) = active {
            rec.active = a;
        }
        if let Some(e) = extra {
            rec.extra = e;
        }
        self.save(&rec)?;
        Ok(rec)
    }

    /// Removes a user.
    pub fn remove(&self, user: &str) -> ArangoResult<()> {
        let rec = self.get(user).ok_or_else(user_not_found)?;
        let o = WriteOptions {
            wait_for_sync: true,
            ..WriteOptions::default()
        };
        self.store
            .remove_one("_system", USERS, json!(rec.key), &o)?;
        self.users
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(u, _)| u != user);
        Ok(())
    }

    /// Sets a user's access level for a database (or `*`).
    pub fn grant(&self, user: &str, db: &str, level: Access) -> ArangoResult<()> {
        let mut rec = self.get(user).ok_or_else(user_not_found)?;
        rec.databases.insert(db.to_string(), level);
        self.save(&rec)
    }

    /// Removes an explicit access level (the `*` default applies again).
    pub fn revoke(&self, user: &str, db: &str) -> ArangoResult<()> {
        let mut rec = self.get(user).ok_or_else(user_not_found)?;
        rec.databases.remove(db);
        self.save(&rec)
    }

    /// Sets a user's access level for a collection of a database (either may be `*`).
    pub fn grant_collection(
        &self,
        user: &str,
        db: &str,
        coll: &str,
        level: Access,
    ) -> ArangoResult<()> {
        let mut rec = self.get(user).ok_or_else(user_not_found)?;
        rec.collections.insert(format!("{db}/{coll}"), level);
        self.save(&rec)
    }

    /// Removes an explicit collection access level (the database's level applies again).
    pub fn revoke_collection(&self, user: &str, db: &str, coll: &str) -> ArangoResult<()> {
        let mut rec = self.get(user).ok_or_else(user_not_found)?;
        rec.collections.remove(&format!("{db}/{coll}"));
        self.save(&rec)
    }

    /// The explicit level set for a collection (`<db>/<coll>`, then `<db>/*`, then `*/*`), if any.
    pub fn explicit_collection_access(&self, user: &str, db: &str, coll: &str) -> Option<Access> {
        let u = self.get(user)?;
        [format!("{db}/{coll}"), format!("{db}/*"), "*/*".to_string()]
            .iter()
            .find_map(|k| u.collections.get(k).copied())
    }

    /// The access level a user has on a collection: its explicit level, else the database's.
    pub fn collection_access(&self, user: &str, db: &str, coll: &str) -> Access {
        match self.get(user) {
            Some(u) if u.active => self
                .explicit_collection_access(user, db, coll)
                .unwrap_or_else(|| self.access(user, db)),
            _ => Access::None,
        }
    }

    /// The access level a user has on a database.
    pub fn access(&self, user: &str, db: &str) -> Access {
        match self.get(user) {
            Some(u) if u.active => u
                .databases
                .get(db)
                .or_else(|| u.databases.get("*"))
                .copied()
                .unwrap_or(Access::None),
            _ => Access::None,
        }
    }

    /// Checks a user's password (with the digest cache).
    pub fn check_password(&self, user: &str, password: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(format!("{user}\u{0}{password}").as_bytes()).into();
        let key = (user.to_string(), digest);
        if self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return self.get(user).is_some_and(|u| u.active);
        }
        let ok = self
            .get(user)
            .is_some_and(|u| u.active && u.password_matches(password));
        if ok {
            let mut v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if v.len() > 10_000 {
                v.clear();
            }
            v.insert(key);
        }
        ok
    }

    /// Authenticates a request from its `Authorization` header.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Identity, ApiError> {
        let h = header.ok_or_else(unauthorized)?.trim();
        let (scheme, rest) = h.split_once(' ').ok_or_else(unauthorized)?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => {
                let raw = STANDARD.decode(rest.trim()).map_err(|_| unauthorized())?;
                let s = String::from_utf8(raw).map_err(|_| unauthorized())?;
                let (user, pass) = s.split_once(':').unwrap_or((s.as_str(), ""));
                if self.check_password(user, pass) {
                    Ok(Identity {
                        user: user.to_string(),
                        superuser_token: false,
                    })
                } else {
                    Err(unauthorized())
                }
            }
            "bearer" => self.verify_token(rest.trim()),
            _ => Err(unauthorized()),
        }
    }

    /// Issues a JWT for a user (after checking the password).
    pub fn login(&self, user: &str, password: &str) -> Option<String> {
        self.check_password(user, password)
            .then(|| self.token_for(Some(user)))
    }

    /// A signed token; without a user it is a superuser token.
    pub fn token_for(&self, user: Option<&str>) -> String {
        let now = crate::store::clock::now_ms() / 1000;
        let payload = match user {
            Some(u) => {
                json!({"preferred_username": u, "iss": "arangodb", "iat": now, "exp": now + TOKEN_TTL_SECS})
            }
            None => json!({"server_id": "arangorepl", "iss": "arangodb", "iat": now}),
        };
        crate::client::sign_jwt(&self.secret, &payload)
    }

    fn verify_token(&self, token: &str) -> Result<Identity, ApiError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauthorized());
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(unauthorized)?;
        if header["alg"] != "HS256" {
            return Err(unauthorized());
        }
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| unauthorized())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).map_err(|_| unauthorized())?;
        mac.update(format!("{h}.{p}").as_bytes());
        mac.verify_slice(&sig).map_err(|_| unauthorized())?;
        let payload: Value = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(unauthorized)?;
        if let Some(exp) = payload["exp"].as_u64()
            && exp < crate::store::clock::now_ms() / 1000
        {
            return Err(unauthorized());
        }
        match payload["preferred_username"].as_str() {
            Some(u) if self.get(u).is_some_and(|r| r.active) => Ok(Identity {
                user: u.to_string(),
                superuser_token: false,
            }),
            Some(_) => Err(unauthorized()),
            None if payload.get("server_id").is_some() => Ok(Identity {
                user: "root".into(),
                superuser_token: true,
            }),
            None => Err(unauthorized()),
        }
    }
}

fn user_not_found() -> ArangoError {
    ArangoError::new(codes::USER_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::store::StoreConfig::default()).unwrap();
        let a = Auth::load(store, true, Some("secret"), "pw").unwrap();
        (dir, a)
    }

    #[test]
    fn passwords_tokens_and_access() {
        let (_d, a) = auth();
        let basic = |u: &str, p: &str| format!("Basic {}", STANDARD.encode(format!("{u}:{p}")));
        assert_eq!(
            a.authenticate(Some(&basic("root", "pw"))).unwrap().user,
            "root"
        );
        assert_eq!(
            a.authenticate(Some(&basic("root", "pw"))).unwrap().user,
            "root"
        ); // cached
        assert_eq!(
            a.authenticate(Some(&basic("root", "nope")))
                .unwrap_err()
                .0
                .code,
            401
        );
        assert_eq!(
            a.authenticate(Some(&basic("ghost", "pw")))
                .unwrap_err()
                .0
                .error_num,
            11
        );
        assert!(a.authenticate(None).is_err());
        let t = a.login("root", "pw").unwrap();
        assert_eq!(
            a.authenticate(Some(&format!("bearer {t}"))).unwrap().user,
            "root"
        );
        let forged = format!("{}x", t);
        assert!(a.authenticate(Some(&format!("bearer {forged}"))).is_err());
        let su = a.token_for(None);
        assert!(
            a.authenticate(Some(&format!("Bearer {su}")))
                .unwrap()
                .superuser_token
        );

        a.create("myuser", "mypasswd", true, json!({})).unwrap();
        assert_eq!(
            a.create("myuser", "x", true, json!({}))
                .unwrap_err()
                .error_num,
            1702
        );
        assert_eq!(a.access("myuser", "_system"), Access::None);
        a.grant("myuser", "_system", Access::ReadOnly).unwrap();
        assert_eq!(a.access("myuser", "_system"), Access::ReadOnly);
        a.grant("myuser", "*", Access::ReadWrite).unwrap();
        assert_eq!(a.access("myuser", "other"), Access::ReadWrite);
        a.update("myuser", Some("new"), None, None).unwrap();
        assert!(a.authenticate(Some(&basic("myuser", "mypasswd"))).is_err());
        assert!(a.authenticate(Some(&basic("myuser", "new"))).is_ok());
        // the stored document has no clear-text password
        let doc = a
            .store
            .snapshot()
            .unwrap()
            .documents(a.store.collection("_system", USERS).unwrap().id)
            .unwrap();
        let text = serde_json::to_string(&doc).unwrap();
        assert!(!text.contains("mypasswd") && !text.contains("\"new\""));
        a.remove("myuser").unwrap();
        assert!(a.authenticate(Some(&basic("myuser", "new"))).is_err());
        a.reload().unwrap();
        assert!(a.get("root").is_some() && a.get("myuser").is_none());
    }
}
