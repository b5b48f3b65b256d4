//! ArangoDB's error model: an error number, the HTTP status it maps to, and a message a person can act on.
//!
//! Every layer reports user-visible failures as an [`ArangoError`]; `server/` renders it as ArangoDB's
//! envelope `{"code","error","errorMessage","errorNum"}` and `js/` throws it as an `ArangoError`.

use serde::Serialize;
use std::fmt;

/// Declares the error numbers we use, with ArangoDB's names, default messages and HTTP status codes.
macro_rules! error_numbers {
    ($( $name:ident = $num:expr, $status:expr, $msg:expr; )*) => {
        /// ArangoDB error numbers (`errorNum`), named as in ArangoDB's `errors.dat`.
        pub mod codes {
            $( pub const $name: i64 = $num; )*
        }

        /// The default message and HTTP status for an error number; unknown numbers map to 500.
        pub fn describe(num: i64) -> (&'static str, u16) {
            match num {
                $( $num => ($msg, $status), )*
                _ => ("unknown error", 500),
            }
        }

        /// Every error number we know: name (with `ERROR_`), number, message.
        pub const ALL: &[(&str, i64, &str)] = &[
            $( (concat!("ERROR_", stringify!($name)), $num, $msg), )*
        ];

        /// ArangoDB's symbolic name for an error number (for logs and the shell's error printing).
        pub fn error_name(num: i64) -> &'static str {
            match num {
                $( $num => concat!("ERROR_", stringify!($name)), )*
                _ => "ERROR_UNKNOWN",
            }
        }
    };
}

error_numbers! {
    NO_ERROR = 0, 200, "no error";
    FAILED = 1, 500, "failed";
    SYS_ERROR = 2, 500, "system error";
    INTERNAL = 4, 500, "internal error";
    NOT_IMPLEMENTED = 9, 501, "not implemented";
    BAD_PARAMETER = 10, 400, "bad parameter";
    FORBIDDEN = 11, 403, "forbidden";
    FILE_NOT_FOUND = 14, 404, "file not found";
    CANNOT_WRITE_FILE = 15, 500, "cannot write file";
    CANNOT_OVERWRITE_FILE = 16, 500, "cannot overwrite file";
    TYPE_ERROR = 17, 400, "type error";
    LOCK_TIMEOUT = 18, 500, "lock timeout";
    CANNOT_CREATE_DIRECTORY = 19, 500, "cannot create directory";
    CANNOT_CREATE_TEMP_FILE = 20, 500, "cannot create temporary file";
    FILE_EXISTS = 27, 409, "file exists";
    LOCKED = 28, 500, "locked";
    SHUTTING_DOWN = 30, 503, "shutting down";
    RESOURCE_LIMIT = 32, 500, "resource limit exceeded";
    HTTP_BAD_PARAMETER = 400, 400, "bad parameter";
    HTTP_UNAUTHORIZED = 401, 401, "unauthorized";
    HTTP_FORBIDDEN = 403, 403, "forbidden";
    HTTP_NOT_FOUND = 404, 404, "not found";
    HTTP_METHOD_NOT_ALLOWED = 405, 405, "method not supported";
    HTTP_REQUEST_TIMEOUT = 408, 408, "request timeout";
    HTTP_CONFLICT = 409, 409, "conflict";
    HTTP_PRECONDITION_FAILED = 412, 412, "precondition failed";
    HTTP_SERVER_ERROR = 500, 500, "internal server error";
    HTTP_NOT_IMPLEMENTED = 501, 501, "not implemented";
    HTTP_SERVICE_UNAVAILABLE = 503, 503, "service unavailable";
    HTTP_REQUEST_TOO_LARGE = 413, 413, "request entity too large";
    HTTP_CORRUPTED_JSON = 600, 400, "invalid JSON object";
    HTTP_SUPERFLUOUS_SUFFICES = 601, 400, "superfluous URL suffices";
    ARANGO_READ_ONLY = 1004, 403, "read only";
    ARANGO_CONFLICT = 1200, 409, "conflict";
    ARANGO_DOCUMENT_NOT_FOUND = 1202, 404, "document not found";
    ARANGO_DATA_SOURCE_NOT_FOUND = 1203, 404, "collection or view not found";
    ARANGO_COLLECTION_PARAMETER_MISSING = 1204, 400, "parameter 'collection' not found";
    ARANGO_DOCUMENT_HANDLE_BAD = 1205, 400, "illegal document identifier";
    ARANGO_DUPLICATE_NAME = 1207, 409, "duplicate name";
    ARANGO_ILLEGAL_NAME = 1208, 400, "illegal name";
    ARANGO_UNIQUE_CONSTRAINT_VIOLATED = 1210, 409, "unique constraint violated";
    ARANGO_INDEX_NOT_FOUND = 1212, 404, "index not found";
    ARANGO_CROSS_COLLECTION_REQUEST = 1213, 400, "cross collection request not allowed";
    ARANGO_INDEX_HANDLE_BAD = 1214, 400, "illegal index identifier";
    ARANGO_DOCUMENT_TOO_LARGE = 1216, 413, "document too large";
    ARANGO_COLLECTION_TYPE_INVALID = 1218, 400, "collection type invalid";
    ARANGO_DOCUMENT_KEY_BAD = 1221, 400, "illegal document key";
    ARANGO_DOCUMENT_KEY_UNEXPECTED = 1222, 400, "unexpected document key";
    ARANGO_DOCUMENT_KEY_MISSING = 1226, 400, "document key missing";
    ARANGO_DOCUMENT_TYPE_INVALID = 1227, 400, "invalid document type";
    ARANGO_DATABASE_NOT_FOUND = 1228, 404, "database not found";
    ARANGO_DATABASE_NAME_INVALID = 1229, 400, "database name invalid";
    ARANGO_USE_SYSTEM_DATABASE = 1230, 403, "operation only allowed in system database";
    ARANGO_INVALID_KEY_GENERATOR = 1232, 400, "invalid key generator";
    ARANGO_INVALID_EDGE_ATTRIBUTE = 1233, 400, "edge attribute missing or invalid";
    ARANGO_INDEX_CREATION_FAILED = 1235, 500, "index creation failed";
    ARANGO_TRY_AGAIN = 1302, 500, "operation should be tried again";
    REPLICATION_NO_RESPONSE = 1400, 500, "no response";
    REPLICATION_INVALID_RESPONSE = 1401, 500, "invalid response";
    REPLICATION_LEADER_ERROR = 1402, 500, "leader error";
    REPLICATION_LEADER_INCOMPATIBLE = 1403, 500, "leader incompatible";
    REPLICATION_LEADER_CHANGE = 1404, 500, "leader change";
    REPLICATION_LOOP = 1405, 500, "loop detected";
    REPLICATION_UNEXPECTED_MARKER = 1406, 500, "unexpected marker";
    REPLICATION_INVALID_APPLIER_STATE = 1407, 500, "invalid applier state";
    REPLICATION_UNEXPECTED_TRANSACTION = 1408, 500, "invalid transaction";
    REPLICATION_INVALID_APPLIER_CONFIGURATION = 1410, 400, "invalid replication applier configuration";
    REPLICATION_RUNNING = 1411, 400, "cannot perform operation while applier is running";
    REPLICATION_APPLIER_STOPPED = 1412, 500, "replication stopped";
    REPLICATION_NO_START_TICK = 1413, 400, "no start tick";
    REPLICATION_START_TICK_NOT_PRESENT = 1414, 500, "start tick not present";
    CLUSTER_UNSUPPORTED = 1470, 501, "replication API is not supported on a coordinator";
    QUERY_KILLED = 1500, 410, "query killed";
    QUERY_PARSE = 1501, 400, "syntax error";
    QUERY_EMPTY = 1502, 400, "query is empty";
    QUERY_NUMBER_OUT_OF_RANGE = 1504, 400, "number out of range";
    QUERY_VARIABLE_REDECLARED = 1511, 400, "variable is assigned multiple times";
    QUERY_VARIABLE_NAME_UNKNOWN = 1512, 400, "unknown variable";
    QUERY_FUNCTION_NAME_UNKNOWN = 1540, 404, "usage of unknown function";
    QUERY_FUNCTION_ARGUMENT_NUMBER_MISMATCH = 1541, 400, "invalid number of arguments for function";
    QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH = 1542, 400, "invalid argument type in call to function";
    QUERY_BIND_PARAMETERS_INVALID = 1550, 400, "invalid structure of bind parameters";
    QUERY_BIND_PARAMETER_MISSING = 1551, 400, "no value specified for declared bind parameter";
    QUERY_BIND_PARAMETER_UNDECLARED = 1552, 400, "bind parameter was not declared in the query";
    QUERY_BIND_PARAMETER_TYPE = 1553, 400, "bind parameter has an invalid value or type";
    QUERY_ARRAY_EXPECTED = 1563, 400, "array expected";
    QUERY_COMPILE_TIME_OPTIONS = 1575, 400, "query options must be readable at query compile time";
    QUERY_FAIL_CALLED = 1569, 400, "FAIL() called";
    QUERY_NOT_FOUND = 1591, 404, "query ID not found";
    CURSOR_NOT_FOUND = 1600, 404, "cursor not found";
    TASK_NOT_FOUND = 1852, 404, "task not found";
    USER_INVALID_NAME = 1700, 400, "invalid user name";
    USER_DUPLICATE = 1702, 409, "duplicate user";
    USER_NOT_FOUND = 1703, 404, "user not found";
    CURSOR_BUSY = 1601, 409, "cursor is busy";
    TRANSACTION_INTERNAL = 1650, 500, "internal transaction error";
    TRANSACTION_UNREGISTERED_COLLECTION = 1652, 400, "collection not used in transaction";
    TRANSACTION_DISALLOWED_OPERATION = 1653, 400, "disallowed operation inside transaction";
    TRANSACTION_ABORTED = 1654, 410, "transaction aborted";
    TRANSACTION_NOT_FOUND = 1655, 404, "transaction not found";
    SIMPLE_CLIENT_UNKNOWN_ERROR = 2000, 500, "unknown client error";
    SIMPLE_CLIENT_COULD_NOT_CONNECT = 2001, 500, "could not connect to server";
    SIMPLE_CLIENT_COULD_NOT_WRITE = 2002, 500, "could not write to server";
    SIMPLE_CLIENT_COULD_NOT_READ = 2003, 500, "could not read from server";
}

/// A failure as ArangoDB reports it: error number, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArangoError {
    /// HTTP status code (`code` in the envelope).
    pub code: u16,
    /// ArangoDB error number (`errorNum`).
    #[serde(rename = "errorNum")]
    pub error_num: i64,
    /// Human-readable explanation (`errorMessage`).
    #[serde(rename = "errorMessage")]
    pub message: String,
}

impl ArangoError {
    /// An error with the number's default message and HTTP status.
    pub fn new(error_num: i64) -> Self {
        let (msg, code) = describe(error_num);
        ArangoError {
            code,
            error_num,
            message: msg.to_string(),
        }
    }

    /// An error with the number's HTTP status and a specific message.
    pub fn with_message(error_num: i64, message: impl Into<String>) -> Self {
        let (_, code) = describe(error_num);
        ArangoError {
            code,
            error_num,
            message: message.into(),
        }
    }

    /// Overrides the HTTP status (e.g. 412 for a failed `If-Match` precondition, which is errorNum 1200).
    pub fn with_status(mut self, code: u16) -> Self {
        self.code = code;
        self
    }

    /// The JSON envelope ArangoDB sends, keys in ArangoDB's order.
    pub fn to_envelope(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "error": true,
            "errorMessage": self.message,
            "errorNum": self.error_num,
        })
    }

    /// Shorthand for the internal-error case (storage failures and the like).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with_message(codes::INTERNAL, message)
    }

    /// Shorthand for a bad-parameter error with a specific message.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::with_message(codes::BAD_PARAMETER, message)
    }
}

impl fmt::Display for ArangoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[ArangoError {}: {}]", self.error_num, self.message)
    }
}

impl std::error::Error for ArangoError {}

/// Result alias used across the crate for operations that fail with an ArangoDB error.
pub type ArangoResult<T> = Result<T, ArangoError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_arangodb_key_order_and_status() {
        let e = ArangoError::new(codes::ARANGO_DATABASE_NOT_FOUND);
        assert_eq!(
            serde_json::to_string(&e.to_envelope()).unwrap(),
            r#"{"code":404,"error":true,"errorMessage":"database not found","errorNum":1228}"#
        );
    }

    #[test]
    fn status_mapping_follows_arangodb() {
        for (num, status) in [
            (1410, 400),
            (1411, 400),
            (1413, 400),
            (1203, 404),
            (1228, 404),
            (1202, 404),
            (1600, 404),
            (1210, 409),
            (1207, 409),
            (1601, 409),
            (11, 403),
            (9, 501),
            (1470, 501),
            (30, 503),
            (1400, 500),
            (1414, 500),
            (12345, 500),
        ] {
            assert_eq!(describe(num).1, status, "errorNum {num}");
        }
        assert_eq!(error_name(1229), "ERROR_ARANGO_DATABASE_NAME_INVALID");
    }
}
