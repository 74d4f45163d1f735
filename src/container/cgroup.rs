//! Finding every host process of a container through its cgroup.
//!
//! The engine tells us one PID (`State.Pid`); the container's other
//! processes (`docker exec` shells, children of PID 1) share its cgroup.
//! So we read `/proc/PID/cgroup`, keep a line whose path names the
//! container ID, find where that hierarchy is mounted (from
//! `/proc/self/mountinfo`), and read `cgroup.procs` there and in every
//! child cgroup. When that fails (an unknown layout, a private cgroup
//! namespace, no cgroupfs mounted) we fall back to `State.Pid` and its
//! descendants by parent PID, which misses `docker exec` processes.
//!
//! When memscan itself runs in a container, its own cgroup mounts show
//! only its own subtree. So the caller also passes the mount tables of the
//! target (whose `/sys/fs/cgroup` shows the target's own cgroup) and of
//! PID 1 (the host's, with `--pid=host`), each to be reached through that
//! process's `/proc/PID/root`. Those need ptrace read access to the
//! process, which memscan needs for the memory anyway.
//!
//! PIDs read here are in memscan's own PID namespace, which is the host's
//! unless memscan itself runs in a container without `--pid=host`.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Container, ContainerProcess, Error};

/// How deep below the container's cgroup we descend. Engines nest one or
/// two levels; the bound only guards against a pathological tree.
const MAX_DEPTH: usize = 32;

/// One line of `/proc/PID/cgroup`: `hierarchy-ID:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The hierarchy ID; `0` with no controllers is the cgroup v2 line.
    pub hierarchy: String,
    /// The v1 controllers of the hierarchy (`pids`, `cpu,cpuacct`, or
    /// `name=systemd`); empty for v2.
    pub controllers: Vec<String>,
    /// The cgroup path, relative to the reader's cgroup namespace root.
    pub path: String,
}

impl Membership {
    fn is_v2(&self) -> bool {
        self.hierarchy == "0" && self.controllers.is_empty()
    }
}

/// Parses `/proc/PID/cgroup` (cgroups(7)). Malformed lines are skipped: a
/// path may itself contain colons, so only the first two split the line.
pub fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            if hierarchy.is_empty() || !path.starts_with('/') {
                return None;
            }
            Some(Membership {
                hierarchy: hierarchy.to_string(),
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The lines worth trying for container `id`, best first: only lines whose
/// path names the container, preferring the v1 `pids` hierarchy (every
/// runtime joins it), then `name=systemd`, then v2, then any other.
pub fn candidates<'a>(
    lines: &'a [Membership],
    id: &str,
) -> Vec<&'a Membership> {
    let rank = |m: &Membership| {
        if m.controllers.iter().any(|c| c == "pids") {
            0
        } else if m.controllers.iter().any(|c| c == "name=systemd") {
            1
        } else if m.is_v2() {
            2
        } else {
            3
        }
    };
    let mut picked: Vec<&Membership> = lines
        .iter()
        .filter(|m| !id.is_empty() && container_root(&m.path, id).is_some())
        .collect();
    picked.sort_by_key(|m| rank(m));
    picked
}

/// The container's own cgroup within `path`: the path up to the first
/// component that names `id`. Docker's cgroupfs driver gives
/// `/docker/<id>`, its systemd driver `/system.slice/docker-<id>.scope`,
/// Podman `/machine.slice/libpod-<id>.scope` (with processes possibly in a
/// `container` child below it); cutting there keeps such children in.
/// Podman's `libpod-conmon-<id>.scope` is the monitor's, not the
/// container's, and is refused.
pub fn container_root<'a>(path: &'a str, id: &str) -> Option<&'a str> {
    let mut end = 0;
    for component in path.split('/') {
        end += component.len();
        if component.contains(id) && !component.contains("conmon") {
            return Some(&path[..end]);
        }
        end += 1;
    }
    None
}

/// One line of `/proc/self/mountinfo` (proc(5)), reduced to what cgroup
/// lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The path within the filesystem that is mounted (field 4).
    pub root: String,
    /// Where it is mounted (field 5), octal escapes decoded.
    pub mount_point: PathBuf,
    /// The filesystem type after the ` - ` separator.
    pub fstype: String,
    /// The per-superblock options; for cgroup v1 these name the
    /// hierarchy's controllers.
    pub super_options: Vec<String>,
}

/// Parses `/proc/self/mountinfo`; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let root = left.get(3)?;
            let mount_point = left.get(4)?;
            let mut right = right.split(' ');
            let fstype = right.next()?;
            let _source = right.next()?;
            let super_options = right.next().unwrap_or("");
            Some(Mount {
                root: unescape(root),
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: fstype.to_string(),
                super_options: super_options
                    .split(',')
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// Decodes mountinfo's `\ooo` escapes (space, tab, newline, backslash).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| {
            bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b))
        });
        match octal {
            Some(d) => {
                let value =
                    d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mounts that show the hierarchy of `m`: cgroup2 for the v2 line, a
/// v1 cgroup mount carrying all of the line's controllers otherwise.
pub fn mounts_for<'a>(mounts: &'a [Mount], m: &Membership) -> Vec<&'a Mount> {
    mounts
        .iter()
        .filter(|mount| {
            if m.is_v2() {
                mount.fstype == "cgroup2"
            } else {
                mount.fstype == "cgroup"
                    && m.controllers
                        .iter()
                        .all(|c| mount.super_options.contains(c))
            }
        })
        .collect()
}

/// Where cgroup `path` of a hierarchy lives under `mount`, if the mount
/// shows it. A mount's root is the cgroup it shows at its mount point: `/`
/// for the whole hierarchy, the container's own cgroup for the mounts
/// inside a container. Both the root and `path` are relative to the
/// reader's cgroup namespace, so a path outside it starts with `/..`; it is
/// reachable only through a mount whose root is an ancestor of it. A path
/// that matches no root is tried as relative to the mount point, which is
/// right for the mount of a private cgroup namespace's own root.
pub fn cgroup_dir(mount: &Mount, path: &str) -> Option<PathBuf> {
    let climbs = |p: &str| p.split('/').any(|c| c == "..");
    let root = mount.root.trim_end_matches('/');
    let below_root = path
        .strip_prefix(root)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .map(|rest| rest.trim_start_matches('/'));
    let relative = match below_root {
        Some(rest) => rest,
        None => path.trim_start_matches('/'),
    };
    if climbs(relative) {
        return None;
    }
    Some(mount.mount_point.join(relative))
}

/// Reads `cgroup.procs` in `dir` and below into `pids`.
pub fn collect_procs(
    dir: &Path,
    pids: &mut BTreeSet<i32>,
    depth: usize,
) -> io::Result<()> {
    let text = fs::read_to_string(dir.join("cgroup.procs"))?;
    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if depth >= MAX_DEPTH {
        log::debug!("container: not descending below {}", dir.display());
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // file_type does not follow symlinks; cgroupfs has none, and a
        // loop through one must not be possible.
        if entry.file_type()?.is_dir() {
            // A child cgroup may vanish while we walk; that is no error.
            match collect_procs(&entry.path(), pids, depth + 1) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
    }
    Ok(())
}

/// A mount table and the path through which its mount points are seen:
/// `/` for our own, `/proc/1/root` for the host's when we run in a
/// container with `--pid=host`.
#[derive(Debug, Clone)]
pub struct MountTable {
    /// Prefixed to every mount point of `text`.
    pub prefix: PathBuf,
    /// The content of a `mountinfo` file.
    pub text: String,
}

/// The container's PIDs from its cgroup, or the reason it could not be
/// read. A cgroup that does not hold `main_pid` is not the container's (a
/// stale mount, another namespace's view) and is passed over.
fn pids_from_cgroup(
    cgroup_text: &str,
    tables: &[MountTable],
    id: &str,
    main_pid: i32,
) -> Result<BTreeSet<i32>, String> {
    let lines = parse_proc_cgroup(cgroup_text);
    let picked = candidates(&lines, id);
    if picked.is_empty() {
        return Err(format!("no cgroup path names container {id}"));
    }
    let mut last = String::from("no cgroup hierarchy of it is mounted");
    for table in tables {
        let mounts = parse_mountinfo(&table.text);
        for m in &picked {
            let Some(root) = container_root(&m.path, id) else { continue };
            for mount in mounts_for(&mounts, m) {
                let Some(dir) = cgroup_dir(mount, root) else { continue };
                let dir =
                    table.prefix.join(dir.strip_prefix("/").unwrap_or(&dir));
                let mut pids = BTreeSet::new();
                match collect_procs(&dir, &mut pids, 0) {
                    Ok(()) if pids.contains(&main_pid) => {
                        log::debug!("container: pids from {}", dir.display());
                        return Ok(pids);
                    }
                    Ok(()) => {
                        last = format!(
                            "{} does not list pid {main_pid}",
                            dir.display()
                        )
                    }
                    Err(e) => last = format!("{}: {e}", dir.display()),
                }
            }
        }
    }
    Err(last)
}

/// Parses the parent PID from `/proc/PID/stat`. The command name in
/// parentheses may contain spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_stat_ppid(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

/// The PID as seen in the innermost PID namespace: the last field of
/// `NSpid:` in `/proc/PID/status` (Linux 4.1+).
pub fn parse_nspid(status: &str) -> Option<i32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// `root` and all its descendants, by the parent PIDs in `proc_root`.
pub fn descendants(proc_root: &Path, root: i32) -> BTreeSet<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir(proc_root) {
        for entry in entries.flatten() {
            let Some(pid) =
                entry.file_name().to_str().and_then(|n| n.parse().ok())
            else {
                continue;
            };
            // A process may exit while we look; it simply drops out.
            let Ok(stat) = fs::read_to_string(entry.path().join("stat"))
            else {
                continue;
            };
            if let Some(ppid) = parse_stat_ppid(&stat) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut found = BTreeSet::from([root]);
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            // The set also breaks cycles, which PID reuse during the scan
            // could in principle create.
            if found.insert(child) {
                queue.push(child);
            }
        }
    }
    found
}

/// All host processes of a running container, `State.Pid` included.
pub fn processes_in(
    c: &Container,
    proc_root: &Path,
    tables: &[MountTable],
) -> Result<Vec<ContainerProcess>, Error> {
    if !c.running || c.pid <= 0 {
        return Err(Error::NotRunning {
            name: c.name.clone(),
            status: c.status.clone(),
        });
    }
    let cgroup_path = proc_root.join(c.pid.to_string()).join("cgroup");
    let cgroup_text = fs::read_to_string(&cgroup_path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound
            || e.raw_os_error() == Some(libc::ESRCH)
        {
            Error::Gone { name: c.name.clone(), pid: c.pid }
        } else {
            Error::Proc { path: cgroup_path.display().to_string(), source: e }
        }
    })?;
    let pids = match pids_from_cgroup(&cgroup_text, tables, &c.id, c.pid) {
        Ok(pids) => pids,
        Err(reason) => {
            log::debug!(
                "container: {}: cgroup not usable ({reason}); falling back \
                 to pid {} and its descendants, which misses processes \
                 started with docker exec",
                c.name,
                c.pid
            );
            descendants(proc_root, c.pid)
        }
    };
    let processes: Vec<ContainerProcess> = pids
        .into_iter()
        .filter_map(|pid| {
            let status_path = proc_root.join(pid.to_string()).join("status");
            match fs::read_to_string(status_path) {
                Ok(status) => Some(ContainerProcess {
                    host_pid: pid,
                    ns_pid: parse_nspid(&status),
                }),
                Err(e) => {
                    log::debug!("container: pid {pid} left: {e}");
                    None
                }
            }
        })
        .collect();
    if processes.is_empty() {
        return Err(Error::Gone { name: c.name.clone(), pid: c.pid });
    }
    Ok(processes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ID: &str =
        "733fc12cdfd62c74d9a5f98951b2257c1bfbc6278bb0ff6fe74685e1571f717e";

    /// A scratch folder under the system temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "memscan-cgroup-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, rel: &str, text: &str) {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn container(pid: i32) -> Container {
        Container {
            id: ID.to_string(),
            name: "test".into(),
            image: "img".into(),
            running: true,
            status: "running".into(),
            pid,
            engine: "/var/run/docker.sock".into(),
        }
    }

    #[test]
    fn v2_line_parsed() {
        let lines = parse_proc_cgroup(&format!("0::/docker/{ID}\n"));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].is_v2());
        assert_eq!(lines[0].path, format!("/docker/{ID}"));
        assert_eq!(candidates(&lines, ID).len(), 1);
    }

    #[test]
    fn v1_lines_parsed_with_controllers() {
        let text = format!(
            "12:cpu,cpuacct:/docker/{ID}\n\
             4:memory:/docker/{ID}\n\
             1:name=systemd:/docker/{ID}\n"
        );
        let lines = parse_proc_cgroup(&text);
        assert_eq!(lines[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(lines[2].controllers, ["name=systemd"]);
        assert!(lines.iter().all(|l| !l.is_v2()));
        // name=systemd wins over ordinary controllers when pids is absent.
        assert_eq!(candidates(&lines, ID)[0].hierarchy, "1");
    }

    #[test]
    fn hybrid_prefers_pids_then_systemd_then_v2() {
        // As read on this project's CI machine kind (Docker 20.10).
        let text = format!(
            "9:name=systemd:/docker/{ID}\n8:pids:/docker/{ID}\n\
             4:memory:/docker/{ID}\n1:cpu:/docker/{ID}\n0::/docker/{ID}\n"
        );
        let lines = parse_proc_cgroup(&text);
        let order: Vec<&str> = candidates(&lines, ID)
            .iter()
            .map(|m| m.hierarchy.as_str())
            .collect();
        assert_eq!(order, ["8", "9", "0", "4", "1"]);
    }

    #[test]
    fn lines_not_naming_the_container_are_ignored() {
        let text = "8:pids:/\n4:memory:/process_api/87ca\n0::/\n";
        let lines = parse_proc_cgroup(text);
        assert_eq!(lines.len(), 3);
        assert!(candidates(&lines, ID).is_empty());
        assert!(candidates(&lines, "").is_empty());
    }

    #[test]
    fn malformed_cgroup_lines_skipped() {
        let lines = parse_proc_cgroup("garbage\n::\n1:pids\n0::relative\n\n");
        assert!(lines.is_empty());
        let lines = parse_proc_cgroup("0::/a:b:c\n");
        assert_eq!(lines[0].path, "/a:b:c");
    }

    #[test]
    fn cgroupfs_docker_path_is_its_own_root() {
        let path = format!("/docker/{ID}");
        assert_eq!(container_root(&path, ID), Some(path.as_str()));
    }

    #[test]
    fn systemd_docker_scope_recognised() {
        let path = format!("/system.slice/docker-{ID}.scope");
        assert_eq!(container_root(&path, ID), Some(path.as_str()));
    }

    #[test]
    fn podman_scope_cut_above_container_child() {
        let path = format!("/machine.slice/libpod-{ID}.scope/container");
        let want = format!("/machine.slice/libpod-{ID}.scope");
        assert_eq!(container_root(&path, ID), Some(want.as_str()));
        let rootless = format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/\
             libpod-{ID}.scope"
        );
        assert_eq!(container_root(&rootless, ID), Some(rootless.as_str()));
    }

    #[test]
    fn podman_conmon_scope_refused() {
        let path = format!("/machine.slice/libpod-conmon-{ID}.scope");
        assert_eq!(container_root(&path, ID), None);
    }

    #[test]
    fn nested_docker_cut_at_inner_container() {
        let path = format!("/docker/outer/docker/{ID}/sub");
        let want = format!("/docker/outer/docker/{ID}");
        assert_eq!(container_root(&path, ID), Some(want.as_str()));
    }

    /// Lines as the kernel writes them, one optional field included; the
    /// long ones are continued with a backslash at a space.
    const MOUNTINFO: &str = "\
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup \
        cgroup rw,cpu,cpuacct\n\
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup \
        rw,pids\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup \
        cgroup rw,xattr,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 \
        rw,nsdelegate\n\
        50 23 0:40 /docker/abc /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n";

    #[test]
    fn mountinfo_parsed_with_optional_fields_and_escapes() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 6);
        assert_eq!(mounts[3].fstype, "cgroup");
        assert!(mounts[3].super_options.iter().any(|o| o == "name=systemd"));
        assert_eq!(mounts[5].mount_point, Path::new("/mnt/my cgroups"));
        assert_eq!(mounts[5].root, "/docker/abc");
        assert!(parse_mountinfo("short line\n - x\n").is_empty());
    }

    #[test]
    fn mounts_matched_to_hierarchies() {
        let mounts = parse_mountinfo(MOUNTINFO);
        let lines = parse_proc_cgroup(
            "8:pids:/x\n2:cpu,cpuacct:/x\n1:name=systemd:/x\n0::/x\n\
             3:net_cls:/x\n",
        );
        let points = |m: &Membership| -> Vec<PathBuf> {
            mounts_for(&mounts, m)
                .iter()
                .map(|m| m.mount_point.clone())
                .collect()
        };
        assert_eq!(points(&lines[0]), [PathBuf::from("/sys/fs/cgroup/pids")]);
        assert_eq!(
            points(&lines[1]),
            [PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")]
        );
        assert_eq!(
            points(&lines[2]),
            [PathBuf::from("/sys/fs/cgroup/systemd")]
        );
        assert_eq!(points(&lines[3]).len(), 2);
        assert!(points(&lines[4]).is_empty());
    }

    #[test]
    fn cgroup_dir_joins_below_mount_root() {
        let mounts = parse_mountinfo(MOUNTINFO);
        let pids = &mounts[2];
        assert_eq!(
            cgroup_dir(pids, &format!("/docker/{ID}")),
            Some(PathBuf::from(format!("/sys/fs/cgroup/pids/docker/{ID}")))
        );
        // A subtree mount shows paths below its root.
        let sub = &mounts[5];
        assert_eq!(
            cgroup_dir(sub, "/docker/abc/child"),
            Some(PathBuf::from("/mnt/my cgroups/child"))
        );
        // Paths that climb out of our cgroup namespace are unreachable,
        // except through a mount of exactly that cgroup.
        assert_eq!(cgroup_dir(pids, "/../../docker/x"), None);
        let mut inside = mounts[2].clone();
        inside.root = "/../docker-x.scope".into();
        assert_eq!(
            cgroup_dir(&inside, "/../docker-x.scope/sub"),
            Some(PathBuf::from("/sys/fs/cgroup/pids/sub"))
        );
    }

    #[test]
    fn nspid_last_field_taken() {
        let status = "Name:\tpython3\nTgid:\t11278\nNSpid:\t11278\t1\n";
        assert_eq!(parse_nspid(status), Some(1));
        assert_eq!(parse_nspid("NSpid:\t4242\n"), Some(4242));
        assert_eq!(parse_nspid("NSpid:\t9\t5\t1\n"), Some(1));
        assert_eq!(parse_nspid("Name:\tx\n"), None);
        assert_eq!(parse_nspid("NSpid:\n"), None);
    }

    #[test]
    fn stat_ppid_survives_odd_command_names() {
        assert_eq!(parse_stat_ppid("42 (python3) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parse_stat_ppid("42 (a) b) (c) R 9 1 1"), Some(9));
        assert_eq!(parse_stat_ppid("42 (x y"), None);
        assert_eq!(parse_stat_ppid(""), None);
    }

    #[test]
    fn parsers_survive_arbitrary_text() {
        let samples = [
            "",
            ":",
            "::",
            "0::",
            "\\",
            "\\0",
            "\\777",
            "a\\1x",
            ")",
            "((",
            "1 2 3 4 5 - ",
            "1 2 3 \\04 \\0400 - cgroup x y",
            "NSpid:\tx",
            "NSpid:",
            "é:ü:/ä",
            "42 (x) S",
            "42 ) S -1",
        ];
        for text in samples {
            let _ = parse_proc_cgroup(text);
            let _ = parse_mountinfo(text);
            let _ = parse_nspid(text);
            let _ = parse_stat_ppid(text);
            let _ = unescape(text);
            let _ = container_root(text, "x");
        }
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
    }

    #[test]
    fn procs_collected_recursively() {
        let s = Scratch::new();
        s.write("c/cgroup.procs", "10\n11\n");
        s.write("c/child/cgroup.procs", "12\n");
        s.write("c/child/grand/cgroup.procs", "13\nnot-a-pid\n");
        s.write("c/empty/cgroup.procs", "");
        let mut pids = BTreeSet::new();
        collect_procs(&s.0.join("c"), &mut pids, 0).unwrap();
        assert_eq!(pids, BTreeSet::from([10, 11, 12, 13]));
    }

    #[test]
    fn processes_read_from_cgroup_with_ns_pids() {
        let s = Scratch::new();
        let cg = format!("cg/pids/docker/{ID}");
        s.write(&format!("{cg}/cgroup.procs"), "100\n");
        s.write(&format!("{cg}/exec/cgroup.procs"), "200\n");
        s.write("proc/100/cgroup", &format!("8:pids:/docker/{ID}\n0::/\n"));
        s.write("proc/100/status", "NSpid:\t100\t1\n");
        s.write("proc/200/status", "NSpid:\t200\t7\n");
        let tables = [MountTable {
            prefix: PathBuf::from("/"),
            text: format!(
                "39 31 0:36 / {} rw - cgroup cgroup rw,pids\n",
                s.0.join("cg/pids").display()
            ),
        }];
        let got =
            processes_in(&container(100), &s.0.join("proc"), &tables).unwrap();
        assert_eq!(
            got,
            [
                ContainerProcess { host_pid: 100, ns_pid: Some(1) },
                ContainerProcess { host_pid: 200, ns_pid: Some(7) },
            ]
        );
    }

    #[test]
    fn host_mounts_used_when_own_mounts_show_only_own_subtree() {
        // memscan in a container: its pids mount shows its own cgroup at
        // the usual place; the host's hierarchy is reachable through a
        // prefix (/proc/1/root in real life, a scratch folder here).
        let s = Scratch::new();
        s.write("own/pids/cgroup.procs", "999\n");
        let host = format!("host/sys/fs/cgroup/pids/docker/{ID}");
        s.write(&format!("{host}/cgroup.procs"), "100\n");
        s.write("proc/100/cgroup", &format!("8:pids:/docker/{ID}\n"));
        s.write("proc/100/status", "NSpid:\t100\t1\n");
        let tables = [
            MountTable {
                prefix: PathBuf::from("/"),
                text: format!(
                    "165 157 0:36 /docker/self {} ro - cgroup cgroup \
                     rw,pids\n",
                    s.0.join("own/pids").display()
                ),
            },
            MountTable {
                prefix: s.0.join("host"),
                text: "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup \
                       rw,pids\n"
                    .to_string(),
            },
        ];
        let got =
            processes_in(&container(100), &s.0.join("proc"), &tables).unwrap();
        assert_eq!(got, [ContainerProcess { host_pid: 100, ns_pid: Some(1) }]);
    }

    #[test]
    fn cgroup_without_the_main_pid_is_not_trusted() {
        let s = Scratch::new();
        let cg = format!("cg/docker/{ID}");
        s.write(&format!("{cg}/cgroup.procs"), "555\n");
        s.write("proc/100/cgroup", &format!("0::/docker/{ID}\n"));
        s.write("proc/100/stat", "100 (python3) S 1 100 100 0");
        s.write("proc/100/status", "NSpid:\t100\t1\n");
        let tables = [MountTable {
            prefix: PathBuf::from("/"),
            text: format!(
                "41 31 0:38 / {} rw - cgroup2 cgroup2 rw\n",
                s.0.join("cg").display()
            ),
        }];
        let got =
            processes_in(&container(100), &s.0.join("proc"), &tables).unwrap();
        let pids: Vec<i32> = got.iter().map(|p| p.host_pid).collect();
        assert_eq!(pids, [100]);
    }

    #[test]
    fn missing_cgroup_falls_back_to_descendants() {
        let s = Scratch::new();
        s.write("proc/100/cgroup", "0::/somewhere/else\n");
        s.write("proc/100/stat", "100 (python3) S 1 100 100 0");
        s.write("proc/100/status", "NSpid:\t100\t1\n");
        s.write("proc/101/stat", "101 (sh) S 100 100 100 0");
        s.write("proc/101/status", "NSpid:\t101\t2\n");
        s.write("proc/102/stat", "102 (sleep) S 101 100 100 0");
        s.write("proc/102/status", "NSpid:\t102\t3\n");
        s.write("proc/300/stat", "300 (other) S 1 300 300 0");
        s.write("proc/300/status", "NSpid:\t300\n");
        let got =
            processes_in(&container(100), &s.0.join("proc"), &[]).unwrap();
        let pids: Vec<i32> = got.iter().map(|p| p.host_pid).collect();
        assert_eq!(pids, [100, 101, 102]);
        assert_eq!(got[2].ns_pid, Some(3));
    }

    #[test]
    fn stopped_container_has_no_processes() {
        let mut c = container(0);
        c.running = false;
        c.status = "exited".into();
        let err =
            processes_in(&c, Path::new("/nonexistent"), &[]).unwrap_err();
        assert!(matches!(err, Error::NotRunning { .. }));
        assert!(err.to_string().contains("exited"), "{err}");
    }

    #[test]
    fn vanished_main_process_reported_as_gone() {
        let s = Scratch::new();
        let err = processes_in(&container(4242), &s.0, &[]).unwrap_err();
        assert!(matches!(err, Error::Gone { pid: 4242, .. }), "{err}");
    }
}
