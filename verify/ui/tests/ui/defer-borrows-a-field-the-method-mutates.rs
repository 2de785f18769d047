// Before: the same for a field reached through `self`, in an
// `#[exitstack::scope]` method. After: tests/ui/pass/defer-value-forms.rs.
use exitstack::defer;

struct Account {
    name: String,
}

impl Account {
    #[exitstack::scope]
    fn rename(&mut self) -> Result<(), String> {
        defer!(on_error: println!("undo {}", self.name));
        self.name.push('!');
        Ok(())
    }
}

fn main() {
    let _ = Account { name: String::new() }.rename();
}
