//! Fingerprint tests.
