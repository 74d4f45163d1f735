//! From what the user named (`--pid`, `--name`, `--container`,
//! `--all-containers`) to the processes to scan.
//!
//! Errors stay in the list, in order, as one-line messages, so that one
//! bad target is reported where it belongs while the others are scanned.
//! A container's process that vanishes between listing and reading (a
//! `docker exec` that just ended, runc's short-lived init) is dropped
//! quietly: it was never the user's target.

use crate::cli::Selector;
use crate::container::{self, Container};
use crate::target::{self, Origin, Process, TargetError};

/// The processes found, and the containers they came from.
#[derive(Debug, Default)]
pub struct Resolved {
    pub targets: Vec<Result<Process, String>>,
    /// Containers named or listed, running ones only.
    pub containers: Vec<Container>,
}

impl Resolved {
    fn push(&mut self, target: Result<Process, String>) {
        if let Ok(p) = &target {
            if self
                .targets
                .iter()
                .any(|t| matches!(t, Ok(q) if q.pid == p.pid))
            {
                return;
            }
        }
        self.targets.push(target);
    }
}

/// Resolves every selector; each pid appears once.
pub fn resolve(selectors: &[Selector]) -> Resolved {
    let mut out = Resolved::default();
    for selector in selectors {
        match selector {
            Selector::Pid(pid) => {
                out.push(target::by_pid(*pid).map_err(|e| e.to_string()))
            }
            Selector::Name(name) => match target::by_name(name) {
                Ok(list) => list.into_iter().for_each(|p| out.push(Ok(p))),
                Err(e) => out.push(Err(e.to_string())),
            },
            Selector::Container(name) => match container_processes(name) {
                Ok((c, list)) => {
                    list.into_iter().for_each(|p| out.push(Ok(p)));
                    out.containers.push(c);
                }
                Err(e) => out.push(Err(e)),
            },
            Selector::AllContainers => match container::list_running() {
                Ok(list) => {
                    for c in list {
                        match processes_of(&c) {
                            Ok(procs) => {
                                procs.into_iter().for_each(|p| out.push(Ok(p)))
                            }
                            Err(e) => out.push(Err(e)),
                        }
                        out.containers.push(c);
                    }
                }
                Err(e) => out.push(Err(e.to_string())),
            },
        }
    }
    out
}

/// Inspects one container and lists its processes.
pub fn container_processes(
    name: &str,
) -> Result<(Container, Vec<Process>), String> {
    let c = container::inspect(name).map_err(|e| e.to_string())?;
    let procs = processes_of(&c)?;
    Ok((c, procs))
}

/// The processes of a running container, each marked with its origin.
pub fn processes_of(c: &Container) -> Result<Vec<Process>, String> {
    let listed = container::processes(c).map_err(|e| e.to_string())?;
    let origin = Origin {
        container: c.name.clone(),
        id: c.id.clone(),
        image: c.image.clone(),
    };
    let mut found = Vec::with_capacity(listed.len());
    for cp in listed {
        match target::by_pid(cp.host_pid) {
            Ok(mut p) => {
                p.ns_pid = cp.ns_pid;
                p.origin = Some(origin.clone());
                found.push(p);
            }
            Err(
                TargetError::NoSuchPid(_)
                | TargetError::Zombie(..)
                | TargetError::KernelThread(..),
            ) => {
                log::debug!(
                    "resolve: container {}: pid {} is gone",
                    c.name,
                    cp.host_pid
                );
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(found)
}
