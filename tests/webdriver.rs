//! Debian's headless Chromium driven through Debian's `chromedriver`, over the W3C
//! WebDriver protocol (the handful of commands the browser tests need, as JSON over the
//! HTTP client the tests already use). A fresh profile per browser; the driver is killed
//! when the browser is dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The W3C name of an element reference in answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The driver's and the browser's paths, or `None` outside CI when they are not installed
/// (CI installs them, and fails without them).
pub(crate) fn installed() -> Option<(PathBuf, PathBuf)> {
    let browser = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if browser.exists() && driver.exists() {
        return Some((driver, browser));
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium and chromedriver are missing: .ci/run installs Debian's chromium and \
         chromium-driver packages"
    );
    eprintln!("NOTE: the browser test did NOT run: apt-get install chromium chromium-driver");
    None
}

/// Where screenshots go: `$SCIM_ARTIFACTS_DIR`, else `target/ci-artifacts/`.
pub(crate) fn artifacts() -> PathBuf {
    let dir = std::env::var_os("SCIM_ARTIFACTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("the artifacts directory");
    dir
}

pub(crate) struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A headless Chromium with a fresh profile.
    pub(crate) fn start(driver: &PathBuf, browser: &PathBuf) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("a profile directory");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let created = browser.command("POST", "/session", Some(&capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    /// Sends a command; its `value`.
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_command(method, path, body)
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    /// Sends a command; its `value`, or the driver's error answer.
    fn try_command(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let answer = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            None if method == "DELETE" => self.agent.delete(&url).call(),
            None => self.agent.get(&url).call(),
        };
        let mut answer = answer.map_err(|e| e.to_string())?;
        let text = answer.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        if value["value"].get("error").is_some() {
            return Err(text);
        }
        Ok(value.get("value").cloned().unwrap_or(value))
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub(crate) fn open(&self, url: &str) {
        self.command(
            "POST",
            &self.session_path("/url"),
            Some(&json!({"url": url})),
        );
    }

    /// The page as the browser holds it now.
    pub(crate) fn source(&self) -> String {
        self.command("GET", &self.session_path("/source"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The address the browser is at.
    pub(crate) fn url(&self) -> String {
        self.command("GET", &self.session_path("/url"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Clicks the element `css` finds (a link, a form's button) and waits until the page
    /// it leads to has replaced this one (a form's submission is not waited for by the
    /// click itself).
    pub(crate) fn click(&self, css: &str) {
        let page = self.element("html");
        let element = self.element(css);
        self.command(
            "POST",
            &self.session_path(&format!("/element/{element}/click")),
            Some(&json!({})),
        );
        let started = Instant::now();
        let name = self.session_path(&format!("/element/{page}/name"));
        while self.try_command("GET", &name, None).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "clicking {css} led to no other page"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Clicks the element `css` finds that stays on the page (a select's option).
    pub(crate) fn pick(&self, css: &str) {
        let element = self.element(css);
        self.command(
            "POST",
            &self.session_path(&format!("/element/{element}/click")),
            Some(&json!({})),
        );
    }

    /// The element `css` finds, waiting up to 5 s for a page still loading to have it.
    fn element(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let found = self.try_command(
                "POST",
                &self.session_path("/element"),
                Some(&json!({"using": "css selector", "value": css})),
            );
            match found {
                Ok(found) => {
                    return found[ELEMENT]
                        .as_str()
                        .unwrap_or_else(|| panic!("no element {css}: {found}"))
                        .to_owned();
                }
                Err(error) if started.elapsed() > Duration::from_secs(5) => {
                    panic!("no element {css}: {error}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The text of the element `css` finds.
    pub(crate) fn text(&self, css: &str) -> String {
        let element = self.element(css);
        self.command(
            "GET",
            &self.session_path(&format!("/element/{element}/text")),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Saves a PNG of the page as `name` in the artifacts directory.
    pub(crate) fn screenshot(&self, name: &str) {
        let data = self.command("GET", &self.session_path("/screenshot"), None);
        let png = STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        std::fs::write(artifacts().join(name), png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("{}/session/{}", self.base, self.session);
            self.agent.delete(&path).call().ok();
        }
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}
