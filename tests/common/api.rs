//! A small blocking HTTP client for integration tests: ArangoDB-style requests with basic auth or a JWT,
//! and the checks of ArangoDB's error envelope.

use super::server::Server;
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::Value;

pub struct Api {
    pub c: Client,
    pub base: String,
    pub auth: Option<(String, String)>,
    pub bearer: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The raw body (dump and tail answers are lines, not one JSON value).
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub fn new(s: &Server) -> Api {
        // reqwest is built without a default TLS provider (see Cargo.toml): install ours first
        arangorepl::client::install_tls_provider();
        Api {
            c: Client::new(),
            base: s.url.clone(),
            auth: Some(("root".into(), "pw".into())),
            bearer: None,
        }
    }

    pub fn as_user(&self, u: &str, p: &str) -> Api {
        Api {
            c: self.c.clone(),
            base: self.base.clone(),
            auth: Some((u.into(), p.into())),
            bearer: None,
        }
    }

    pub fn req(&self, m: Method, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        self.try_req(m, path, body, headers).expect("request")
    }

    /// [`Api::req`] for a server that may be gone (killed under the request): `None` then.
    pub fn try_req(
        &self,
        m: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Option<Resp> {
        let mut r = self.c.request(m, format!("{}{path}", self.base));
        if let Some((u, p)) = &self.auth {
            r = r.basic_auth(u, Some(p));
        }
        if let Some(t) = &self.bearer {
            r = r.bearer_auth(t);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        let resp = r.send().ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Some(Resp {
            status,
            headers,
            body,
            text,
        })
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, None, &[])
    }
    pub fn post(&self, path: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(&body.to_string()), &[])
    }
    pub fn put(&self, path: &str, body: Value) -> Resp {
        self.req(Method::PUT, path, Some(&body.to_string()), &[])
    }
    pub fn patch(&self, path: &str, body: Value) -> Resp {
        self.req(Method::PATCH, path, Some(&body.to_string()), &[])
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, None, &[])
    }
}

pub fn assert_error(r: &Resp, status: u16, num: i64) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], true, "{}", r.body);
    assert_eq!(r.body["code"], status, "{}", r.body);
    assert_eq!(r.body["errorNum"], num, "{}", r.body);
    assert!(
        r.body["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}
