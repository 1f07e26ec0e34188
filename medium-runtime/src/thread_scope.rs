//! [`Restore`]: scoping a thread-local to one synchronous encode or decode.
//!
//! Serde gives a `Serialize`/`Deserialize` impl no context, so the runtime lends what a value
//! needs beside its bytes (a received frame's memory, its descriptors) through thread-locals set
//! for the span of one encode or decode (`binary`, `fd`).

use std::cell::RefCell;
use std::thread::LocalKey;

/// Puts a thread-local back as it was when dropped, even if the encode or decode panics: what
/// the scope put there is dropped then.
pub(crate) struct Restore<T: 'static>(
    pub(crate) &'static LocalKey<RefCell<Option<T>>>,
    pub(crate) Option<T>,
);

impl<T: 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        let outer = self.1.take();
        self.0.set(outer);
    }
}
