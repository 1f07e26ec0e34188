//! The payloads: the spec's `Student` model and `student_added` event, as both sides of every
//! case (and the Python bench's Rust peer, `python/peer.rs`, which includes this file) build them.

use serde::{Deserialize, Serialize};

/// The model `get_student` returns and `student_added` carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Student {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub age: u8,
    #[serde(with = "serde_bytes")]
    pub photo: Vec<u8>,
}

/// The id every `get_student` call asks for.
pub const STUDENT_ID: &str = "s-000042";

/// A small thumbnail: enough that `binary` handling is on the path, small enough to stay a
/// "small message".
const PHOTO_LEN: usize = 64;

/// The student the daemon returns for `id`.
pub fn student(id: &str) -> Student {
    Student {
        id: id.to_owned(),
        first_name: "Ada".to_owned(),
        last_name: "Lovelace".to_owned(),
        age: 36,
        photo: (0..PHOTO_LEN).map(|i| i as u8).collect(),
    }
}

/// Args of the `student_added(time: f64, info: Student)` event.
pub type StudentAdded = (f64, Student);

/// The event the fan-out case fires.
pub fn student_added() -> StudentAdded {
    (1_700_000_000.25, student(STUDENT_ID))
}
