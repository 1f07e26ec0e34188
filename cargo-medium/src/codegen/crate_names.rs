//! [`CrateNames`]: the cargo package names of the three crates made from one spec.

use heck::ToKebabCase;

/// Cargo package names of a spec's protocol, daemon and app crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateNames {
    /// e.g. `student-system-protocol`.
    pub protocol: String,
    /// e.g. `student-system-daemon`.
    pub daemon: String,
    /// e.g. `student-system-app`.
    pub app: String,
}

impl CrateNames {
    /// Names derived from the spec's class: kebab case plus `-protocol`, `-daemon`, `-app`.
    pub fn from_class(class: &str) -> CrateNames {
        let base = class.to_kebab_case();
        CrateNames {
            protocol: format!("{base}-protocol"),
            daemon: format!("{base}-daemon"),
            app: format!("{base}-app"),
        }
    }

    /// The protocol crate's name as Rust code spells it (`student_system_protocol`).
    pub(crate) fn protocol_ident(&self) -> String {
        self.protocol.replace('-', "_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_are_kebab_case_of_the_class_with_a_suffix() {
        let names = CrateNames::from_class("StudentSystem");
        assert_eq!(names.protocol, "student-system-protocol");
        assert_eq!(names.daemon, "student-system-daemon");
        assert_eq!(names.app, "student-system-app");
        assert_eq!(names.protocol_ident(), "student_system_protocol");
    }
}
