//! Write batches: at most [`MAX_OBJECTS`] distinct tourism objects, checked when the
//! batch is built, and the JSON payload each one is sent as.

use serde::Serialize;
use settings::Api;
use std::collections::{BTreeMap, BTreeSet};

/// The most tourism objects one call may name; the API refuses the whole call above.
/// The fact lives in the settings' catalogue of APIs, which also caps an Apidae
/// connection's `page_size` with it.
pub const MAX_OBJECTS: usize = Api::Apidae.max_page_size() as usize;

/// One private descriptor to set on an object: its technical name and its text per
/// language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The descriptor's `nomTechnique`, as the member's administrator named it.
    pub technical_name: String,
    /// Text per language code, lower-case ASCII letters (`"fr"`, `"en"`, `"de"` …); sent
    /// as `libelleFr`, `libelleEn`, `libelleDe` ….
    pub texts: BTreeMap<String, String>,
}

/// The descriptors to set on one tourism object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDescriptors {
    /// The tourism object's id.
    pub id: u64,
    /// What to set; each technical name once.
    pub descriptors: Vec<Descriptor>,
}

/// The descriptors to remove from one tourism object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRemovals {
    /// The tourism object's id.
    pub id: u64,
    /// The technical names to remove; each once.
    pub technical_names: Vec<String>,
}

/// Why a batch cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A batch names at least one object.
    #[error("a batch names at least one object")]
    Empty,
    /// More objects than [`MAX_OBJECTS`].
    #[error("a batch names at most {MAX_OBJECTS} objects, not {count}")]
    TooManyObjects {
        /// How many objects were given.
        count: usize,
    },
    /// The same object twice.
    #[error("object {id} appears more than once")]
    DuplicateObject {
        /// The repeated object id.
        id: u64,
    },
    /// An object with nothing to set or remove.
    #[error("object {id} names no descriptor")]
    NoDescriptor {
        /// The object id.
        id: u64,
    },
    /// An empty or blank technical name.
    #[error("object {id} has a blank technical name")]
    BlankTechnicalName {
        /// The object id.
        id: u64,
    },
    /// The same technical name twice on one object.
    #[error("object {id} names descriptor {technical_name:?} more than once")]
    DuplicateDescriptor {
        /// The object id.
        id: u64,
        /// The repeated technical name.
        technical_name: String,
    },
    /// A descriptor to set without any text.
    #[error("descriptor {technical_name:?} of object {id} has no text")]
    NoText {
        /// The object id.
        id: u64,
        /// The descriptor's technical name.
        technical_name: String,
    },
    /// A language code that is not lower-case ASCII letters.
    #[error(
        "descriptor {technical_name:?} of object {id} has an invalid language code {language:?}"
    )]
    InvalidLanguage {
        /// The object id.
        id: u64,
        /// The descriptor's technical name.
        technical_name: String,
        /// The code as given.
        language: String,
    },
}

/// Descriptors to add or replace (`PUT`) on 1 to [`MAX_OBJECTS`] distinct objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutBatch(Vec<ObjectDescriptors>);

impl PutBatch {
    /// Checks the bounds, that object ids are distinct, and that each object sets at
    /// least one descriptor, each technical name once, non-blank, with at least one
    /// text under a lower-case ASCII language code.
    pub fn new(objects: Vec<ObjectDescriptors>) -> Result<Self, BatchError> {
        check_ids(objects.iter().map(|object| object.id))?;
        for object in &objects {
            check_names(
                object.id,
                object.descriptors.iter().map(|d| &d.technical_name),
            )?;
            for descriptor in &object.descriptors {
                check_texts(object.id, descriptor)?;
            }
        }
        Ok(Self(objects))
    }

    /// The objects, in the order given.
    pub fn objects(&self) -> &[ObjectDescriptors] {
        &self.0
    }

    /// The object ids, in the order given.
    pub fn ids(&self) -> Vec<u64> {
        self.0.iter().map(|object| object.id).collect()
    }

    /// The JSON value of the form field `donneesPrivees`.
    pub(crate) fn payload(&self) -> Payload<PutObject<'_>> {
        Payload {
            objets_touristiques: self
                .0
                .iter()
                .map(|object| PutObject {
                    id: object.id,
                    donnees_privees: object
                        .descriptors
                        .iter()
                        .map(|descriptor| PutDescriptor {
                            nom_technique: &descriptor.technical_name,
                            descriptif: descriptor
                                .texts
                                .iter()
                                .map(|(language, text)| (language_key(language), text.as_str()))
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Descriptors to remove (`DELETE`) from 1 to [`MAX_OBJECTS`] distinct objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteBatch(Vec<ObjectRemovals>);

impl DeleteBatch {
    /// Checks the bounds, that object ids are distinct, and that each object removes at
    /// least one descriptor, each technical name once and non-blank.
    pub fn new(objects: Vec<ObjectRemovals>) -> Result<Self, BatchError> {
        check_ids(objects.iter().map(|object| object.id))?;
        for object in &objects {
            check_names(object.id, object.technical_names.iter())?;
        }
        Ok(Self(objects))
    }

    /// The objects, in the order given.
    pub fn objects(&self) -> &[ObjectRemovals] {
        &self.0
    }

    /// The object ids, in the order given.
    pub fn ids(&self) -> Vec<u64> {
        self.0.iter().map(|object| object.id).collect()
    }

    /// The JSON value of the form field `donneesPrivees`.
    pub(crate) fn payload(&self) -> Payload<DeleteObject<'_>> {
        Payload {
            objets_touristiques: self
                .0
                .iter()
                .map(|object| DeleteObject {
                    id: object.id,
                    donnees_privees_a_supprimer: object
                        .technical_names
                        .iter()
                        .map(String::as_str)
                        .collect(),
                })
                .collect(),
        }
    }
}

/// `{"objetsTouristiques": [...]}`.
#[derive(Serialize)]
pub(crate) struct Payload<O> {
    #[serde(rename = "objetsTouristiques")]
    objets_touristiques: Vec<O>,
}

#[derive(Serialize)]
pub(crate) struct PutObject<'a> {
    id: u64,
    #[serde(rename = "donneesPrivees")]
    donnees_privees: Vec<PutDescriptor<'a>>,
}

#[derive(Serialize)]
struct PutDescriptor<'a> {
    #[serde(rename = "nomTechnique")]
    nom_technique: &'a str,
    descriptif: BTreeMap<String, &'a str>,
}

#[derive(Serialize)]
pub(crate) struct DeleteObject<'a> {
    id: u64,
    #[serde(rename = "donneesPriveesASupprimer")]
    donnees_privees_a_supprimer: Vec<&'a str>,
}

/// `fr` → `libelleFr`: `libelle` and the code with its first letter upper-cased.
fn language_key(language: &str) -> String {
    let mut chars = language.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    format!(
        "libelle{}{}",
        first.map(String::from).unwrap_or_default(),
        chars.as_str()
    )
}

fn check_ids(ids: impl ExactSizeIterator<Item = u64>) -> Result<(), BatchError> {
    match ids.len() {
        0 => return Err(BatchError::Empty),
        count if count > MAX_OBJECTS => return Err(BatchError::TooManyObjects { count }),
        _ => {}
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(BatchError::DuplicateObject { id });
        }
    }
    Ok(())
}

fn check_names<'a>(id: u64, names: impl Iterator<Item = &'a String>) -> Result<(), BatchError> {
    let mut seen = BTreeSet::new();
    for name in names {
        if name.trim().is_empty() {
            return Err(BatchError::BlankTechnicalName { id });
        }
        if !seen.insert(name) {
            return Err(BatchError::DuplicateDescriptor {
                id,
                technical_name: name.clone(),
            });
        }
    }
    if seen.is_empty() {
        return Err(BatchError::NoDescriptor { id });
    }
    Ok(())
}

fn check_texts(id: u64, descriptor: &Descriptor) -> Result<(), BatchError> {
    if descriptor.texts.is_empty() {
        return Err(BatchError::NoText {
            id,
            technical_name: descriptor.technical_name.clone(),
        });
    }
    let invalid = descriptor.texts.keys().find(|language| {
        language.is_empty() || !language.bytes().all(|byte| byte.is_ascii_lowercase())
    });
    match invalid {
        Some(language) => Err(BatchError::InvalidLanguage {
            id,
            technical_name: descriptor.technical_name.clone(),
            language: language.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn descriptor(name: &str, texts: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            technical_name: name.into(),
            texts: texts
                .iter()
                .map(|(language, text)| (language.to_string(), text.to_string()))
                .collect(),
        }
    }

    fn object(id: u64) -> ObjectDescriptors {
        ObjectDescriptors {
            id,
            descriptors: vec![descriptor("1_ChampPrive", &[("fr", "Descriptif")])],
        }
    }

    fn removal(id: u64) -> ObjectRemovals {
        ObjectRemovals {
            id,
            technical_names: vec!["1_ChampPrive".into()],
        }
    }

    #[test]
    fn the_put_payload_is_the_documented_json() {
        let batch = PutBatch::new(vec![
            ObjectDescriptors {
                id: 111111,
                descriptors: vec![
                    descriptor(
                        "1_ChampPrive",
                        &[("fr", "Descriptif_1"), ("en", "Content_1")],
                    ),
                    descriptor(
                        "2_ChampPrive",
                        &[("fr", "Descriptif_2"), ("en", "Content_2")],
                    ),
                ],
            },
            ObjectDescriptors {
                id: 222222,
                descriptors: vec![descriptor(
                    "1_ChampPrive",
                    &[("fr", "Descriptif_3"), ("en", "Content_3")],
                )],
            },
        ])
        .expect("a valid batch");
        let expected = json!({"objetsTouristiques": [
            {"id": 111111, "donneesPrivees": [
                {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Descriptif_1", "libelleEn": "Content_1"}},
                {"nomTechnique": "2_ChampPrive", "descriptif": {"libelleFr": "Descriptif_2", "libelleEn": "Content_2"}}
            ]},
            {"id": 222222, "donneesPrivees": [
                {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Descriptif_3", "libelleEn": "Content_3"}}
            ]}
        ]});
        assert_eq!(
            serde_json::to_value(batch.payload()).expect("serialises"),
            expected
        );
        assert_eq!(batch.ids(), vec![111111, 222222]);
    }

    #[test]
    fn the_delete_payload_lists_technical_names_to_remove() {
        let batch = DeleteBatch::new(vec![ObjectRemovals {
            id: 111111,
            technical_names: vec!["1_ChampPrive".into(), "2_ChampPrive".into()],
        }])
        .expect("a valid batch");
        assert_eq!(
            serde_json::to_value(batch.payload()).expect("serialises"),
            json!({"objetsTouristiques": [
                {"id": 111111, "donneesPriveesASupprimer": ["1_ChampPrive", "2_ChampPrive"]}
            ]})
        );
    }

    #[test]
    fn language_keys_upper_case_the_first_letter() {
        for (language, key) in [
            ("fr", "libelleFr"),
            ("en", "libelleEn"),
            ("de", "libelleDe"),
            ("it", "libelleIt"),
            ("nl", "libelleNl"),
            ("es", "libelleEs"),
        ] {
            assert_eq!(language_key(language), key);
        }
    }

    #[test]
    fn batches_hold_one_to_fifty_distinct_objects() {
        assert_eq!(PutBatch::new(vec![]), Err(BatchError::Empty));
        assert_eq!(DeleteBatch::new(vec![]), Err(BatchError::Empty));
        let fifty: Vec<_> = (1..=50).map(object).collect();
        assert_eq!(PutBatch::new(fifty).map(|b| b.ids().len()), Ok(50));
        let fifty_one: Vec<_> = (1..=51).map(object).collect();
        assert_eq!(
            PutBatch::new(fifty_one),
            Err(BatchError::TooManyObjects { count: 51 })
        );
        let fifty_one: Vec<_> = (1..=51).map(removal).collect();
        assert_eq!(
            DeleteBatch::new(fifty_one),
            Err(BatchError::TooManyObjects { count: 51 })
        );
        assert_eq!(
            PutBatch::new(vec![object(7), object(8), object(7)]),
            Err(BatchError::DuplicateObject { id: 7 })
        );
        assert_eq!(
            DeleteBatch::new(vec![removal(9), removal(9)]),
            Err(BatchError::DuplicateObject { id: 9 })
        );
    }

    #[test]
    fn descriptors_are_checked() {
        let put = |descriptors| PutBatch::new(vec![ObjectDescriptors { id: 1, descriptors }]);
        assert_eq!(put(vec![]), Err(BatchError::NoDescriptor { id: 1 }));
        assert_eq!(
            put(vec![descriptor(" ", &[("fr", "x")])]),
            Err(BatchError::BlankTechnicalName { id: 1 })
        );
        assert_eq!(
            put(vec![
                descriptor("a", &[("fr", "x")]),
                descriptor("a", &[("en", "y")])
            ]),
            Err(BatchError::DuplicateDescriptor {
                id: 1,
                technical_name: "a".into()
            })
        );
        assert_eq!(
            put(vec![descriptor("a", &[])]),
            Err(BatchError::NoText {
                id: 1,
                technical_name: "a".into()
            })
        );
        for language in ["FR", "", "f-r", "é"] {
            assert_eq!(
                put(vec![descriptor("a", &[(language, "x")])]),
                Err(BatchError::InvalidLanguage {
                    id: 1,
                    technical_name: "a".into(),
                    language: language.into()
                })
            );
        }
        let delete = |technical_names| {
            DeleteBatch::new(vec![ObjectRemovals {
                id: 2,
                technical_names,
            }])
        };
        assert_eq!(delete(vec![]), Err(BatchError::NoDescriptor { id: 2 }));
        assert_eq!(
            delete(vec!["a".into(), "a".into()]),
            Err(BatchError::DuplicateDescriptor {
                id: 2,
                technical_name: "a".into()
            })
        );
    }
}
