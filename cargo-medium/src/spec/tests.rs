//! Parser tests: every grammar rule, on hand-written specs and the example spec.
