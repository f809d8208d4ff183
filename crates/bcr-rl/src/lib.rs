//! bcr-rl (being written).
