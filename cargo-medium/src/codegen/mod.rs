//! Code generation: checked spec → files in memory. Never touches the disk.
