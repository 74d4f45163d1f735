//! The errors of container resolution, one line each.
//!
//! Every message names its subject first (the container, the socket or the
//! variable) and, where the user can act, says how: start the daemon, fix
//! the permissions, or bypass the engine with `--pid`.

use std::io;

/// Why a container could not be resolved into processes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine answered 404 for the name.
    #[error("container {name:?}: no such container (asked {socket})")]
    NotFound { name: String, socket: String },

    /// The container exists but has no processes to scan.
    #[error("container {name:?}: not running (status {status})")]
    NotRunning { name: String, status: String },

    /// The container's main process vanished between inspect and listing.
    #[error(
        "container {name:?}: its main process {pid} is gone \
         (did the container just stop?)"
    )]
    Gone { name: String, pid: i32 },

    /// None of the well-known sockets exists.
    #[error(
        "no container engine socket found (tried {tried}); start Docker or \
         Podman, point DOCKER_HOST at the socket (unix:///path), or give \
         the process with --pid"
    )]
    NoSocket { tried: String },

    /// The socket file exists but no daemon accepts connections on it.
    #[error("{socket}: connection refused (is the daemon running?)")]
    Refused { socket: String },

    /// The socket is there but this user may not connect to it.
    #[error(
        "{socket}: permission denied (run as root or join the docker group)"
    )]
    PermissionDenied { socket: String },

    /// DOCKER_HOST names something other than a local Unix socket.
    #[error("DOCKER_HOST={value}: {reason}")]
    BadDockerHost { value: String, reason: String },

    /// The name cannot be a container name or ID, so it is never sent.
    #[error(
        "invalid container name {name:?}: expected a name like \
         [a-zA-Z0-9][a-zA-Z0-9_.-]* or a hexadecimal container ID"
    )]
    InvalidName { name: String },

    /// The reply broke HTTP framing or was not the JSON expected.
    #[error("{socket}: malformed reply to GET {path}: {detail}")]
    Malformed { socket: String, path: String, detail: String },

    /// The engine answered with an error status other than not-found.
    #[error("{socket}: GET {path} failed with status {status}: {message}")]
    Api { socket: String, path: String, status: u16, message: String },

    /// Talking to the socket failed after connecting (timeouts included).
    #[error("{socket}: GET {path}: {source}")]
    Io {
        socket: String,
        path: String,
        #[source]
        source: io::Error,
    },

    /// A file under /proc or the cgroup hierarchy could not be read.
    #[error("{path}: {source}")]
    Proc {
        path: String,
        #[source]
        source: io::Error,
    },
}
