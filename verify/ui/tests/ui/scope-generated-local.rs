// The scope's local is hygienic: user code cannot name (or shadow) it.
#[exitstack::scope]
fn save() -> Result<(), String> {
    __exitstack_scope.mark_error();
    Ok(())
}

fn main() {
    let _ = save();
}
