//! A small W3C WebDriver client for Debian's `chromedriver`, enough to do what a person does
//! in a browser: open a page, type, click, read what is shown, and take screenshots.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http;

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The browser and the driver that runs it.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running `chromedriver`, killed on drop.
pub(crate) struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port. Panics, saying what to install, when
    /// Chromium or its driver is missing: the browser test never skips silently.
    pub(crate) fn start() -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: install Debian's chromium and chromium-driver \
                 (scripts/test does: apt-get install chromium chromium-driver)"
            );
        }
        let mut failures = Vec::new();
        for _ in 0..DRIVER_ATTEMPTS {
            match Self::launch() {
                Ok(driver) => return driver,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "chromedriver did not start in {DRIVER_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// One attempt: `chromedriver` on a port that was free a moment ago (another process
    /// may take it first), until it listens, exits, or [`DRIVER_START`] has passed; the
    /// reason and what it printed when it does not listen.
    fn launch() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("temporary file");
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::from(log.reopen().expect("log file")))
            .stderr(Stdio::from(log.reopen().expect("log file")))
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(Self { child, addr });
            }
            let outcome = match child.try_wait() {
                Ok(Some(status)) => Some(format!("exited ({status})")),
                _ if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    Some(format!("did not listen within {DRIVER_START:?}"))
                }
                _ => None,
            };
            if let Some(outcome) = outcome {
                let printed = std::fs::read_to_string(log.path()).unwrap_or_default();
                return Err(format!("on {addr}: {outcome}; it printed: {printed}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new headless browser session with a fresh profile in `profile`, the window
    /// `width`×`height`, and JavaScript on or off.
    pub(crate) fn session(
        &self,
        profile: &Path,
        javascript: bool,
        width: u32,
        height: u32,
    ) -> Session {
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut options = json!({ "binary": CHROMIUM, "args": args });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "eager",
                "goog:chromeOptions": options,
            }}
        });
        // A browser that starts too slowly on a loaded machine makes chromedriver answer
        // "chrome not reachable"; a fresh attempt with an empty profile then succeeds.
        let mut attempt = 1;
        let value = loop {
            match try_call(self.addr, "POST", "/session", Some(&caps)) {
                Ok(value) => break value,
                Err(error) if attempt < SESSION_ATTEMPTS => {
                    eprintln!("browser session attempt {attempt} failed, retrying: {error}");
                    let _ = std::fs::remove_dir_all(profile);
                    std::thread::sleep(Duration::from_secs(1));
                    attempt += 1;
                }
                Err(error) => panic!("no browser session after {attempt} attempts: {error}"),
            }
        };
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {value}"))
            .to_owned();
        Session {
            driver: self.addr,
            id,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How often `chromedriver` is started before the test gives up.
const DRIVER_ATTEMPTS: u32 = 3;
/// How long one start may take to listen.
const DRIVER_START: Duration = Duration::from_secs(30);

/// How often a browser session is asked for before the test gives up.
const SESSION_ATTEMPTS: u32 = 3;

fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    try_call(addr, method, path, body).unwrap_or_else(|error| panic!("{error}"))
}

/// One WebDriver command; the error says which command failed and what the driver said.
fn try_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = http::request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let value: Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("{method} {path}: {e}: {}", response.text()))?;
    if response.status != 200 {
        return Err(format!(
            "{method} {path}: HTTP {}: {value}",
            response.status
        ));
    }
    Ok(value["value"].clone())
}

/// One browser session, closed on drop.
pub(crate) struct Session {
    driver: SocketAddr,
    id: String,
}

/// An element on the page.
pub(crate) struct Element(String);

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        call(
            self.driver,
            method,
            &format!("/session/{}{path}", self.id),
            body,
        )
    }

    /// Opens `url` and waits until the document is interactive.
    pub(crate) fn open(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The current URL.
    pub(crate) fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The document title.
    pub(crate) fn title(&self) -> String {
        self.call("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, if any.
    pub(crate) fn find(&self, css: &str) -> Option<Element> {
        let response = http::request(
            self.driver,
            "POST",
            &format!("/session/{}/element", self.id),
            &[("Content-Type", "application/json")],
            json!({ "using": "css selector", "value": css })
                .to_string()
                .as_bytes(),
        );
        if response.status != 200 {
            return None;
        }
        let value: Value = serde_json::from_slice(&response.body).ok()?;
        value["value"][ELEMENT]
            .as_str()
            .map(|id| Element(id.to_owned()))
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub(crate) fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} within {timeout:?} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `text` into an element, as keystrokes.
    pub(crate) fn type_into(&self, element: &Element, text: &str) {
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(&json!({ "text": text })),
        );
    }

    /// Clicks an element.
    pub(crate) fn click(&self, element: &Element) {
        self.call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(&json!({})),
        );
    }

    /// The rendered text of an element (what a person sees, not the markup).
    pub(crate) fn text(&self, element: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub(crate) fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let data = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("base64 screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http::request(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            &[],
            b"",
        );
    }
}
