//! Ingest: wires sources → normalize → accounting → store.
