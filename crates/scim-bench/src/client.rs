//! One HTTP client per worker thread: keep-alive connections, a bearer token, and the
//! answer's status and body.

use std::time::Duration;

use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    base: String,
    auth: Option<String>,
    agent: ureq::Agent,
}

/// A request's answer.
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: Option<&str>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            auth: token.map(|token| format!("Bearer {token}")),
            agent,
        }
    }

    /// A client of its own (its own connections), for another thread.
    #[must_use]
    pub fn fork(&self) -> Self {
        Self::new(
            &self.base,
            self.auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")),
        )
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth);
        }
        let sent = match body {
            Some(body) => {
                let request = request
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string().into_bytes())
                    .map_err(|e| e.to_string())?;
                self.agent.run(request)
            }
            None => self.agent.run(request.body(()).map_err(|e| e.to_string())?),
        };
        let answer = sent.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = answer.status().as_u16();
        let text = answer
            .into_body()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("{method} {path}: reading the answer: {e}"))?;
        Ok(Answer { status, text })
    }

    /// `send`, expecting one of `statuses`.
    pub fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        statuses: &[u16],
    ) -> Result<Answer, String> {
        let answer = self.send(method, path, body)?;
        if statuses.contains(&answer.status) {
            Ok(answer)
        } else {
            let shown: String = answer.text.chars().take(300).collect();
            Err(format!("{method} {path}: {} {shown}", answer.status))
        }
    }
}
