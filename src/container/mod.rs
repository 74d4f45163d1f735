//! Resolving a container name into the host processes to scan.
//!
//! `--container NAME` asks the local Docker (or Podman) engine about the
//! container over its Unix socket, then finds every process in the
//! container's cgroup. The module owns that resolution and nothing after
//! it: which regions to read and how is the business of `maps` and
//! `reader`, and the CLI decides what a stopped container means for the
//! exit status.
//!
//! - `http`: a minimal HTTP/1.1 client over a Unix socket.
//! - `docker`: socket discovery (DOCKER_HOST, then the well-known paths),
//!   API version negotiation, inspect and list.
//! - `cgroup`: from the container's main PID to all its PIDs.
//! - `error`: the one-line errors of all of the above.
//!
//! PIDs are only meaningful on the machine whose kernel runs the
//! container, so a remote engine (`DOCKER_HOST=tcp://...`) is refused.

mod cgroup;
mod docker;
mod error;
mod http;

pub use docker::{Client, DEFAULT_TIMEOUT};
pub use error::Error;

use std::path::Path;

/// A container as the engine describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The full container ID (64 hex digits on Docker and Podman).
    pub id: String,
    /// The container name without Docker's leading `/`.
    pub name: String,
    /// The image name it was created from (the image ID if unknown).
    pub image: String,
    /// `State.Running`: only a running container has processes.
    pub running: bool,
    /// `State.Status`, e.g. `running`, `exited`, `paused`, `created`.
    pub status: String,
    /// `State.Pid`, the container's PID 1 as a host PID; 0 when not
    /// running.
    pub pid: i32,
    /// The socket path of the engine that answered.
    pub engine: String,
}

/// One process of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerProcess {
    /// The PID in memscan's PID namespace (the host's, normally).
    pub host_pid: i32,
    /// The PID inside the container: the last `NSpid` field of
    /// `/proc/PID/status`; `None` if the kernel does not report it.
    pub ns_pid: Option<i32>,
}

/// Inspects a container by name or ID on the local engine. A stopped
/// container is returned with `running == false`; a missing one is
/// `Error::NotFound`.
pub fn inspect(name_or_id: &str) -> Result<Container, Error> {
    let name = validate_name(name_or_id)?;
    Client::connect()?.inspect(name)
}

/// Lists the running containers of the local engine.
pub fn list_running() -> Result<Vec<Container>, Error> {
    Client::connect()?.list_running()
}

/// All host processes of a running container, found through its cgroup;
/// `c.pid` is always among them. `Error::NotRunning` for a container that
/// is not running.
pub fn processes(c: &Container) -> Result<Vec<ContainerProcess>, Error> {
    if !c.running || c.pid <= 0 {
        return Err(Error::NotRunning {
            name: c.name.clone(),
            status: c.status.clone(),
        });
    }
    // Our own mounts first. When memscan runs in a container they show only
    // its own cgroup, so next come the target's mounts (a container sees its
    // own cgroup at /sys/fs/cgroup) and the host's, each through that
    // process's root. An unreadable table is skipped: without any, the
    // fallback (descendants of c.pid) still works from /proc alone.
    let pid = c.pid;
    let sources = [
        ("/".to_string(), "/proc/self/mountinfo".to_string()),
        (format!("/proc/{pid}/root"), format!("/proc/{pid}/mountinfo")),
        ("/proc/1/root".to_string(), "/proc/1/mountinfo".to_string()),
    ];
    let tables: Vec<cgroup::MountTable> = sources
        .into_iter()
        .filter_map(|(prefix, path)| match std::fs::read_to_string(&path) {
            Ok(text) => {
                Some(cgroup::MountTable { prefix: prefix.into(), text })
            }
            Err(e) => {
                log::debug!("container: {path}: {e}");
                None
            }
        })
        .collect();
    cgroup::processes_in(c, Path::new("/proc"), &tables)
}

/// Checks that `name` can be a container name or ID before it goes into a
/// URL path: `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (Docker's rule, which covers hex
/// IDs and ID prefixes), at most 255 bytes. One leading `/`, as Docker
/// prints names, is accepted and dropped.
pub fn validate_name(name: &str) -> Result<&str, Error> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = bare.bytes();
    let valid = bare.len() <= 255
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(bare)
    } else {
        Err(Error::InvalidName { name: name.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_and_ids_accepted() {
        for name in [
            "python_minimal_unprotected",
            "memscan-test-4242",
            "a",
            "web.1",
            "733fc12cdfd6",
            "733fc12cdfd62c74d9a5f98951b2257c1bfbc6278bb0ff6fe74685e1571f717e",
        ] {
            assert_eq!(validate_name(name).unwrap(), name);
        }
    }

    #[test]
    fn leading_slash_dropped() {
        assert_eq!(validate_name("/web").unwrap(), "web");
    }

    #[test]
    fn names_that_could_escape_the_url_rejected() {
        for name in [
            "",
            "/",
            "//web",
            "-web",
            "_web",
            ".web",
            "../../_ping",
            "web/../x",
            "web?all=1",
            "web#x",
            "web%2f",
            "web name",
            "web\r\nHost: evil",
            "wéb",
            &"a".repeat(256),
        ] {
            let err = validate_name(name).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{name:?}");
        }
    }

    #[test]
    fn error_messages_are_one_lowercase_line() {
        let errors = [
            Error::NotFound { name: "x".into(), socket: "/s".into() },
            Error::NotRunning { name: "x".into(), status: "exited".into() },
            Error::NoSocket { tried: "/a, /b".into() },
            Error::Refused { socket: "/s".into() },
            Error::PermissionDenied { socket: "/s".into() },
            Error::InvalidName { name: "a b".into() },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(!text.ends_with('.'), "{text}");
            let first = text.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{text}");
        }
    }
}
