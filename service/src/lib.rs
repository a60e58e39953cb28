//! ringo services.
