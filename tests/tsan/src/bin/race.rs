//! A deliberate data race: `make tsan` requires ThreadSanitizer to report it, so a build in
//! which TSan is silent (not linked, not instrumenting) cannot pass the stress run.

use std::thread;

struct Shared(*mut u64);
// SAFETY: not safe at all; that is the point of this program.
unsafe impl Send for Shared {}

fn main() {
    let cell = Box::into_raw(Box::new(0u64));
    let other = Shared(cell);
    let t = thread::spawn(move || {
        let p = other;
        for i in 0..10_000 {
            // SAFETY: none: an unsynchronized write racing with main's.
            unsafe { p.0.write_volatile(i) };
        }
    });
    for i in 0..10_000 {
        // SAFETY: none: an unsynchronized write racing with the thread's.
        unsafe { cell.write_volatile(i) };
    }
    t.join().expect("racer");
    // SAFETY: from Box::into_raw above; the racer is done.
    drop(unsafe { Box::from_raw(cell) });
}
