//! bcr-gym (being written).
