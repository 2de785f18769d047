//! All-or-nothing acquisition of several files with `pop_all`: if one
//! acquisition fails, the ones already made are undone; if all succeed, their
//! cleanups are handed to the caller, which runs them later with `close()`.
//!
//! It ports the idiom of Python's `ExitStack` documentation:
//!
//! ```python
//! with ExitStack() as stack:
//!     files = [stack.enter_context(open(fname)) for fname in filenames]
//!     # Hold onto the close method, but don't call it yet.
//!     close_files = stack.pop_all().close
//! ```
//!
//! with the cleanup declared next to each acquisition, as in the flag-variable
//! section (`stack.callback(cleanup_resources)` ... `stack.pop_all()`).
//!
//! `create_all` creates output files in a directory, each under a lock file
//! `NAME.lock`, both created exclusively (a second writer fails, nothing is
//! overwritten). Per file it registers two cleanups: release the lock
//! (fallible: its error is collected), and remove the half-made file if the
//! acquisition as a whole failed (it receives the `Outcome`). The first
//! attempt fails on a name that is taken by a directory; the example checks
//! that everything it had made is gone from disk. The second attempt
//! succeeds: the removals are cancelled with their keys (they belong to the
//! acquisition, not to the caller: a failed lock release later must not
//! remove a file that was written, and by policy 8 the entries after a
//! failed cleanup see `Outcome::Error`), and the lock releases are handed
//! over. The caller writes the files and closes the handed-over stack,
//! after a lock file vanished behind its back, and reports the
//! `CleanupError`.
//!
//! Run it with `cargo run -p exitstack --example open_files`. It works in a
//! fresh directory under the system temporary directory and removes it at
//! the end.

use std::error::Error;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use exitstack::{EntryKey, ExitStack};

/// Files created together, each held under its lock file.
struct Outputs {
    /// The files, open for writing, in the order they were named.
    files: Vec<(String, File)>,
    /// Releases the locks. Close it when done writing (dropping it works too,
    /// but only `close()` reports locks that could not be released).
    release: ExitStack<'static>,
}

/// Creates every file of `names` in `dir`, all or nothing.
///
/// # Errors
///
/// The first failed acquisition, with the name it failed on. Everything made
/// before it has then been undone: files removed, locks released.
fn create_all(dir: &Path, names: &[&str]) -> io::Result<Outputs> {
    // `scope` sees the `Err` of `create_each` and hands `Outcome::Error` to
    // the cleanups (a stack that is just dropped would report `Success`).
    // On success, `pop_all` moves the cleanups out to the caller, and the
    // scope has nothing left to run. The scope's error is the body's
    // `io::Error`, with any lock that failed to release beside it: `?`
    // keeps its kind (see `exitstack::ScopeError`).
    let outputs = ExitStack::scope(|stack| {
        let mut removals = Vec::new();
        let files = create_each(stack, dir, names, &mut removals).inspect_err(|error| {
            println!("  failed: {error}; undoing what was done:");
        })?;
        // Success: the files stay. Only the lock releases go to the caller.
        for key in &removals {
            stack
                .cancel(key)
                .expect("a removal is pending until cancelled");
        }
        Ok(Outputs {
            files,
            release: stack.pop_all(),
        })
    })?;
    Ok(outputs)
}

/// The acquisitions, each followed at once by the registration of its undo;
/// the keys of the removals go to `removals`.
fn create_each(
    stack: &ExitStack<'static>,
    dir: &Path,
    names: &[&str],
    removals: &mut Vec<EntryKey>,
) -> io::Result<Vec<(String, File)>> {
    let mut files = Vec::with_capacity(names.len());
    for &name in names {
        let lock_name = format!("{name}.lock");
        let lock = dir.join(&lock_name);
        File::create_new(&lock).map_err(|e| named(&lock_name, &e))?;
        println!("  {name}: locked");
        stack.try_callback(move || {
            println!("    release {lock_name}");
            fs::remove_file(&lock).map_err(|e| named(&lock_name, &e))
        });

        let path = dir.join(name);
        let file = File::create_new(&path).map_err(|e| named(name, &e))?;
        println!("  {name}: created");
        let file_name = name.to_owned();
        let removal = stack.push(move |outcome| {
            if outcome.is_failure() {
                println!("    remove {file_name} (outcome: {outcome})");
                if let Err(e) = fs::remove_file(&path) {
                    println!("    (could not remove {file_name}: {e})");
                }
            }
        });
        removals.push(removal);

        files.push((name.to_owned(), file));
    }
    Ok(files)
}

/// `error`, prefixed with the file it is about.
fn named(name: &str, error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{name}: {error}"))
}

/// The entries of `dir`, sorted, directories marked with a `/`.
fn listing(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// A fresh, empty directory under the system temporary directory.
fn unique_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let unique = format!(
        "exitstack-open-files-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(unique);
    fs::create_dir(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = unique_temp_dir()?;
    // The example's own cleanup: remove the directory at the end, also if an
    // assertion below panics.
    let mut at_exit = ExitStack::new();
    let removed = dir.clone();
    at_exit.try_callback(move || fs::remove_dir_all(&removed));
    println!("working in {}", dir.display());

    let names = ["report.txt", "totals.csv", "chart.svg", "notes.md"];

    println!("\n== attempt 1: a stray directory is named chart.svg ==");
    fs::create_dir(dir.join("chart.svg"))?;
    println!("  on disk before: {:?}", listing(&dir)?);
    let error = create_all(&dir, &names)
        .err()
        .expect("chart.svg is a directory, so creating it must fail");
    println!("  create_all returned: Err({error})");
    let on_disk = listing(&dir)?;
    println!("  on disk after:  {on_disk:?}");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        on_disk,
        ["chart.svg/"],
        "the files and locks made before the failure must be gone"
    );

    println!("\n== attempt 2: the directory is removed, the same call succeeds ==");
    fs::remove_dir(dir.join("chart.svg"))?;
    let Outputs { files, mut release } = create_all(&dir, &names)?;
    println!(
        "  create_all returned {} open files and a stack of {} cleanups (the lock releases)",
        files.len(),
        release.len()
    );
    for (name, mut file) in files {
        writeln!(file, "contents of {name}")?;
        println!("  wrote {name}");
    } // each `File` is closed here, at the end of its iteration
    println!("  on disk: {:?}", listing(&dir)?);

    println!("  meanwhile, a cleanup script deletes totals.csv.lock");
    fs::remove_file(dir.join("totals.csv.lock"))?;

    println!("  done writing: closing the handed-over stack");
    let errors = release
        .close()
        .expect_err("releasing the deleted lock must fail");
    println!("  close() returned a CleanupError: {errors}");
    for error in &errors {
        println!("    - {error}");
    }
    assert_eq!(errors.len(), 1);
    let io_error = errors.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(io_error.kind(), io::ErrorKind::NotFound);
    let on_disk = listing(&dir)?;
    println!("  on disk after:  {on_disk:?}");
    assert_eq!(
        on_disk,
        ["chart.svg", "notes.md", "report.txt", "totals.csv"],
        "the files must stay and every other lock must be released"
    );
    assert_eq!(
        fs::read_to_string(dir.join("notes.md"))?,
        "contents of notes.md\n"
    );

    at_exit.close()?;
    assert!(!dir.exists());
    println!("\nremoved the working directory");
    Ok(())
}
