//! The spec language front end: pest grammar → AST with byte spans. Knows nothing of checking
//! or code generation.
