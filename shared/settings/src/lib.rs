//! Typed settings for every service: a TOML file plus ESTAFETTE__ environment overrides, named upstream connections, secrets that never print.
