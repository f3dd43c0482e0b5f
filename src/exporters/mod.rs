//! Exporters: reports read from the store.
