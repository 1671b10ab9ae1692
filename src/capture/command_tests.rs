use super::*;

const MS: Duration = Duration::from_millis(1);

fn producer(command: &str) -> Producer {
    Producer::new(command).with_waits(300 * MS, 200 * MS)
}

/// Reads until the command has written `want` bytes (or fails).
fn read_bytes(p: &mut Producer, want: usize) -> Result<Vec<u8>, NoOutput> {
    let mut out = Vec::new();
    while out.len() < want {
        out.extend(p.read()?);
    }
    Ok(out)
}

#[test]
fn output_arrives_then_an_exit_is_reported_and_the_command_runs_again_after_a_back_off() {
    let mut p = producer("printf hello; exit 3");
    assert_eq!(read_bytes(&mut p, 5).unwrap(), b"hello");
    let err = p.read().unwrap_err();
    assert!(
        err.reason.contains("exit status: 3") && err.ended,
        "{err:?}"
    );
    let err = p.read().unwrap_err();
    assert!(
        err.reason.starts_with("restarting in") && !err.ended,
        "{err:?}"
    );
    std::thread::sleep(250 * MS);
    assert_eq!(read_bytes(&mut p, 5).unwrap(), b"hello", "second run");
    assert_eq!(p.runs, 2);
}

#[test]
fn a_silent_command_is_stopped_and_restarted() {
    let mut p = producer("sleep 30");
    let started = Instant::now();
    let err = p.read().unwrap_err();
    assert!(
        err.reason.contains("wrote nothing") && !err.ended,
        "{err:?}"
    );
    assert!(
        started.elapsed() < 2 * 300 * MS + 600 * MS,
        "{:?}",
        started.elapsed()
    );
    assert!(p.running.is_none());
}

#[test]
fn a_missing_program_is_an_exit_not_a_panic() {
    let mut p = producer("/nonexistent/rpicam-vid -o -");
    let err = p.read().unwrap_err();
    assert!(err.reason.contains("exit status: 127"), "{err:?}");
}

#[test]
fn chatty_stderr_does_not_hold_up_the_video() {
    let mut p =
        producer("i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); done; printf done");
    assert_eq!(read_bytes(&mut p, 4).unwrap(), b"done");
}

/// Live (not zombie) processes in process group `pgid`, from /proc.
fn alive_in_group(pgid: i32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2
                && !matches!(fields[0], "Z" | "X")
                && fields[2].parse::<i32>() == Ok(pgid)
        })
        .count()
}

#[test]
fn dropping_the_source_kills_the_whole_process_group() {
    // The shell prints its pid (the group's id), leaves a child behind, and waits.
    let mut p = producer("echo $$; sleep 30 & sleep 30");
    let out = read_bytes(&mut p, 2).unwrap();
    let pgid: i32 = String::from_utf8_lossy(&out).trim().parse().unwrap();
    // The pid is printed before the sleeps are forked: wait for them.
    let started = (0..100).any(|_| {
        std::thread::sleep(10 * MS);
        alive_in_group(pgid) >= 3
    });
    assert!(started, "the shell and its two sleeps run");
    drop(p);
    // Killed processes may stay zombies until init reaps them: only live ones count.
    let gone = (0..100).any(|_| {
        std::thread::sleep(10 * MS);
        alive_in_group(pgid) == 0
    });
    assert!(
        gone,
        "the group {pgid} is gone ({} left)",
        alive_in_group(pgid)
    );
}

#[test]
fn a_command_that_closes_its_output_but_lingers_is_stopped() {
    let mut p = producer("printf x; exec 1>&-; sleep 30");
    assert_eq!(read_bytes(&mut p, 1).unwrap(), b"x");
    let started = Instant::now();
    let err = p.read().unwrap_err();
    assert!(err.reason.contains("kept running"), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
