// After: `defer!(v => ..)` moves `v` into a value guard and rebinds `v` to
// it, so the body keeps using the value and the cleanup sees its final
// state. Before: tests/ui/defer-borrows-a-value-the-body-mutates.rs and
// tests/ui/defer-borrows-a-field-the-method-mutates.rs.
#![deny(warnings)]

use exitstack::defer;

fn len(v: &[i32]) -> usize {
    v.len()
}

fn push(v: &mut Vec<i32>, x: i32) {
    v.push(x);
}

fn plain() {
    let v = Vec::new();
    defer!(v => println!("{v:?}"));
    v.push(1);
    push(&mut v, 2);
    assert_eq!(len(&v), 2);
    for x in &*v {
        println!("{x}");
    }
}

fn conditions() {
    let a = String::new();
    let s = String::new();
    let p = String::new();
    defer!(always: a => println!("{a}"));
    defer!(on_success: s => println!("{s}"));
    defer!(on_panic: p => println!("{p}"));
    a.push('a');
    s.push('s');
    p.push('p');
}

struct Account {
    name: String,
}

impl Account {
    fn rename(&mut self) {
        let mut name = exitstack::guard(&mut self.name, |name| println!("{name}"));
        name.push('!');
    }

    #[exitstack::scope]
    fn rename_or_undo(&mut self) -> Result<(), String> {
        let name = &mut self.name;
        defer!(on_error: name => println!("undo {name}"));
        defer!(on_failure: name => println!("failed with {}", **name));
        name.push('!');
        Ok(())
    }
}

#[exitstack::scope]
fn with_pop_all(fail: bool) -> Result<(), String> {
    let created = vec!["volume"];
    defer!(created => println!("delete {created:?}"));
    created.push("snapshot");
    if fail {
        return Err("failed".to_owned());
    }
    pop_all!();
    Ok(())
}

fn main() {
    plain();
    conditions();
    let mut account = Account { name: String::new() };
    account.rename();
    account.rename_or_undo().unwrap();
    with_pop_all(false).unwrap();
}
