//! The JSON Schemas in `docs/schemas/` are the ones the types generate: this test fails
//! when they disagree, and rewrites them when `ESTAFETTE_WRITE_SCHEMAS` is set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use contract::schema::schema_files;

fn schemas_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
}

/// Every `.json` file below `folder`, as a path relative to it.
fn files_below(folder: &Path, relative: &Path, found: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(folder.join(relative)) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("a readable folder entry");
        let path = relative.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            files_below(folder, &path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            found.insert(path.to_string_lossy().into_owned());
        }
    }
}

#[test]
fn the_committed_schemas_are_the_ones_the_types_generate() {
    let folder = schemas_folder();
    let generated = schema_files();
    if std::env::var_os("ESTAFETTE_WRITE_SCHEMAS").is_some() {
        for file in &generated {
            let path = folder.join(&file.path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("folder created");
            let text = serde_json::to_string_pretty(&file.schema).expect("a schema serialises");
            std::fs::write(&path, text + "\n").expect("schema written");
        }
    }
    let mut committed = BTreeSet::new();
    files_below(&folder, Path::new(""), &mut committed);
    let expected: BTreeSet<String> = generated.iter().map(|file| file.path.clone()).collect();
    assert_eq!(
        committed, expected,
        "docs/schemas holds other files than the types generate; \
         ESTAFETTE_WRITE_SCHEMAS=1 cargo test -p contract --test schemas rewrites them"
    );
    for file in &generated {
        let text = std::fs::read_to_string(folder.join(&file.path)).expect("a committed schema");
        let on_disk: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            on_disk, file.schema,
            "docs/schemas/{} differs from what the types generate; \
             ESTAFETTE_WRITE_SCHEMAS=1 cargo test -p contract --test schemas rewrites it",
            file.path
        );
    }
}
