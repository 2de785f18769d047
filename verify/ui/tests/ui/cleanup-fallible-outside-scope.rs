// `#[cleanup] fn name() -> Result<..>` is a fallible cleanup in an
// `#[exitstack::scope]` fn; outside one, nothing receives its error.
use std::fs::File;

use exitstack::cleanup;

fn main() {
    let file = File::open("Cargo.toml").unwrap();
    #[cleanup]
    fn sync() -> std::io::Result<()> {
        file.sync_all()
    }
}
