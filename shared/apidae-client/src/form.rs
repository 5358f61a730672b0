//! The `multipart/form-data` body of a write call: one field, `donneesPrivees`, holding
//! the JSON payload.
//!
//! The JSON is sent as pure ASCII (every other character escaped as `\uXXXX`), so the
//! field reads the same whatever charset the server assumes for a part that declares
//! none, as PHP's curl and Postman send it.

use std::fmt::Write as _;

/// The one form field of the write API.
pub(crate) const FIELD_NAME: &str = "donneesPrivees";

/// A ready-to-send form body and the `Content-Type` that announces its boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormBody {
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

/// The form holding `json` as the field `donneesPrivees`.
pub(crate) fn donnees_privees(json: &str) -> FormBody {
    let value = ascii_json(json);
    let mut boundary = new_boundary();
    while value.contains(&boundary) {
        boundary = new_boundary();
    }
    let body = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"{FIELD_NAME}\"\r\n\
         \r\n\
         {value}\r\n\
         --{boundary}--\r\n"
    );
    FormBody {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body: body.into_bytes(),
    }
}

fn new_boundary() -> String {
    format!("apidae-client-{}", uuid::Uuid::new_v4().simple())
}

/// `json` with every non-ASCII character written as a JSON `\u` escape (a surrogate
/// pair above U+FFFF). Outside strings JSON text is ASCII, so the result is the same
/// JSON value.
fn ascii_json(json: &str) -> String {
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            let _ = write!(ascii, "\\u{unit:04x}");
        }
    }
    ascii
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn the_body_is_one_named_part_between_boundaries() {
        let form = donnees_privees(r#"{"objetsTouristiques":[]}"#);
        let boundary = form
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("the boundary is announced");
        assert!(boundary.len() > 20 && boundary.is_ascii(), "{boundary}");
        let body = String::from_utf8(form.body).expect("ascii");
        assert_eq!(
            body,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"donneesPrivees\"\r\n\r\n\
                 {{\"objetsTouristiques\":[]}}\r\n--{boundary}--\r\n"
            )
        );
    }

    #[test]
    fn boundaries_differ_between_calls() {
        assert_ne!(
            donnees_privees("{}").content_type,
            donnees_privees("{}").content_type
        );
    }

    #[test]
    fn non_ascii_text_is_escaped_into_the_same_json_value() {
        let value = json!({"libelleFr": "Gîte « Les Prés » – été 🌞", "n": 1});
        let ascii = ascii_json(&value.to_string());
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.contains(r"\u00ee"), "{ascii}");
        assert!(ascii.contains(r"\ud83c\udf1e"), "{ascii}");
        let back: Value = serde_json::from_str(&ascii).expect("still json");
        assert_eq!(back, value);
    }
}
