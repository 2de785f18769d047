//! The "try/finally with a flag variable" pattern, ported to Rust twice: the
//! fragile way, and with an `ExitStack`.
//!
//! Python's `contextlib` documentation starts from this pattern, where a flag
//! decides at the very end whether the cleanup runs:
//!
//! ```python
//! cleanup_needed = True
//! try:
//!     result = perform_operation()
//!     if result:
//!         cleanup_needed = False
//! finally:
//!     if cleanup_needed:
//!         cleanup_resources()
//! ```
//!
//! Rust has no `finally`, so the direct port is a `cleanup_needed` bool and a
//! manual cleanup at the bottom of the function. It works until a later change
//! adds an early `return` or a `?` between the setup and the cleanup, which
//! can be arbitrarily far apart: then the cleanup is silently skipped. Here
//! the resource is a concert seat (`reserve` / `release`) and the operation
//! is charging a card; version 2 of the fragile code adds a card check with
//! `?` and leaks a seat.
//!
//! The `ExitStack` version registers the release right after the
//! reservation, so no later `?` can skip it, and decides on success not to
//! run it here:
//!
//! ```python
//! with ExitStack() as stack:
//!     stack.callback(cleanup_resources)
//!     result = perform_operation()
//!     if result:
//!         stack.pop_all()
//! ```
//!
//! In Python the popped stack is simply forgotten. In Rust it owns the
//! cleanup, and dropping it runs the cleanup, so it is handed to the caller
//! instead: the seat stays reserved for as long as the caller holds the
//! booking. (Were the seat sold for good, `stack.cancel_all()` would drop the
//! release instead.)
//!
//! Run it with `cargo run -p exitstack --example flag_variable`.

use std::cell::RefCell;
use std::fmt;

use exitstack::ExitStack;

/// The resource: the seats a concert hall holds for its customers.
#[derive(Default)]
struct Hall {
    held: RefCell<Vec<String>>,
}

impl Hall {
    fn reserve(&self, who: &str) {
        println!("    reserve a seat for {who}");
        self.held.borrow_mut().push(who.to_owned());
    }

    fn release(&self, who: &str) {
        println!("    release {who}'s seat");
        self.held.borrow_mut().retain(|held| held != who);
    }

    fn held(&self) -> Vec<String> {
        self.held.borrow().clone()
    }
}

#[derive(Clone, Copy)]
enum Card {
    Valid,
    Declined,
    Expired,
}

impl fmt::Display for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Card::Valid => "a valid card",
            Card::Declined => "a card the bank declines",
            Card::Expired => "an expired card",
        })
    }
}

#[derive(Debug)]
enum BookingError {
    Declined,
    Expired,
}

impl fmt::Display for BookingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BookingError::Declined => "the bank declined the payment",
            BookingError::Expired => "the card has expired",
        })
    }
}

impl std::error::Error for BookingError {}

/// `perform_operation`: `true` if the payment went through.
fn charge(card: Card) -> bool {
    let paid = matches!(card, Card::Valid);
    println!(
        "    charge the card: {}",
        if paid { "paid" } else { "refused" }
    );
    paid
}

/// The check that version 2 adds.
fn check_expiry(card: Card) -> Result<(), BookingError> {
    if let Card::Expired = card {
        println!("    card check: expired");
        return Err(BookingError::Expired);
    }
    Ok(())
}

/// Version 1: the flag variable, ported as written. Correct, for now.
fn book_with_flag(hall: &Hall, who: &str, card: Card) -> Result<(), BookingError> {
    hall.reserve(who);
    let mut cleanup_needed = true;

    // ... in real code, fifty lines of seat maps, discounts and logging ...
    let paid = charge(card);
    if paid {
        cleanup_needed = false;
    }
    // ... and fifty more ...

    if cleanup_needed {
        hall.release(who);
    }
    if paid {
        Ok(())
    } else {
        Err(BookingError::Declined)
    }
}

/// Version 2: someone adds an early card check. The `?` returns before the
/// cleanup at the bottom, fifty lines away, gets its chance.
fn book_with_flag_v2(hall: &Hall, who: &str, card: Card) -> Result<(), BookingError> {
    hall.reserve(who);
    let mut cleanup_needed = true;

    check_expiry(card)?; // added in version 2
    // ... in real code, fifty lines of seat maps, discounts and logging ...
    let paid = charge(card);
    if paid {
        cleanup_needed = false;
    }
    // ... and fifty more ...

    if cleanup_needed {
        hall.release(who);
    }
    if paid {
        Ok(())
    } else {
        Err(BookingError::Declined)
    }
}

/// The same with an `ExitStack`, check included. On success the release is
/// not run here: `pop_all` hands it to the caller, who now owns the seat.
fn book<'h>(hall: &'h Hall, who: &'h str, card: Card) -> Result<ExitStack<'h>, BookingError> {
    let mut stack = ExitStack::new();
    hall.reserve(who);
    stack.callback(move || hall.release(who));

    check_expiry(card)?; // the same addition, now harmless
    if charge(card) {
        Ok(stack.pop_all())
    } else {
        Err(BookingError::Declined)
    } // on every path but the `Ok`, `stack` is dropped here and releases the seat
}

const CUSTOMERS: [(&str, Card); 3] = [
    ("alice", Card::Valid),
    ("bob", Card::Declined),
    ("carol", Card::Expired),
];

fn run_fragile(book: fn(&Hall, &str, Card) -> Result<(), BookingError>) -> Vec<String> {
    let hall = Hall::default();
    for (who, card) in CUSTOMERS {
        println!("  {who} pays with {card}");
        match book(&hall, who, card) {
            Ok(()) => println!("  -> booked"),
            Err(error) => println!("  -> not booked: {error}"),
        }
    }
    println!("  seats held afterwards: {:?}", hall.held());
    hall.held()
}

fn main() {
    println!("== 1. flag variable, as first written ==");
    let held = run_fragile(book_with_flag);
    assert_eq!(held, ["alice"]);
    println!("  correct: only alice, who paid, holds a seat\n");

    println!("== 2. flag variable, after a card check with `?` was added ==");
    let held = run_fragile(book_with_flag_v2);
    assert_eq!(held, ["alice", "carol"], "version 2 should show the leak");
    println!("  LEAK: carol's booking failed, but her seat is still held:");
    println!("  the `?` skipped the cleanup at the bottom of the function\n");

    println!("== 3. ExitStack + pop_all, with the same card check ==");
    let hall = Hall::default();
    let mut bookings = Vec::new();
    for (who, card) in CUSTOMERS {
        println!("  {who} pays with {card}");
        match book(&hall, who, card) {
            Ok(booking) => {
                println!(
                    "  -> booked; the caller now holds the release ({} pending)",
                    booking.len()
                );
                bookings.push(booking);
            }
            Err(error) => println!("  -> not booked: {error}"),
        }
    }
    println!("  seats held afterwards: {:?}", hall.held());
    assert_eq!(hall.held(), ["alice"]);
    println!("  correct: carol's seat was released despite the early `?`");

    println!("  the concert is over: dropping the bookings");
    drop(bookings);
    assert!(hall.held().is_empty());
    println!("  seats held afterwards: {:?}", hall.held());
}
