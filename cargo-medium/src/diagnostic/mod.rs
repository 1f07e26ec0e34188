//! Diagnostics: the one error type every stage reports, rendered like rustc.
