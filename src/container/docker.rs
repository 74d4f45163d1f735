//! The Docker Engine API client: finding the socket, negotiating the API
//! version, inspecting and listing containers.
//!
//! Podman's Docker-compatible API answers the same requests on its own
//! sockets, so one client serves both. Only the requests memscan needs are
//! here; anything that changes state (start, stop, exec) is out of scope.
//! Host PIDs come from `State.Pid` and the cgroup (see `cgroup`), never
//! from Podman's `/top`, which runs inside the container and answers
//! container PIDs.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::http::{self, HttpError, Response};
use super::{validate_name, Container, Error};

/// How long one read or write on the socket may block. Inspect and list
/// answer in milliseconds; a daemon silent for this long is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The sockets tried, in order, when DOCKER_HOST is unset. Entries starting
/// with `$XDG_RUNTIME_DIR` are skipped when that variable is unset.
const CANDIDATES: [&str; 4] = [
    "/var/run/docker.sock",
    "$XDG_RUNTIME_DIR/docker.sock",
    "/run/podman/podman.sock",
    "$XDG_RUNTIME_DIR/podman/podman.sock",
];

/// Where to look for the engine, decided from the environment.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    /// DOCKER_HOST named this socket; nothing else is tried.
    Explicit(PathBuf),
    /// The well-known sockets, tried in order.
    Candidates(Vec<PathBuf>),
}

/// Reads DOCKER_HOST and XDG_RUNTIME_DIR (passed in for testing) and
/// decides which sockets to try.
fn endpoint(
    docker_host: Option<&str>,
    xdg_runtime_dir: Option<&str>,
) -> Result<Endpoint, Error> {
    if let Some(value) = docker_host.filter(|v| !v.is_empty()) {
        let bad = |reason: &str| Error::BadDockerHost {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| bad("expected unix:///path/to/socket"))?;
        return match scheme.to_ascii_lowercase().as_str() {
            "unix" if rest.starts_with('/') => {
                Ok(Endpoint::Explicit(PathBuf::from(rest)))
            }
            "unix" => Err(bad("the socket path must be absolute")),
            "tcp" | "ssh" | "http" | "https" => Err(bad(
                "the engine is reached over the network, so its container \
                 PIDs belong to another machine's (or VM's) kernel; run \
                 memscan there, or give a local process with --pid",
            )),
            _ => Err(bad("only unix:///path sockets are supported")),
        };
    }
    let xdg = xdg_runtime_dir.filter(|d| d.starts_with('/'));
    let paths = CANDIDATES
        .iter()
        .filter_map(|c| match c.strip_prefix("$XDG_RUNTIME_DIR") {
            Some(rest) => xdg.map(|d| PathBuf::from(format!("{d}{rest}"))),
            None => Some(PathBuf::from(c)),
        })
        .collect();
    Ok(Endpoint::Candidates(paths))
}

/// A connection target on one engine socket, with its API version settled.
#[derive(Debug, Clone)]
pub struct Client {
    /// The socket every request goes to; it answered `/_ping`.
    socket: PathBuf,
    /// The version from the ping's `Api-Version` header (digits, a dot,
    /// digits), or `None` to use unversioned paths.
    api_version: Option<String>,
    /// The bound on each read and write.
    timeout: Duration,
}

impl Client {
    /// Finds the engine from DOCKER_HOST or the well-known sockets, and
    /// pings it.
    ///
    /// Of the well-known sockets, the first that answers wins. When none
    /// answers, the first refusal or permission error is reported (it says
    /// more than "not found"), else the list of paths tried.
    pub fn connect() -> Result<Client, Error> {
        let docker_host = std::env::var("DOCKER_HOST").ok();
        let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
        match endpoint(docker_host.as_deref(), xdg.as_deref())? {
            Endpoint::Explicit(path) => {
                if path.symlink_metadata().is_err() {
                    return Err(Error::NoSocket {
                        tried: format!(
                            "{} (from DOCKER_HOST)",
                            path.display()
                        ),
                    });
                }
                Client::with_socket(path)
            }
            Endpoint::Candidates(paths) => {
                let mut first_error = None;
                for path in &paths {
                    if path.symlink_metadata().is_err() {
                        continue;
                    }
                    match Client::with_socket(path) {
                        Ok(client) => return Ok(client),
                        Err(e) => {
                            log::debug!("container: {}: {e}", path.display());
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Err(first_error.unwrap_or_else(|| Error::NoSocket {
                    tried: paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }))
            }
        }
    }

    /// Pings the engine on `socket` and settles the API version.
    pub fn with_socket(socket: impl Into<PathBuf>) -> Result<Client, Error> {
        Client::with_timeout(socket, DEFAULT_TIMEOUT)
    }

    /// Like `with_socket`, with a different bound on each read and write.
    pub fn with_timeout(
        socket: impl Into<PathBuf>,
        timeout: Duration,
    ) -> Result<Client, Error> {
        let mut client =
            Client { socket: socket.into(), api_version: None, timeout };
        let reply = client.get("/_ping")?;
        if reply.status != 200 {
            return Err(client.api_error("/_ping", &reply));
        }
        client.api_version = api_version(&reply);
        if client.api_version.is_none() {
            log::debug!(
                "container: {}: no usable Api-Version header in the ping \
                 reply; using unversioned paths",
                client.socket.display()
            );
        }
        Ok(client)
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The negotiated API version, if the engine announced one.
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// Inspects one container by name or ID. A stopped container is not
    /// an error here: it comes back with `running == false` and `pid == 0`.
    pub fn inspect(&self, name_or_id: &str) -> Result<Container, Error> {
        let name = validate_name(name_or_id)?;
        let path = self.versioned(&format!("/containers/{name}/json"));
        let reply = self.get(&path)?;
        match reply.status {
            200 => parse_inspect(&reply.body, &self.engine())
                .map_err(|detail| self.malformed(&path, detail)),
            // A 404 that is not about the container means the route itself
            // is unknown, which is an API problem, not a missing container.
            404 if error_message(&reply.body) != "page not found" => {
                Err(Error::NotFound {
                    name: name.to_string(),
                    socket: self.socket.display().to_string(),
                })
            }
            _ => Err(self.api_error(&path, &reply)),
        }
    }

    /// Lists the running containers, each inspected for its PID and state.
    ///
    /// Name and image come from the list (`Names[0]`, `Image`); PID,
    /// status and running from a follow-up inspect, since the list has no
    /// PID. A container that disappears between the two is left out.
    pub fn list_running(&self) -> Result<Vec<Container>, Error> {
        let path = self.versioned("/containers/json");
        let reply = self.get(&path)?;
        if reply.status != 200 {
            return Err(self.api_error(&path, &reply));
        }
        let entries = parse_list(&reply.body)
            .map_err(|detail| self.malformed(&path, detail))?;
        let mut containers = Vec::with_capacity(entries.len());
        for entry in entries {
            let inspected = match self.inspect(&entry.id) {
                Ok(c) => c,
                Err(Error::NotFound { .. }) => {
                    log::debug!(
                        "container: {} vanished while listing",
                        entry.id
                    );
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !inspected.running {
                continue;
            }
            containers.push(Container {
                name: entry.name.unwrap_or(inspected.name),
                image: entry.image.unwrap_or(inspected.image),
                ..inspected
            });
        }
        Ok(containers)
    }

    fn engine(&self) -> String {
        self.socket.display().to_string()
    }

    fn versioned(&self, path: &str) -> String {
        match &self.api_version {
            Some(v) => format!("/v{v}{path}"),
            None => path.to_string(),
        }
    }

    fn get(&self, path: &str) -> Result<Response, Error> {
        let socket = self.engine();
        http::get(&self.socket, path, self.timeout).map_err(|e| match e {
            HttpError::Malformed(detail) => {
                Error::Malformed { socket, path: path.to_string(), detail }
            }
            HttpError::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => Error::Refused { socket },
                io::ErrorKind::PermissionDenied => {
                    Error::PermissionDenied { socket }
                }
                io::ErrorKind::NotFound => {
                    Error::NoSocket { tried: socket.clone() }
                }
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    Error::Io {
                        socket,
                        path: path.to_string(),
                        source: io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "no answer within {} s",
                                self.timeout.as_secs_f64()
                            ),
                        ),
                    }
                }
                _ => Error::Io { socket, path: path.to_string(), source: e },
            },
        })
    }

    fn malformed(&self, path: &str, detail: String) -> Error {
        Error::Malformed {
            socket: self.engine(),
            path: path.to_string(),
            detail,
        }
    }

    fn api_error(&self, path: &str, reply: &Response) -> Error {
        Error::Api {
            socket: self.engine(),
            path: path.to_string(),
            status: reply.status,
            message: error_message(&reply.body),
        }
    }
}

/// The API version announced by `/_ping`, if it looks like one. Engines
/// older than the header (before API 1.25) get unversioned paths, which
/// the engine serves at its own current version.
fn api_version(reply: &Response) -> Option<String> {
    let v = reply.header("Api-Version")?.trim();
    let (major, minor) = v.split_once('.')?;
    let digits =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor) && v.len() <= 16).then(|| v.to_string())
}

/// The `message` of an engine's JSON error body, else the body as text,
/// cut short: it ends up in a one-line error.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorJson {
        message: String,
    }
    let text = match serde_json::from_slice::<ErrorJson>(body) {
        Ok(e) => e.message,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None if line.is_empty() => "(empty reply)".to_string(),
        None => line,
    }
}

#[derive(Deserialize)]
struct InspectJson {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Config", default)]
    config: Option<ConfigJson>,
    #[serde(rename = "State")]
    state: StateJson,
}

#[derive(Deserialize)]
struct ConfigJson {
    #[serde(rename = "Image", default)]
    image: Option<String>,
}

#[derive(Deserialize)]
struct StateJson {
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Running", default)]
    running: bool,
    #[serde(rename = "Pid", default)]
    pid: i64,
}

/// Turns an inspect reply into a `Container`; the error is the detail for
/// a malformed-reply message.
fn parse_inspect(body: &[u8], engine: &str) -> Result<Container, String> {
    let j: InspectJson = serde_json::from_slice(body)
        .map_err(|e| format!("inspect JSON: {e}"))?;
    if j.id.is_empty() {
        return Err("inspect JSON has an empty Id".to_string());
    }
    let pid = i32::try_from(j.state.pid)
        .ok()
        .filter(|&p| p >= 0)
        .ok_or_else(|| format!("State.Pid {} is not a PID", j.state.pid))?;
    if j.state.running && pid == 0 {
        return Err("State.Running is true but State.Pid is 0".to_string());
    }
    // Config.Image is the name the container was created from; the
    // top-level Image is the image ID, the fallback.
    let image = j.config.and_then(|c| c.image).unwrap_or(j.image);
    let name = j.name.strip_prefix('/').unwrap_or(&j.name).to_string();
    Ok(Container {
        id: j.id,
        name,
        image,
        running: j.state.running,
        status: j.state.status,
        pid: if j.state.running { pid } else { 0 },
        engine: engine.to_string(),
    })
}

/// One entry of `GET /containers/json`, reduced to what is used.
#[derive(Debug, PartialEq, Eq)]
struct ListEntry {
    id: String,
    /// `Names[0]` without the leading slash.
    name: Option<String>,
    image: Option<String>,
}

fn parse_list(body: &[u8]) -> Result<Vec<ListEntry>, String> {
    #[derive(Deserialize)]
    struct ListJson {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Names", default)]
        names: Option<Vec<String>>,
        #[serde(rename = "Image", default)]
        image: Option<String>,
    }
    let list: Vec<ListJson> = serde_json::from_slice(body)
        .map_err(|e| format!("container list JSON: {e}"))?;
    list.into_iter()
        .map(|j| {
            if j.id.is_empty() {
                return Err("container list has an empty Id".to_string());
            }
            let name = j
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.strip_prefix('/').unwrap_or(&n).to_string())
                .filter(|n| !n.is_empty());
            let image = j.image.filter(|i| !i.is_empty());
            Ok(ListEntry { id: j.id, name, image })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_with(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            reason: "OK".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: b"OK".to_vec(),
        }
    }

    #[test]
    fn docker_host_unix_socket_used_alone() {
        let e = endpoint(Some("unix:///tmp/d.sock"), Some("/run/user/0"));
        assert_eq!(e.unwrap(), Endpoint::Explicit("/tmp/d.sock".into()));
    }

    #[test]
    fn docker_host_remote_schemes_rejected_with_pid_hint() {
        for value in ["tcp://10.0.0.1:2375", "ssh://me@host", "https://x"] {
            let err = endpoint(Some(value), None).unwrap_err();
            assert!(matches!(err, Error::BadDockerHost { .. }), "{value}");
            let text = err.to_string();
            assert!(text.contains("another machine"), "{text}");
            assert!(text.contains("--pid"), "{text}");
        }
    }

    #[test]
    fn docker_host_without_scheme_or_odd_scheme_rejected() {
        for value in ["/var/run/docker.sock", "npipe:////./pipe/x", "unix://x"]
        {
            let err = endpoint(Some(value), None).unwrap_err();
            assert!(matches!(err, Error::BadDockerHost { .. }), "{value}");
        }
    }

    #[test]
    fn empty_docker_host_means_unset() {
        let e = endpoint(Some(""), None).unwrap();
        assert!(matches!(e, Endpoint::Candidates(_)));
    }

    #[test]
    fn candidates_in_documented_order() {
        let e = endpoint(None, Some("/run/user/1000")).unwrap();
        let want: Vec<PathBuf> = [
            "/var/run/docker.sock",
            "/run/user/1000/docker.sock",
            "/run/podman/podman.sock",
            "/run/user/1000/podman/podman.sock",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(e, Endpoint::Candidates(want));
    }

    #[test]
    fn candidates_skip_unset_runtime_dir() {
        let e = endpoint(None, None).unwrap();
        let want: Vec<PathBuf> =
            ["/var/run/docker.sock", "/run/podman/podman.sock"]
                .iter()
                .map(PathBuf::from)
                .collect();
        assert_eq!(e, Endpoint::Candidates(want));
    }

    #[test]
    fn ping_version_header_negotiated() {
        let r = reply_with(&[("Api-Version", "1.41"), ("Server", "Docker")]);
        assert_eq!(api_version(&r).as_deref(), Some("1.41"));
        let r = reply_with(&[
            ("api-version", "1.41"),
            ("Libpod-Api-Version", "5.4.0"),
        ]);
        assert_eq!(api_version(&r).as_deref(), Some("1.41"));
    }

    #[test]
    fn ping_without_usable_version_falls_back_to_unversioned() {
        assert_eq!(api_version(&reply_with(&[])), None);
        for bad in ["", "1", "v1.41", "1.41/../x", "1.4a"] {
            let r = reply_with(&[("Api-Version", bad)]);
            assert_eq!(api_version(&r), None, "{bad:?}");
        }
    }

    #[test]
    fn error_message_from_json_or_text() {
        let body = br#"{"message":"No such container: nope"}"#;
        assert_eq!(error_message(body), "No such container: nope");
        assert_eq!(error_message(b"page not found\n"), "page not found");
        assert_eq!(error_message(b""), "(empty reply)");
        let long = "x".repeat(500);
        assert_eq!(error_message(long.as_bytes()).len(), 203);
    }

    const RUNNING: &str = r#"{
        "Id": "733fc12cdfd62c74d9a5f98951b2257c1bfbc6278bb0ff6fe7468",
        "Created": "2025-12-04T15:57:40.1Z",
        "Path": "python3",
        "Args": ["./secret.py"],
        "State": {"Status": "running", "Running": true, "Paused": false,
                  "Pid": 11278, "ExitCode": 0},
        "Image": "sha256:2852c55131be",
        "Name": "/python_minimal_unprotected",
        "Config": {"Image": "memscan/unprotected:local", "Tty": false}
    }"#;

    #[test]
    fn inspect_of_running_container_parsed() {
        let c =
            parse_inspect(RUNNING.as_bytes(), "/var/run/docker.sock").unwrap();
        assert_eq!(c.name, "python_minimal_unprotected");
        assert_eq!(c.image, "memscan/unprotected:local");
        assert!(c.running);
        assert_eq!(c.status, "running");
        assert_eq!(c.pid, 11278);
        assert_eq!(c.engine, "/var/run/docker.sock");
        assert!(c.id.starts_with("733fc12c"));
    }

    #[test]
    fn inspect_of_stopped_container_has_pid_zero() {
        let body = r#"{"Id": "abc123", "Name": "/stopped",
            "Image": "sha256:1", "State": {"Status": "exited",
            "Running": false, "Pid": 0, "ExitCode": 137}}"#;
        let c = parse_inspect(body.as_bytes(), "s").unwrap();
        assert!(!c.running);
        assert_eq!(c.status, "exited");
        assert_eq!(c.pid, 0);
        // Without Config.Image the image ID stands in for the name.
        assert_eq!(c.image, "sha256:1");
    }

    #[test]
    fn inspect_with_impossible_state_is_malformed() {
        for body in [
            r#"{"Id": "a", "State": {"Running": true, "Pid": 0}}"#,
            r#"{"Id": "a", "State": {"Running": true, "Pid": -5}}"#,
            r#"{"Id": "a", "State": {"Running": true, "Pid": 99999999999}}"#,
            r#"{"Id": "", "State": {"Running": false, "Pid": 0}}"#,
            r#"{"Id": "a"}"#,
            r#"[]"#,
            "not json",
        ] {
            assert!(parse_inspect(body.as_bytes(), "s").is_err(), "{body}");
        }
    }

    #[test]
    fn list_takes_first_name_and_image() {
        let body = r#"[
            {"Id": "aaa", "Names": ["/first", "/alias"], "Image": "img:1",
             "State": "running", "Status": "Up 3 seconds"},
            {"Id": "bbb", "Names": [], "Image": ""},
            {"Id": "ccc"}
        ]"#;
        let list = parse_list(body.as_bytes()).unwrap();
        assert_eq!(
            list,
            vec![
                ListEntry {
                    id: "aaa".into(),
                    name: Some("first".into()),
                    image: Some("img:1".into()),
                },
                ListEntry { id: "bbb".into(), name: None, image: None },
                ListEntry { id: "ccc".into(), name: None, image: None },
            ]
        );
    }

    /// A socket path in a fresh scratch folder, removed on drop.
    struct ScratchSocket(PathBuf);

    impl ScratchSocket {
        fn new(tag: &str) -> ScratchSocket {
            let dir = std::env::temp_dir()
                .join(format!("memscan-sock-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            ScratchSocket(dir)
        }

        fn path(&self) -> PathBuf {
            self.0.join("engine.sock")
        }
    }

    impl Drop for ScratchSocket {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Serves one canned reply per connection, in order, and returns the
    /// request lines it saw.
    fn fake_engine(
        socket: &Path,
        replies: Vec<String>,
    ) -> std::thread::JoinHandle<Vec<String>> {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for reply in replies {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                seen.push(line.trim_end().to_string());
                // Drain the request headers before answering.
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim_end().is_empty() {
                        break;
                    }
                }
                reader.get_mut().write_all(reply.as_bytes()).unwrap();
            }
            seen
        })
    }

    fn ping_143() -> String {
        "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK"
            .to_string()
    }

    /// A reply with a Content-Length body.
    fn sized(status: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// A chunked reply with one chunk per part, the second with an
    /// extension.
    fn chunked(parts: &[&str]) -> String {
        let mut reply =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_string();
        for (i, part) in parts.iter().enumerate() {
            let ext = if i == 1 { ";x=y" } else { "" };
            reply += &format!("{:x}{ext}\r\n{part}\r\n", part.len());
        }
        reply + "0\r\n\r\n"
    }

    #[test]
    fn fake_engine_inspect_uses_negotiated_version_and_chunks() {
        let dir = ScratchSocket::new("inspect");
        let engine = fake_engine(
            &dir.path(),
            vec![
                ping_143(),
                chunked(&[
                    r#"{"Id":"abc","Name":"/web","State""#,
                    r#":{"Running":true,"Pid":77,"Status":"ok"}}"#,
                ]),
            ],
        );
        let client = Client::with_socket(dir.path()).unwrap();
        assert_eq!(client.api_version(), Some("1.43"));
        let c = client.inspect("web").unwrap();
        assert_eq!((c.name.as_str(), c.pid, c.running), ("web", 77, true));
        assert_eq!(c.engine, dir.path().display().to_string());
        let seen = engine.join().unwrap();
        assert_eq!(
            seen,
            ["GET /_ping HTTP/1.1", "GET /v1.43/containers/web/json HTTP/1.1"]
        );
    }

    #[test]
    fn fake_engine_without_version_gets_unversioned_paths() {
        let dir = ScratchSocket::new("unversioned");
        let engine = fake_engine(
            &dir.path(),
            vec![
                "HTTP/1.0 200 OK\r\n\r\nOK".to_string(),
                sized(
                    "404 Not Found",
                    "{\"message\":\"No such container: x\"}\n",
                ),
            ],
        );
        let client = Client::with_socket(dir.path()).unwrap();
        assert_eq!(client.api_version(), None);
        let err = client.inspect("x").unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        let seen = engine.join().unwrap();
        assert_eq!(seen[1], "GET /containers/x/json HTTP/1.1");
    }

    #[test]
    fn unknown_route_is_an_api_error_not_a_missing_container() {
        let dir = ScratchSocket::new("route");
        let engine = fake_engine(
            &dir.path(),
            vec![
                ping_143(),
                sized("404 Not Found", r#"{"message":"page not found"}"#),
            ],
        );
        let client = Client::with_socket(dir.path()).unwrap();
        let err = client.inspect("x").unwrap_err();
        assert!(matches!(err, Error::Api { status: 404, .. }), "{err}");
        engine.join().unwrap();
    }

    #[test]
    fn garbage_reply_is_malformed_not_a_panic() {
        let dir = ScratchSocket::new("garbage");
        let engine = fake_engine(
            &dir.path(),
            vec![ping_143(), "HTTP/1.1 200 OK\r\n\r\n{\"Id\": 5}".to_string()],
        );
        let client = Client::with_socket(dir.path()).unwrap();
        let err = client.inspect("x").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        engine.join().unwrap();
    }

    #[test]
    fn socket_without_listener_reported_as_refused() {
        let dir = ScratchSocket::new("refused");
        // Binding and dropping leaves the socket file with no one behind it,
        // as a crashed daemon does.
        drop(std::os::unix::net::UnixListener::bind(dir.path()).unwrap());
        let err = Client::with_socket(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err}");
        assert!(err.to_string().contains("is the daemon running?"), "{err}");
    }

    #[test]
    fn silent_engine_times_out() {
        let dir = ScratchSocket::new("silent");
        let _listener =
            std::os::unix::net::UnixListener::bind(dir.path()).unwrap();
        // The kernel completes the connection from the backlog, but nothing
        // ever answers.
        let err = Client::with_timeout(dir.path(), Duration::from_millis(50))
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("no answer within"), "{err}");
    }

    #[test]
    fn list_that_is_not_an_array_is_malformed() {
        assert!(parse_list(br#"{"message": "x"}"#).is_err());
        assert!(parse_list(br#"[{"Names": ["/x"]}]"#).is_err());
    }
}
