//! Which dossier a command names: the global id the mutations take, and the number
//! the queries take, when it is known.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use contract::DossierRef;
use ds_client::{DossierGlobalId, DossierNumber, DsClient};
use settle::CommandError;

/// A dossier, ready for the mutations and, when its number is known, the queries.
pub(crate) struct Dossier {
    pub(crate) id: DossierGlobalId,
    pub(crate) number: Option<DossierNumber>,
}

/// The dossier named by `reference`: a number is looked up for its global id; a
/// global id is used as given, and its number is read from it when it has the
/// documented form, base64 of `Dossier-<number>`.
pub(crate) async fn resolve(
    reference: &DossierRef,
    client: &DsClient,
) -> Result<Dossier, CommandError> {
    match reference {
        DossierRef::Number(number) => {
            let number = DossierNumber::new(number.get()).map_err(|error| {
                CommandError::permanent(
                    contract::FailureReason::InvalidBody,
                    format!("invalid body: {error}"),
                )
            })?;
            let id = client.dossier_id(number).await?;
            Ok(Dossier {
                id,
                number: Some(number),
            })
        }
        DossierRef::Id(id) => Ok(Dossier {
            id: DossierGlobalId::new(id.clone()),
            number: number_in(id),
        }),
    }
}

/// The number inside a dossier global id, read from the standard or the URL-safe
/// base64 alphabet as the API reads them; none when the id has another form.
fn number_in(id: &str) -> Option<DossierNumber> {
    let bytes = STANDARD
        .decode(id)
        .or_else(|_| URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let digits = text.strip_prefix("Dossier-")?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    DossierNumber::new(digits.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dossier_global_id_gives_its_number() {
        // base64("Dossier-9399190"), the API documentation's example.
        assert_eq!(
            number_in("RG9zc2llci05Mzk5MTkw").map(DossierNumber::get),
            Some(9_399_190)
        );
        let url_safe = URL_SAFE_NO_PAD.encode("Dossier-120003");
        assert_eq!(number_in(&url_safe).map(DossierNumber::get), Some(120_003));
    }

    #[test]
    fn ids_of_another_form_give_no_number() {
        for text in [
            "Label-12",
            "Dossier-",
            "Dossier-+12",
            "Dossier-12a",
            "Dossier-0",
        ] {
            assert_eq!(number_in(&STANDARD.encode(text)), None, "{text}");
        }
        assert_eq!(number_in("not base64 at all!"), None);
    }
}
