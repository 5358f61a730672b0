//! Reading the JSON of the form field `donneesPrivees`: `{"objetsTouristiques": [...]}`
//! with descriptors to set (`PUT`) or technical names to remove (`DELETE`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Why the JSON is not in the expected format; the texts are the server's (French).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidJson {
    #[error("le contenu du champ 'donneesPrivees' n'est pas du JSON valide")]
    NotJson,
    #[error("l'attribut '{0}' est manquant ou invalide")]
    Missing(&'static str),
    #[error("l'objet touristique n°{position} n'a pas d'identifiant entier valide")]
    InvalidId { position: usize },
    #[error("l'objet touristique {id} ne précise aucun descriptif privé à supprimer")]
    NothingToRemove { id: u64 },
    #[error("le descriptif privé '{name}' de l'objet touristique {id} est invalide : {reason}")]
    InvalidDescriptor {
        id: u64,
        name: String,
        reason: &'static str,
    },
}

/// Text per language key (`libelleFr` …).
pub(crate) type Texts = BTreeMap<String, String>;

/// One object of a `PUT`: technical name → texts, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PutObject {
    pub(crate) id: u64,
    pub(crate) descriptors: Vec<(String, Texts)>,
}

/// One object of a `DELETE`: the technical names to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteObject {
    pub(crate) id: u64,
    pub(crate) names: Vec<String>,
}

/// The objects of a `PUT` payload.
pub(crate) fn parse_put(json: &[u8]) -> Result<Vec<PutObject>, InvalidJson> {
    objects(json)?
        .iter()
        .enumerate()
        .map(|(position, object)| {
            let (id, object) = identified(position, object)?;
            let descriptors = list(object, "donneesPrivees")?
                .iter()
                .map(|descriptor| descriptor_to_set(id, descriptor))
                .collect::<Result<_, _>>()?;
            Ok(PutObject { id, descriptors })
        })
        .collect()
}

/// The objects of a `DELETE` payload, in either documented form (merged when both are
/// present).
pub(crate) fn parse_delete(json: &[u8]) -> Result<Vec<DeleteObject>, InvalidJson> {
    objects(json)?
        .iter()
        .enumerate()
        .map(|(position, object)| {
            let (id, object) = identified(position, object)?;
            let by_name = object.get("donneesPriveesASupprimer");
            let by_descriptor = object.get("donneesPrivees");
            if by_name.is_none() && by_descriptor.is_none() {
                return Err(InvalidJson::NothingToRemove { id });
            }
            let mut names = Vec::new();
            if by_name.is_some() {
                for name in list(object, "donneesPriveesASupprimer")? {
                    names.push(technical_name(id, name)?);
                }
            }
            if by_descriptor.is_some() {
                for descriptor in list(object, "donneesPrivees")? {
                    let name = descriptor
                        .get("nomTechnique")
                        .ok_or(InvalidJson::Missing("nomTechnique"))?;
                    names.push(technical_name(id, name)?);
                }
            }
            Ok(DeleteObject { id, names })
        })
        .collect()
}

fn objects(json: &[u8]) -> Result<Vec<Value>, InvalidJson> {
    let Value::Object(mut root) = serde_json::from_slice(json).map_err(|_| InvalidJson::NotJson)?
    else {
        return Err(InvalidJson::Missing("objetsTouristiques"));
    };
    match root.remove("objetsTouristiques") {
        Some(Value::Array(objects)) => Ok(objects),
        _ => Err(InvalidJson::Missing("objetsTouristiques")),
    }
}

fn identified(position: usize, object: &Value) -> Result<(u64, &Map<String, Value>), InvalidJson> {
    let invalid = InvalidJson::InvalidId {
        position: position + 1,
    };
    let object = object.as_object().ok_or(invalid.clone())?;
    let id = object.get("id").and_then(Value::as_u64).ok_or(invalid)?;
    Ok((id, object))
}

fn list<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a Vec<Value>, InvalidJson> {
    object
        .get(name)
        .and_then(Value::as_array)
        .ok_or(InvalidJson::Missing(name))
}

fn technical_name(id: u64, name: &Value) -> Result<String, InvalidJson> {
    match name.as_str() {
        Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
        _ => Err(InvalidJson::InvalidDescriptor {
            id,
            name: name.to_string(),
            reason: "le nom technique doit être une chaîne non vide",
        }),
    }
}

fn descriptor_to_set(id: u64, descriptor: &Value) -> Result<(String, Texts), InvalidJson> {
    let descriptor = descriptor
        .as_object()
        .ok_or(InvalidJson::Missing("nomTechnique"))?;
    let name = technical_name(
        id,
        descriptor
            .get("nomTechnique")
            .ok_or(InvalidJson::Missing("nomTechnique"))?,
    )?;
    let invalid = |reason| InvalidJson::InvalidDescriptor {
        id,
        name: name.clone(),
        reason,
    };
    let descriptif = descriptor
        .get("descriptif")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("l'attribut 'descriptif' est obligatoire en ajout"))?;
    let mut texts = Texts::new();
    for (key, text) in descriptif {
        if !is_language_key(key) {
            return Err(invalid(
                "les clés du descriptif sont de la forme 'libelleXx'",
            ));
        }
        let text = text
            .as_str()
            .ok_or_else(|| invalid("les libellés sont des chaînes"))?;
        texts.insert(key.clone(), text.to_owned());
    }
    Ok((name, texts))
}

/// `libelle` followed by an upper-case letter and more ASCII letters: `libelleFr`.
fn is_language_key(key: &str) -> bool {
    key.strip_prefix("libelle").is_some_and(|language| {
        let mut letters = language.chars();
        letters.next().is_some_and(|c| c.is_ascii_uppercase())
            && letters.all(|c| c.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn the_documented_put_is_read() {
        let objects = parse_put(&bytes(json!({"objetsTouristiques": [
            {"id": 111111, "donneesPrivees": [
                {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Descriptif_1", "libelleEn": "Content_1"}}
            ]}
        ]})))
        .unwrap();
        assert_eq!(
            objects,
            vec![PutObject {
                id: 111111,
                descriptors: vec![(
                    "1_ChampPrive".into(),
                    [
                        ("libelleEn".to_owned(), "Content_1".to_owned()),
                        ("libelleFr".to_owned(), "Descriptif_1".to_owned())
                    ]
                    .into()
                )]
            }]
        );
    }

    #[test]
    fn both_delete_forms_are_read_and_merged() {
        let objects = parse_delete(&bytes(json!({"objetsTouristiques": [
            {"id": 1, "donneesPriveesASupprimer": ["a", "b"]},
            {"id": 2, "donneesPrivees": [{"nomTechnique": "c"}, {"nomTechnique": "d", "descriptif": {"libelleFr": "x"}}]},
            {"id": 3, "donneesPriveesASupprimer": ["e"], "donneesPrivees": [{"nomTechnique": "f"}]}
        ]})))
        .unwrap();
        let names: Vec<(u64, Vec<String>)> = objects.into_iter().map(|o| (o.id, o.names)).collect();
        assert_eq!(
            names,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["c".into(), "d".into()]),
                (3, vec!["e".into(), "f".into()]),
            ]
        );
    }

    #[test]
    fn payloads_not_in_the_expected_format_are_refused() {
        let put_cases = [
            json!([]),
            json!({}),
            json!({"objetsTouristiques": {}}),
            json!({"objetsTouristiques": [{"donneesPrivees": []}]}),
            json!({"objetsTouristiques": [{"id": "1", "donneesPrivees": []}]}),
            json!({"objetsTouristiques": [{"id": -1, "donneesPrivees": []}]}),
            json!({"objetsTouristiques": [{"id": 1}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"descriptif": {}}]}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"nomTechnique": "a"}]}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"nomTechnique": "", "descriptif": {}}]}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"nomTechnique": "a", "descriptif": {"fr": "x"}}]}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"nomTechnique": "a", "descriptif": {"libelleFr": 3}}]}]}),
        ];
        for case in put_cases {
            assert!(parse_put(&bytes(case.clone())).is_err(), "{case}");
        }
        assert_eq!(
            parse_put(b"{\"objetsTouristiques\":[{"),
            Err(InvalidJson::NotJson)
        );
        let delete_cases = [
            json!({"objetsTouristiques": [{"id": 1}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPriveesASupprimer": [3]}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPriveesASupprimer": "a"}]}),
            json!({"objetsTouristiques": [{"id": 1, "donneesPrivees": [{"descriptif": {}}]}]}),
        ];
        for case in delete_cases {
            assert!(parse_delete(&bytes(case.clone())).is_err(), "{case}");
        }
    }

    #[test]
    fn language_keys_look_like_libelle_fr() {
        for key in ["libelleFr", "libelleEn", "libelleDe", "libelleZhHans"] {
            assert!(is_language_key(key), "{key}");
        }
        for key in ["libelle", "libellefr", "fr", "libelleF1", "LibelleFr"] {
            assert!(!is_language_key(key), "{key}");
        }
    }
}
