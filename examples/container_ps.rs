//! Shows what the container module resolves, against the local engine.
//!
//! `cargo run --example container_ps` lists the running containers;
//! `cargo run --example container_ps -- NAME` inspects one and lists its
//! host and in-container PIDs. Set RUST_LOG=debug to see which cgroup was
//! read, or why the module fell back to the descendants of PID 1.

use std::process::ExitCode;

use memscan::container::{self, Error};

fn main() -> ExitCode {
    env_logger::init();
    match run(std::env::args().nth(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("container_ps: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(name: Option<String>) -> Result<(), Error> {
    let Some(name) = name else {
        for c in container::list_running()? {
            println!("{}\t{}\tpid {}\t{}", c.name, c.image, c.pid, c.status);
        }
        return Ok(());
    };
    let c = container::inspect(&name)?;
    let short = c.id.get(..12).unwrap_or(&c.id);
    println!("container {} ({short})", c.name);
    println!("  image   {}", c.image);
    println!("  status  {} (running: {})", c.status, c.running);
    println!("  engine  {}", c.engine);
    for p in container::processes(&c)? {
        let ns = p.ns_pid.map_or("?".to_string(), |n| n.to_string());
        println!("  pid {} (pid {} in the container)", p.host_pid, ns);
    }
    Ok(())
}
