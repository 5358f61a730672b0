//! The answers of the Apidae endpoints: JSON write outcomes, OAuth bodies, and the
//! HTML or plain-text pages of a failing server.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApidaeFault;

const JSON: &str = "application/json;charset=UTF-8";

/// A documented `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    /// The project lacks the rights, or does not own a descriptor.
    Forbidden,
    /// The form field `donneesPrivees` is missing.
    BadRequest,
    /// The JSON is not in the expected format.
    InvalidJsonData,
}

impl ErrorType {
    fn name(self) -> &'static str {
        match self {
            Self::Forbidden => "ECRITURE_FORBIDDEN",
            Self::BadRequest => "ECRITURE_BAD_REQUEST",
            Self::InvalidJsonData => "ECRITURE_INVALID_JSON_DATA",
        }
    }

    /// The HTTP status the sandbox answers it with (undocumented upstream).
    fn status(self) -> StatusCode {
        match self {
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest | Self::InvalidJsonData => StatusCode::BAD_REQUEST,
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// A successful write: `{"id": [...], "status": ...}`.
pub(crate) fn written(ids: &[u64], status: &str) -> Response {
    json_response(StatusCode::OK, &json!({ "id": ids, "status": status }))
}

/// `{"errorType": ..., "message": ...}`.
pub(crate) fn error_type(error_type: ErrorType, message: &str) -> Response {
    json_response(
        error_type.status(),
        &json!({ "errorType": error_type.name(), "message": message }),
    )
}

/// `{"status": "NO_ACTION", "message": ...}` under HTTP 200.
pub(crate) fn no_action(message: &str) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "status": "NO_ACTION", "message": message }),
    )
}

/// An OAuth error body, with the `WWW-Authenticate` challenge of `scheme`.
pub(crate) fn oauth_error(
    status: StatusCode,
    scheme: &str,
    error: &str,
    description: &str,
) -> Response {
    let mut response = json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    let challenge =
        format!("{scheme} realm=\"oauth\", error=\"{error}\", error_description=\"{description}\"");
    if let Ok(value) = HeaderValue::try_from(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The token answer.
pub(crate) fn granted(token: &str, expires_in: u64, scope: &str) -> Response {
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": scope,
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl ApidaeFault {
    /// The page this fault answers with.
    pub(crate) fn response(self) -> Response {
        match self {
            Self::HtmlUnavailable => tomcat_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is currently unable to handle the request due to a temporary \
                 overload or scheduled maintenance, which will likely be alleviated after \
                 some delay.",
            ),
            Self::HtmlServerError => tomcat_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server encountered an unexpected condition that prevented it from \
                 fulfilling the request.",
            ),
            Self::PlainUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain")],
                "Service Unavailable",
            )
                .into_response(),
        }
    }
}

/// An error page in the style of Apache Tomcat's default status report.
fn tomcat_page(status: StatusCode, description: &str) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status {code} – {reason}</title>\
         <style type=\"text/css\">body {{font-family:Tahoma,Arial,sans-serif;}} h1, h2, h3, b \
         {{color:white;background-color:#525D76;}} h1 {{font-size:22px;}} .line \
         {{height:1px;background-color:#525D76;border:none;}}</style></head><body>\
         <h1>HTTP Status {code} – {reason}</h1><hr class=\"line\" />\
         <p><b>Type</b> Status Report</p><p><b>Description</b> {description}</p>\
         <hr class=\"line\" /><h3>Apache Tomcat/9.0.83</h3></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
        page,
    )
        .into_response()
}
