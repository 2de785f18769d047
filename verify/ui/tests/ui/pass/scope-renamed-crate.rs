// A renamed dependency (`es = { package = "exitstack", .. }`): `crate = es`
// tells the attribute where the crate is, and `es::defer!`, `es::cleanup`
// are recognised in the body.
extern crate exitstack as es;

use std::cell::Cell;

#[es::scope(crate = es)]
fn save(rolled_back: &Cell<u32>, ok: bool) -> Result<(), String> {
    es::defer!(on_error: rolled_back.set(rolled_back.get() + 1));
    #[es::cleanup(on_error)]
    fn undo() {
        rolled_back.set(rolled_back.get() + 1);
    }
    if ok { Ok(()) } else { Err("no".to_owned()) }
}

fn main() {
    let rolled_back = Cell::new(0);
    save(&rolled_back, true).unwrap();
    assert_eq!(rolled_back.get(), 0);
    save(&rolled_back, false).unwrap_err();
    assert_eq!(rolled_back.get(), 2);
}
