//! The validated root URL of an upstream: the settings parse it once, and every client
//! appends its API's paths to it (`BaseUrl::join`).

use std::fmt;
use std::str::FromStr;

use url::Url;

/// An absolute `http` or `https` URL (so one with a host), without credentials, query
/// or fragment.
///
/// It is kept in the URL standard's normal form (lowercase scheme and host,
/// default port dropped) with every trailing `/` removed, so
/// `http://127.0.0.1:8080/` and `http://127.0.0.1:8080` are the same base and
/// a path is always appended with a leading slash:
/// `format!("{base}/api/v2/graphql")`. A path in the base is kept, so one
/// host can serve several upstreams under their own prefixes
/// (`http://127.0.0.1:8080/divalto`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL of `path` under this base, such as `api/v2/graphql`; a leading slash
    /// in `path` is ignored, so the base's own path is always kept.
    pub fn join(&self, path: &str) -> Url {
        let text = format!("{}/{}", self.0, path.trim_start_matches('/'));
        Url::parse(&text).expect("a valid base followed by a path is a valid url")
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = Url::parse(text).map_err(BaseUrlError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BaseUrlError::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError::Credentials);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BaseUrlError::QueryOrFragment);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
}

/// Why a text is not a usable base URL; never repeats the text, which could
/// hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not a URL at all.
    #[error("not a valid url: {0}")]
    Malformed(url::ParseError),
    /// A scheme other than http or https.
    #[error("must use http or https, found {0}")]
    Scheme(String),
    /// A user name or password in the URL.
    #[error("must not hold credentials: give them as the connection's credential keys")]
    Credentials,
    /// A `?query` or `#fragment`.
    #[error("must not have a query or fragment")]
    QueryOrFragment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_are_removed_and_the_url_normalised() {
        let cases = [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("HTTPS://Example.TEST:443/api/", "https://example.test/api"),
            ("https://example.test/api//", "https://example.test/api"),
            (
                "http://127.0.0.1:8080/divalto",
                "http://127.0.0.1:8080/divalto",
            ),
            (
                "https://api.divaltocloud.com/123456/TEST1/",
                "https://api.divaltocloud.com/123456/TEST1",
            ),
        ];
        for (given, kept) in cases {
            assert_eq!(given.parse::<BaseUrl>().unwrap().as_str(), kept, "{given}");
        }
    }

    #[test]
    fn paths_are_appended_under_the_base_path() {
        for base in [
            "http://host:8080/DhsDivaltoServiceDivaApiRest",
            "http://host:8080/DhsDivaltoServiceDivaApiRest/",
        ] {
            let base: BaseUrl = base.parse().unwrap();
            assert_eq!(
                base.join("/api/v1/RecordSql/Execute").as_str(),
                "http://host:8080/DhsDivaltoServiceDivaApiRest/api/v1/RecordSql/Execute"
            );
        }
        let root: BaseUrl = "https://demarche.numerique.gouv.fr/".parse().unwrap();
        assert_eq!(
            root.join("api/v2/graphql").as_str(),
            "https://demarche.numerique.gouv.fr/api/v2/graphql"
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_their_reason() {
        let cases = [
            ("not a url", "not a valid url: relative URL without a base"),
            ("ftp://example.test", "must use http or https, found ftp"),
            (
                "https://me:pw@example.test",
                "must not hold credentials: give them as the connection's credential keys",
            ),
            (
                "https://example.test/?a=1",
                "must not have a query or fragment",
            ),
            (
                "https://example.test/#top",
                "must not have a query or fragment",
            ),
        ];
        for (given, reason) in cases {
            let error = given.parse::<BaseUrl>().unwrap_err();
            assert_eq!(error.to_string(), reason, "{given}");
        }
    }
}
