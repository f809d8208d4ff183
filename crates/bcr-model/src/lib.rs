//! bcr-model (being written).
