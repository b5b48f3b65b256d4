//! The catalog: databases, collections with their properties, and index definitions.
//!
//! The catalog is small. The writer keeps a working copy, changes it inside a write transaction, persists
//! the changed entries in the same transaction and publishes the copy after the commit; readers share the
//! published copy through an `Arc`.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::names;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// A database as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseDef {
    pub id: u64,
    pub name: String,
}

impl DatabaseDef {
    /// The database properties object of `/_api/database/current` and the inventory.
    pub fn properties_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "isSystem": self.name == names::SYSTEM_DATABASE,
            "path": "none",
            "sharding": "",
            "replicationFactor": 1,
            "writeConcern": 1,
        })
    }
}

/// Collection types, with ArangoDB's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionType {
    Document,
    Edge,
}

impl CollectionType {
    /// ArangoDB's number: 2 = document, 3 = edge.
    pub fn number(self) -> u64 {
        match self {
            CollectionType::Document => 2,
            CollectionType::Edge => 3,
        }
    }

    /// Parses ArangoDB's number (also accepts the names `document` and `edge`).
    pub fn from_json(v: &Value) -> ArangoResult<Self> {
        match v {
            Value::Number(n) if n.as_u64() == Some(2) => Ok(CollectionType::Document),
            Value::Number(n) if n.as_u64() == Some(3) => Ok(CollectionType::Edge),
            Value::String(s) if s == "document" => Ok(CollectionType::Document),
            Value::String(s) if s == "edge" => Ok(CollectionType::Edge),
            _ => Err(ArangoError::with_message(
                codes::ARANGO_COLLECTION_TYPE_INVALID,
                format!(
                    "collection type invalid: {v} (use 2 for document or 3 for edge collections)"
                ),
            )),
        }
    }
}

/// Key generator kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyGenerator {
    Traditional,
    Autoincrement,
    Uuid,
    Padded,
}

impl KeyGenerator {
    pub fn name(self) -> &'static str {
        match self {
            KeyGenerator::Traditional => "traditional",
            KeyGenerator::Autoincrement => "autoincrement",
            KeyGenerator::Uuid => "uuid",
            KeyGenerator::Padded => "padded",
        }
    }
}

/// `keyOptions` of a collection (`lastValue` lives with the collection's counters, not here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyOptions {
    pub generator: KeyGenerator,
    pub allow_user_keys: bool,
    pub increment: u64,
    pub offset: u64,
}

impl Default for KeyOptions {
    fn default() -> Self {
        KeyOptions {
            generator: KeyGenerator::Traditional,
            allow_user_keys: true,
            increment: 1,
            offset: 0,
        }
    }
}

impl KeyOptions {
    /// Parses a `keyOptions` object as ArangoDB accepts it on collection creation.
    pub fn from_json(v: &Value) -> ArangoResult<Self> {
        let obj = match v {
            Value::Null => return Ok(KeyOptions::default()),
            Value::Object(o) => o,
            _ => return Err(ArangoError::bad_parameter("keyOptions must be an object")),
        };
        let bad_gen =
            |msg: String| ArangoError::with_message(codes::ARANGO_INVALID_KEY_GENERATOR, msg);
        let generator = match obj.get("type") {
            None | Some(Value::Null) => KeyGenerator::Traditional,
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "traditional" => KeyGenerator::Traditional,
                "autoincrement" => KeyGenerator::Autoincrement,
                "uuid" => KeyGenerator::Uuid,
                "padded" => KeyGenerator::Padded,
                other => {
                    return Err(bad_gen(format!(
                        "invalid key generator '{other}' (use traditional, autoincrement, uuid or padded)"
                    )));
                }
            },
            Some(other) => return Err(bad_gen(format!("invalid key generator type {other}"))),
        };
        let allow_user_keys = opt_bool(obj, "allowUserKeys", true)?;
        let increment = opt_u64(obj, "increment", 1)?;
        let offset = opt_u64(obj, "offset", 0)?;
        if generator == KeyGenerator::Autoincrement && (increment == 0 || increment >= (1 << 16)) {
            return Err(bad_gen(
                "increment value must be greater than zero and smaller than 65536".into(),
            ));
        }
        Ok(KeyOptions {
            generator,
            allow_user_keys,
            increment,
            offset,
        })
    }

    /// The `keyOptions` object as ArangoDB reports it.
    pub fn to_json(&self, last_value: u64) -> Value {
        let mut m = Map::new();
        m.insert("allowUserKeys".into(), Value::Bool(self.allow_user_keys));
        m.insert("type".into(), Value::String(self.generator.name().into()));
        if self.generator == KeyGenerator::Autoincrement {
            m.insert("offset".into(), json!(self.offset));
            m.insert("increment".into(), json!(self.increment));
        }
        if self.generator != KeyGenerator::Uuid {
            m.insert("lastValue".into(), json!(last_value));
        }
        Value::Object(m)
    }
}

/// A secondary index (persistent; also `hash` and `skiplist`, which are persistent under other names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    pub id: u64,
    pub name: String,
    /// The type name as given by the creator: `persistent`, `hash` or `skiplist`.
    pub itype: String,
    pub fields: Vec<String>,
    pub unique: bool,
    pub sparse: bool,
    pub deduplicate: bool,
    pub estimates: bool,
}

impl IndexDef {
    /// Parses an index definition from a create request or a replication marker. `id` and `name` are
    /// optional (the store assigns them); the id may be `"<collection>/<n>"`, `"<n>"` or a number.
    pub fn from_json(v: &Value) -> ArangoResult<(Option<u64>, Option<String>, IndexDef)> {
        let obj = v
            .as_object()
            .ok_or_else(|| ArangoError::bad_parameter("index definition must be an object"))?;
        let itype = match obj.get("type") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ArangoError::bad_parameter(
                    "expecting string attribute 'type' for index",
                ));
            }
        };
        match itype.as_str() {
            "persistent" | "hash" | "skiplist" => {}
            "primary" | "edge" => {
                return Err(ArangoError::bad_parameter(format!(
                    "cannot create index of type '{itype}': it exists implicitly"
                )));
            }
            "geo" | "geo1" | "geo2" | "fulltext" | "ttl" | "inverted" | "zkd" | "mdi"
            | "mdi-prefixed" => {
                return Err(ArangoError::with_message(
                    codes::NOT_IMPLEMENTED,
                    format!(
                        "index type '{itype}' is not supported by arangorepl (supported: persistent, hash, skiplist)"
                    ),
                ));
            }
            other => {
                return Err(ArangoError::bad_parameter(format!(
                    "invalid index type '{other}'"
                )));
            }
        }
        let fields = match obj.get("fields") {
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut out = Vec::with_capacity(a.len());
                for f in a {
                    match f {
                        Value::String(s) if !s.is_empty() => {
                            if s.contains("[*]") {
                                return Err(ArangoError::with_message(
                                    codes::NOT_IMPLEMENTED,
                                    format!(
                                        "array expansion in index field '{s}' is not supported by arangorepl"
                                    ),
                                ));
                            }
                            if out.contains(s) {
                                return Err(ArangoError::bad_parameter(format!(
                                    "duplicate attribute name '{s}' in index fields"
                                )));
                            }
                            out.push(s.clone());
                        }
                        _ => {
                            return Err(ArangoError::bad_parameter(
                                "index fields must be non-empty strings",
                            ));
                        }
                    }
                }
                out
            }
            _ => {
                return Err(ArangoError::bad_parameter(
                    "expecting non-empty array attribute 'fields' for index",
                ));
            }
        };
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(bad_index_id)?),
            Some(Value::String(s)) => {
                let n = s.rsplit('/').next().unwrap_or(s);
                Some(n.parse::<u64>().map_err(|_| bad_index_id())?)
            }
            Some(_) => return Err(bad_index_id()),
        };
        let name = match obj.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                names::validate_collection_name(s).map_err(|_| {
                    ArangoError::with_message(
                        codes::ARANGO_ILLEGAL_NAME,
                        format!("illegal index name '{s}'"),
                    )
                })?;
                Some(s.clone())
            }
            Some(_) => return Err(ArangoError::bad_parameter("index name must be a string")),
        };
        let def = IndexDef {
            id: id.unwrap_or(0),
            name: name.clone().unwrap_or_default(),
            itype,
            fields,
            unique: opt_bool(obj, "unique", false)?,
            sparse: opt_bool(obj, "sparse", false)?,
            deduplicate: opt_bool(obj, "deduplicate", true)?,
            estimates: opt_bool(obj, "estimates", true)?,
        };
        Ok((id, name, def))
    }

    /// Whether two definitions describe the same index (ArangoDB's `ensureIndex` returns the existing one).
    pub fn same_definition(&self, other: &IndexDef) -> bool {
        self.fields == other.fields && self.unique == other.unique && self.sparse == other.sparse
    }

    /// The index as the index API reports it, with `id` rendered as `<collection>/<id>`.
    pub fn to_json(&self, collection: &str) -> Value {
        self.json_with_id(format!("{collection}/{}", self.id))
    }

    /// The index as the replication inventory and markers report it (`id` without collection prefix).
    pub fn to_inventory_json(&self) -> Value {
        self.json_with_id(self.id.to_string())
    }

    fn json_with_id(&self, id: String) -> Value {
        json!({
            "id": id,
            "type": self.itype,
            "name": self.name,
            "fields": self.fields,
            "unique": self.unique,
            "sparse": self.sparse,
            "deduplicate": self.deduplicate,
            "estimates": self.estimates,
        })
    }
}

fn bad_index_id() -> ArangoError {
    ArangoError::with_message(codes::ARANGO_INDEX_HANDLE_BAD, "illegal index identifier")
}

/// A collection with its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionDef {
    pub id: u64,
    pub db: String,
    pub name: String,
    /// `globallyUniqueId`: the name for system collections, `h<hex>/<id>` for others.
    pub guid: String,
    pub ctype: CollectionType,
    pub is_system: bool,
    pub wait_for_sync: bool,
    pub key_options: KeyOptions,
    pub schema: Value,
    pub cache_enabled: bool,
    pub computed_values: Value,
    pub indexes: Vec<IndexDef>,
}

impl CollectionDef {
    /// Collection properties in ArangoDB's shape (inventory `parameters`, `2000`/`2003` marker `data`,
    /// `/properties` responses), attributes in ArangoDB's (sorted) order.
    pub fn properties_json(&self, last_value: u64) -> Value {
        let id = self.id.to_string();
        json!({
            "allowUserKeys": self.key_options.allow_user_keys,
            "cacheEnabled": self.cache_enabled,
            "cid": id,
            "computedValues": self.computed_values,
            "deleted": false,
            "globallyUniqueId": self.guid,
            "id": id,
            "internalValidatorType": 0,
            "isDisjoint": false,
            "isSmart": false,
            "isSmartChild": false,
            "isSystem": self.is_system,
            "keyOptions": self.key_options.to_json(last_value),
            "minReplicationFactor": 1,
            "name": self.name,
            "numberOfShards": 1,
            "planId": id,
            "replicationFactor": 1,
            "schema": self.schema,
            "shardKeys": ["_key"],
            "shardingStrategy": "hash",
            "shards": {},
            "status": 3,
            "syncByRevision": false,
            "type": self.ctype.number(),
            "usesRevisionsAsDocumentIds": false,
            "version": 7,
            "waitForSync": self.wait_for_sync,
            "writeConcern": 1,
        })
    }

    /// The implicit indexes (primary, and edge for edge collections) followed by the secondary ones.
    pub fn all_indexes_json(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "id": format!("{}/0", self.name), "type": "primary", "name": "primary",
            "fields": ["_key"], "unique": true, "sparse": false,
        })];
        if self.ctype == CollectionType::Edge {
            out.push(json!({
                "id": format!("{}/1", self.name), "type": "edge", "name": "edge",
                "fields": ["_from", "_to"], "unique": false, "sparse": false,
            }));
        }
        out.extend(self.indexes.iter().map(|i| i.to_json(&self.name)));
        out
    }
}

/// What a caller may set when creating a collection (from a request body or a replication marker).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionOptions {
    pub name: String,
    pub ctype: CollectionType,
    pub wait_for_sync: bool,
    pub key_options: KeyOptions,
    pub schema: Value,
    pub cache_enabled: bool,
    pub computed_values: Value,
    /// Wanted collection id (replication keeps the leader's); a new one is chosen if it is taken.
    pub id: Option<u64>,
    /// Wanted `globallyUniqueId` (replication keeps the leader's).
    pub guid: Option<String>,
}

impl CollectionOptions {
    /// Options for a plain document collection with defaults.
    pub fn new(name: impl Into<String>) -> Self {
        CollectionOptions {
            name: name.into(),
            ctype: CollectionType::Document,
            wait_for_sync: false,
            key_options: KeyOptions::default(),
            schema: Value::Null,
            cache_enabled: false,
            computed_values: Value::Null,
            id: None,
            guid: None,
        }
    }

    /// The same with edge type.
    pub fn edge(name: impl Into<String>) -> Self {
        CollectionOptions {
            ctype: CollectionType::Edge,
            ..Self::new(name)
        }
    }

    /// Parses a collection-creation body or a `2000` marker's `data`. Attributes ArangoDB reports but a
    /// single server ignores (sharding, `status`, `version`, …) are accepted and ignored, as arangod does.
    pub fn from_json(v: &Value) -> ArangoResult<Self> {
        let obj = v.as_object().ok_or_else(|| {
            ArangoError::bad_parameter("collection definition must be a JSON object")
        })?;
        let name = match obj.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ArangoError::with_message(
                    codes::ARANGO_ILLEGAL_NAME,
                    "illegal name: expecting string attribute 'name'",
                ));
            }
        };
        let ctype = match obj.get("type") {
            None | Some(Value::Null) => CollectionType::Document,
            Some(t) => CollectionType::from_json(t)?,
        };
        let mut key_options = KeyOptions::from_json(obj.get("keyOptions").unwrap_or(&Value::Null))?;
        if let Some(Value::Bool(b)) = obj.get("allowUserKeys")
            && obj
                .get("keyOptions")
                .and_then(|k| k.get("allowUserKeys"))
                .is_none()
        {
            key_options.allow_user_keys = *b;
        }
        let id = match obj.get("id").or_else(|| obj.get("cid")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            Some(_) => None,
        };
        let guid = match obj.get("globallyUniqueId") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let schema = match obj.get("schema") {
            None => Value::Null,
            Some(s @ (Value::Null | Value::Object(_))) => s.clone(),
            Some(_) => {
                return Err(ArangoError::bad_parameter(
                    "schema must be an object or null",
                ));
            }
        };
        let computed_values = match obj.get("computedValues") {
            None => Value::Null,
            Some(c @ (Value::Null | Value::Array(_))) => c.clone(),
            Some(_) => {
                return Err(ArangoError::bad_parameter(
                    "computedValues must be an array or null",
                ));
            }
        };
        Ok(CollectionOptions {
            name,
            ctype,
            wait_for_sync: opt_bool(obj, "waitForSync", false)?,
            key_options,
            schema,
            cache_enabled: opt_bool(obj, "cacheEnabled", false)?,
            computed_values,
            id,
            guid,
        })
    }
}

/// Property changes allowed on an existing collection (`PUT /properties`, `2003` markers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertiesChange {
    pub wait_for_sync: Option<bool>,
    pub schema: Option<Value>,
    pub cache_enabled: Option<bool>,
    pub computed_values: Option<Value>,
}

impl PropertiesChange {
    /// Whether applying this to `def` would change anything.
    pub fn changes(&self, def: &CollectionDef) -> bool {
        let same = self.wait_for_sync.is_none_or(|w| w == def.wait_for_sync)
            && self.schema.as_ref().is_none_or(|s| *s == def.schema)
            && self.cache_enabled.is_none_or(|c| c == def.cache_enabled)
            && self
                .computed_values
                .as_ref()
                .is_none_or(|c| *c == def.computed_values);
        !same
    }

    /// Parses a properties body; attributes that cannot change (name, type, keyOptions, …) are ignored.
    pub fn from_json(v: &Value) -> ArangoResult<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| ArangoError::bad_parameter("properties must be a JSON object"))?;
        let mut ch = PropertiesChange::default();
        if obj.contains_key("waitForSync") {
            ch.wait_for_sync = Some(opt_bool(obj, "waitForSync", false)?);
        }
        if obj.contains_key("cacheEnabled") {
            ch.cache_enabled = Some(opt_bool(obj, "cacheEnabled", false)?);
        }
        match obj.get("schema") {
            None => {}
            Some(s @ (Value::Null | Value::Object(_))) => ch.schema = Some(s.clone()),
            Some(_) => {
                return Err(ArangoError::bad_parameter(
                    "schema must be an object or null",
                ));
            }
        }
        match obj.get("computedValues") {
            None => {}
            Some(c @ (Value::Null | Value::Array(_))) => ch.computed_values = Some(c.clone()),
            Some(_) => {
                return Err(ArangoError::bad_parameter(
                    "computedValues must be an array or null",
                ));
            }
        }
        Ok(ch)
    }
}

pub(crate) fn opt_bool(obj: &Map<String, Value>, key: &str, default: bool) -> ArangoResult<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ArangoError::bad_parameter(format!(
            "attribute '{key}' must be a boolean, got {other}"
        ))),
    }
}

fn opt_u64(obj: &Map<String, Value>, key: &str, default: u64) -> ArangoResult<u64> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ArangoError::bad_parameter(format!("attribute '{key}' must be a non-negative integer"))
        }),
        Some(other) => Err(ArangoError::bad_parameter(format!(
            "attribute '{key}' must be a number, got {other}"
        ))),
    }
}

/// A database with the names of its collections.
#[derive(Debug, Clone, Default)]
pub struct DatabaseEntry {
    pub def: Option<DatabaseDef>,
    pub by_name: BTreeMap<String, u64>,
}

/// The whole catalog as one value: cheap to clone (it is small) and to share.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub databases: BTreeMap<String, DatabaseEntry>,
    pub collections: HashMap<u64, CollectionDef>,
}

impl Catalog {
    /// The database or error 1228.
    pub fn database(&self, name: &str) -> ArangoResult<&DatabaseDef> {
        self.databases
            .get(name)
            .and_then(|d| d.def.as_ref())
            .ok_or_else(|| unknown_database(name))
    }

    /// Resolves a collection by name, numeric id or `globallyUniqueId` within a database.
    pub fn collection(&self, db: &str, ident: &str) -> ArangoResult<&CollectionDef> {
        let entry = self
            .databases
            .get(db)
            .filter(|d| d.def.is_some())
            .ok_or_else(|| unknown_database(db))?;
        if let Some(id) = entry.by_name.get(ident) {
            return Ok(&self.collections[id]);
        }
        if let Ok(id) = ident.parse::<u64>()
            && let Some(c) = self.collections.get(&id).filter(|c| c.db == db)
        {
            return Ok(c);
        }
        entry
            .by_name
            .values()
            .map(|id| &self.collections[id])
            .find(|c| c.guid == ident)
            .ok_or_else(|| unknown_collection(ident))
    }

    /// The names of all databases, sorted.
    pub fn database_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .databases
            .iter()
            .filter(|(_, d)| d.def.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    /// Collections of a database in name order.
    pub fn collections_of(&self, db: &str) -> ArangoResult<Vec<&CollectionDef>> {
        self.database(db)?;
        Ok(self.databases[db]
            .by_name
            .values()
            .map(|id| &self.collections[id])
            .collect())
    }

    pub(crate) fn add_database(&mut self, def: DatabaseDef) {
        let name = def.name.clone();
        self.databases.entry(name).or_default().def = Some(def);
    }

    pub(crate) fn add_collection(&mut self, def: CollectionDef) {
        self.databases
            .entry(def.db.clone())
            .or_default()
            .by_name
            .insert(def.name.clone(), def.id);
        self.collections.insert(def.id, def);
    }

    pub(crate) fn remove_collection(&mut self, id: u64) -> Option<CollectionDef> {
        let def = self.collections.remove(&id)?;
        if let Some(d) = self.databases.get_mut(&def.db) {
            d.by_name.remove(&def.name);
        }
        Some(def)
    }
}

/// Error 1228 for a database name.
pub fn unknown_database(name: &str) -> ArangoError {
    ArangoError::with_message(
        codes::ARANGO_DATABASE_NOT_FOUND,
        format!("database not found: '{name}'"),
    )
}

/// Error 1203 for a collection identifier.
pub fn unknown_collection(ident: &str) -> ArangoError {
    ArangoError::with_message(
        codes::ARANGO_DATA_SOURCE_NOT_FOUND,
        format!("collection or view not found: {ident}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_options_parse_and_reject() {
        let o = CollectionOptions::from_json(&json!({
            "name": "c", "type": 3, "waitForSync": true,
            "keyOptions": {"type": "autoincrement", "increment": 5, "offset": 10, "allowUserKeys": false},
            "numberOfShards": 1, "status": 3
        }))
        .unwrap();
        assert_eq!(o.ctype, CollectionType::Edge);
        assert!(o.wait_for_sync);
        assert_eq!(o.key_options.generator, KeyGenerator::Autoincrement);
        assert_eq!((o.key_options.increment, o.key_options.offset), (5, 10));
        assert!(!o.key_options.allow_user_keys);

        let e = CollectionOptions::from_json(&json!({"name": "c", "type": 7})).unwrap_err();
        assert_eq!(e.error_num, 1218);
        let e = CollectionOptions::from_json(&json!({"name": "c", "keyOptions": {"type": "foo"}}))
            .unwrap_err();
        assert_eq!(e.error_num, 1232);
        let e =
            CollectionOptions::from_json(&json!({"name": "c", "waitForSync": "yes"})).unwrap_err();
        assert_eq!(e.error_num, 10);
        let e = CollectionOptions::from_json(&json!({"type": 2})).unwrap_err();
        assert_eq!(e.error_num, 1208);
    }

    #[test]
    fn index_definitions() {
        let (id, name, d) = IndexDef::from_json(&json!({
            "type": "hash", "fields": ["a", "b.c"], "unique": true, "id": "coll/49", "name": "byAB"
        }))
        .unwrap();
        assert_eq!((id, name.as_deref()), (Some(49), Some("byAB")));
        assert_eq!(d.itype, "hash");
        assert!(d.unique && !d.sparse && d.deduplicate);
        for (bad, num) in [
            (json!({"type": "persistent", "fields": []}), 10),
            (json!({"type": "persistent"}), 10),
            (json!({"type": "persistent", "fields": ["a", "a"]}), 10),
            (json!({"type": "geo", "fields": ["a"]}), 9),
            (json!({"type": "primary", "fields": ["_key"]}), 10),
            (
                json!({"type": "persistent", "fields": ["a"], "id": "x/y"}),
                1214,
            ),
            (
                json!({"type": "persistent", "fields": ["a"], "unique": "yes"}),
                10,
            ),
        ] {
            assert_eq!(
                IndexDef::from_json(&bad).unwrap_err().error_num,
                num,
                "{bad}"
            );
        }
    }
}
