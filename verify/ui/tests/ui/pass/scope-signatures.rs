// `#[exitstack::scope]` leaves signatures alone: generics, `impl Trait`,
// receivers, `async`, other attributes.
use std::fmt::Display;

use exitstack::defer;

struct Service {
    name: String,
}

impl Service {
    #[exitstack::scope]
    fn by_ref(&self) -> &str {
        defer!(println!("done"));
        &self.name
    }

    #[exitstack::scope]
    fn by_mut(&mut self) -> Result<(), String> {
        defer!(on_error: self.name.clear());
        Ok(())
    }

    #[exitstack::scope]
    pub(crate) fn by_value(self) -> String {
        self.name
    }

    #[exitstack::scope]
    async fn asynchronous(&self) -> Result<usize, String> {
        defer!(on_error: println!("failed"));
        Ok(self.name.len())
    }
}

#[exitstack::scope]
#[inline]
fn generic<T: Display + Default>() -> Result<T, String>
where
    T: Clone,
{
    defer!(on_error: println!("failed"));
    Ok(T::default())
}

#[exitstack::scope]
fn opaque(n: u8) -> Result<impl Display, String> {
    defer!(on_error: println!("failed"));
    if n > 1 { Ok(n) } else { Err(format!("{n} is too small")) }
}

trait Store {
    #[exitstack::scope]
    fn store(&self) -> Result<(), String> {
        defer!(on_error: println!("failed"));
        Ok(())
    }
}

impl Store for Service {}

fn main() {
    let mut service = Service { name: "db".to_owned() };
    assert_eq!(service.by_ref(), "db");
    service.by_mut().unwrap();
    service.store().unwrap();
    drop(service.asynchronous());
    assert_eq!(service.by_value(), "db");
    assert_eq!(generic::<u8>(), Ok(0));
    assert!(opaque(1).is_err());
}
