//! Settings files for the crate's tests.

use std::path::PathBuf;

/// A settings file unique to the calling test (by `name`), removed when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

impl TempFile {
    pub(crate) fn new(name: &str, contents: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("settings-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
