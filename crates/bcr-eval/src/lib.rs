//! bcr-eval (being written).
