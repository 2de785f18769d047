// A `?` in a standalone cleanup: there is no `Err` for its error to go into.
use std::fs::File;

use exitstack::cleanup;

fn main() {
    let file = File::open("Cargo.toml").unwrap();
    #[cleanup]
    fn sync() {
        file.sync_all()?;
    }
}
