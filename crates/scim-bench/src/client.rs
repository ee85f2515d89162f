//! One HTTP client per worker thread: a keep-alive HTTP/1.1 connection written and read by
//! hand, a bearer token, and the answer's status and body.
//!
//! A general-purpose client costs tens of microseconds of CPU per request; on a 2-core
//! machine that the server shares, that CPU comes out of the server's share and caps the
//! ceiling the figures are divided by. This one formats the request into one buffer, writes
//! it in one call, and reads the status line, `Content-Length` (or chunks) and body: the
//! least a client can do. Plain `http://` only: the tool measures servers on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

pub struct Client {
    /// `host:port`.
    authority: String,
    auth: Option<String>,
    connection: Mutex<Option<BufReader<TcpStream>>>,
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

/// How long a request may take before the run counts it failed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Largest body read.
const MAX_BODY: usize = 64 * 1024 * 1024;

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: Option<&str>) -> Self {
        let authority = base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            authority,
            auth: token.map(|token| format!("Bearer {token}")),
            connection: Mutex::new(None),
        }
    }

    /// A client of its own (its own connection), for another thread.
    #[must_use]
    pub fn fork(&self) -> Self {
        Self {
            authority: self.authority.clone(),
            auth: self.auth.clone(),
            connection: Mutex::new(None),
        }
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let request = self.request(method, path, body);
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A kept connection the server closed meanwhile fails before any answer: once more
        // on a new one.
        let reused = connection.is_some();
        for attempt in 0..2 {
            let mut open = match connection.take() {
                Some(open) => open,
                None => self
                    .connect()
                    .map_err(|e| format!("{method} {path}: {e}"))?,
            };
            match exchange(&mut open, &request) {
                Ok((answer, keep)) => {
                    if keep {
                        *connection = Some(open);
                    }
                    return Ok(answer);
                }
                Err(Failure::BeforeAnswer(_)) if reused && attempt == 0 => {}
                Err(Failure::BeforeAnswer(e) | Failure::Answer(e)) => {
                    return Err(format!("{method} {path}: {e}"));
                }
            }
        }
        Err(format!("{method} {path}: the connection kept closing"))
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

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<u8> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.authority);
        if let Some(auth) = &self.auth {
            head.push_str("Authorization: ");
            head.push_str(auth);
            head.push_str("\r\n");
        }
        if !body.is_empty() {
            head.push_str("Content-Type: application/scim+json\r\n");
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_bytes());
        request
    }

    fn connect(&self) -> std::io::Result<BufReader<TcpStream>> {
        let stream = TcpStream::connect(&self.authority)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(BufReader::with_capacity(64 * 1024, stream))
    }
}

/// Why an exchange failed: before any byte of an answer (the request may be sent again on
/// a new connection), or while reading one.
enum Failure {
    BeforeAnswer(String),
    Answer(String),
}

/// Writes the request and reads its answer; whether the connection may be kept.
fn exchange(
    connection: &mut BufReader<TcpStream>,
    request: &[u8],
) -> Result<(Answer, bool), Failure> {
    connection
        .get_mut()
        .write_all(request)
        .map_err(|e| Failure::BeforeAnswer(e.to_string()))?;
    let mut line = String::new();
    match connection.read_line(&mut line) {
        Ok(0) => return Err(Failure::BeforeAnswer("connection closed".into())),
        Ok(_) => {}
        Err(e) => return Err(Failure::BeforeAnswer(e.to_string())),
    }
    let answer = |e: std::io::Error| Failure::Answer(e.to_string());
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| Failure::Answer(format!("not an HTTP status line: {line:?}")))?;
    let (mut length, mut chunked, mut keep) = (None, false, true);
    loop {
        line.clear();
        connection.read_line(&mut line).map_err(answer)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    let body = if chunked {
        read_chunks(connection).map_err(answer)?
    } else {
        let length = length.unwrap_or(0);
        if length > MAX_BODY {
            return Err(Failure::Answer(format!("a body of {length} bytes")));
        }
        let mut body = vec![0; length];
        connection.read_exact(&mut body).map_err(answer)?;
        body
    };
    let text = String::from_utf8(body).map_err(|e| Failure::Answer(e.to_string()))?;
    Ok((Answer { status, text }, keep))
}

/// A `Transfer-Encoding: chunked` body.
fn read_chunks(connection: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        connection.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        connection.read_exact(&mut body[start..])?;
        line.clear();
        connection.read_line(&mut line)?;
        if size == 0 {
            return Ok(body);
        }
    }
}
