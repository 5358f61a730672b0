//! Who a connection signs in as. Each API has its own credentials; the keys
//! of another API's credentials are unknown keys on a connection.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

use crate::api::Api;
use crate::base_url::BaseUrl;
use crate::fields::{Fields, non_empty_text, positive_seconds, text, whole_number};
use crate::problem::Problems;
use crate::secret;

/// A connection's credentials; which variant they are decides the
/// connection's [`Api`]. `Debug` prints every secret redacted.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A DS API token, sent as a bearer token.
    Ds {
        /// The token: key `token`, `token_env` or `token_file`.
        token: SecretString,
    },
    /// A Divalto account, exchanged for a session token.
    Divalto(DivaltoLogin),
    /// An Amienscope key pair that signs every request.
    Amienscope(AmienscopeKeys),
    /// An Apidae OAuth client, exchanged for a bearer token.
    Apidae(ApidaeClientCredentials),
}

impl Credentials {
    /// The API these credentials are for.
    pub fn api(&self) -> Api {
        match self {
            Credentials::Ds { .. } => Api::Ds,
            Credentials::Divalto(_) => Api::Divalto,
            Credentials::Amienscope(_) => Api::Amienscope,
            Credentials::Apidae(_) => Api::Apidae,
        }
    }

    /// The credentials `api` needs, read from `fields`; missing or malformed
    /// keys are problems.
    pub(crate) fn read(
        api: Api,
        fields: &mut Fields,
        env: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Option<Self> {
        match api {
            Api::Ds => Some(Credentials::Ds {
                token: secret::read("token", fields, env, problems)?,
            }),
            Api::Divalto => DivaltoLogin::read(fields, env, problems).map(Credentials::Divalto),
            Api::Amienscope => {
                AmienscopeKeys::read(fields, env, problems).map(Credentials::Amienscope)
            }
            Api::Apidae => {
                ApidaeClientCredentials::read(fields, env, problems).map(Credentials::Apidae)
            }
        }
    }
}

/// The account a Divalto connection authenticates with (`Authent/Auth`).
#[derive(Debug, Clone)]
pub struct DivaltoLogin {
    /// Windows domain (key `domain`); may stay empty (the default) when
    /// `user` already has the form `name@domain`.
    pub domain: String,
    /// The user name (key `user`, required).
    pub user: String,
    /// The password: key `password`, `password_env` or `password_file`.
    pub password: SecretString,
    /// The Divalto environment name (key `environment`, required), sent as
    /// `env`.
    pub environment: String,
    /// How long a session token is used before a new one is requested (key
    /// `token_lifetime_seconds`, 1500 by default): keep it below the
    /// server's token expiry, 30 minutes on some servers and 45 in the
    /// Divalto cloud.
    pub token_lifetime: Duration,
}

impl DivaltoLogin {
    /// `token_lifetime` when the settings name none: 25 minutes.
    pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(1500);

    fn read(
        fields: &mut Fields,
        env: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let domain = fields
            .optional("domain", problems, text)
            .unwrap_or_default();
        let user = fields.required("user", problems, non_empty_text);
        let password = secret::read("password", fields, env, problems);
        let environment = fields.required("environment", problems, non_empty_text);
        let token_lifetime = fields
            .optional("token_lifetime_seconds", problems, positive_seconds)
            .unwrap_or(Self::DEFAULT_TOKEN_LIFETIME);
        Some(Self {
            domain,
            user: user?,
            password: password?,
            environment: environment?,
            token_lifetime,
        })
    }
}

/// The OAuth client of an Apidae write project (client-credentials grant).
#[derive(Debug, Clone)]
pub struct ApidaeClientCredentials {
    /// Where tokens are asked for (key `token_url`, required): its own setting, as
    /// the sources disagree on the host of the test environment's token endpoint.
    pub token_url: BaseUrl,
    /// The OAuth client id (key `client_id`, required).
    pub client_id: String,
    /// The OAuth client secret: key `client_secret`, `client_secret_env` or
    /// `client_secret_file`.
    pub client_secret: SecretString,
}

impl ApidaeClientCredentials {
    fn read(
        fields: &mut Fields,
        env: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let token_url = fields.required("token_url", problems, |value| {
            text(value)?
                .parse::<BaseUrl>()
                .map_err(|error| error.to_string())
        });
        let client_id = fields.required("client_id", problems, non_empty_text);
        let client_secret = secret::read("client_secret", fields, env, problems);
        Some(Self {
            token_url: token_url?,
            client_id: client_id?,
            client_secret: client_secret?,
        })
    }
}

/// The keys an Amienscope connection signs its requests with.
#[derive(Debug, Clone)]
pub struct AmienscopeKeys {
    /// The public key (key `public_key`, required), sent as `X-Public-Key`.
    pub public_key: String,
    /// The private key the signature is made with: key `private_key`,
    /// `private_key_env` or `private_key_file`.
    pub private_key: SecretString,
    /// The address the access was created for (key `email`, required), sent
    /// as `email_addr`.
    pub email: String,
    /// How the `X-Signature` header is made.
    pub signature: SignatureSettings,
    /// The name of an event's id field (key `id_field`, `"id"` by default).
    pub id_field: String,
    /// The `event_status_id`s whose events are passed on as tombstones (key
    /// `tombstone_statuses`): by default those the documentation says are not visible
    /// to the public, 1 (pending), 5 (deleted) and 6 (archived). Any other status,
    /// cancelled (3) included, is passed on as a record with its status.
    pub tombstone_statuses: Vec<i64>,
}

impl AmienscopeKeys {
    /// `id_field` when the settings name none.
    pub const DEFAULT_ID_FIELD: &str = "id";
    /// `tombstone_statuses` when the settings name none: the statuses not visible to
    /// the public.
    pub const DEFAULT_TOMBSTONE_STATUSES: [i64; 3] = [1, 5, 6];

    fn read(
        fields: &mut Fields,
        env: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let public_key = fields.required("public_key", problems, non_empty_text);
        let private_key = secret::read("private_key", fields, env, problems);
        let email = fields.required("email", problems, non_empty_text);
        let signature = SignatureSettings::read(fields, problems);
        let id_field = fields
            .optional("id_field", problems, non_empty_text)
            .unwrap_or_else(|| Self::DEFAULT_ID_FIELD.to_owned());
        let tombstone_statuses = fields
            .optional("tombstone_statuses", problems, status_codes)
            .unwrap_or_else(|| Self::DEFAULT_TOMBSTONE_STATUSES.to_vec());
        Some(Self {
            public_key: public_key?,
            private_key: private_key?,
            email: email?,
            signature,
            id_field,
            tombstone_statuses,
        })
    }
}

/// A list of event status ids, possibly empty: a TOML list of whole numbers, or (from
/// an environment variable) the numbers separated by commas, `1,5,6`.
fn status_codes(value: toml::Value) -> Result<Vec<i64>, String> {
    match value {
        toml::Value::Array(items) => items.into_iter().map(whole_number).collect(),
        toml::Value::String(text) => text
            .split(',')
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(|code| whole_number(toml::Value::String(code.to_owned())))
            .collect(),
        _ => Err("expected a list of whole numbers, such as [1, 5, 6] or \"1,5,6\"".to_owned()),
    }
}

/// The recipe of Amienscope's `X-Signature`: an HMAC of a text built from
/// the request, keyed with the private key.
///
/// The real recipe is not public (the documentation only names an HMAC
/// "similar to Amazon AWS"), so the defaults are an assumption: HMAC-SHA256
/// over `{method}\n{path}\n{datetime}`, hex encoded, with `X-Datetime` a
/// unix timestamp. Each part can be changed here once the provider confirms
/// the recipe. The values are kept as text: the worker parses them with the
/// Amienscope client and refuses to start on a value it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureSettings {
    /// The text that is signed, with placeholders (key `signature_template`,
    /// default `"{method}\n{path}\n{datetime}"`).
    pub template: String,
    /// The HMAC's hash function (key `signature_hash`, default `"sha256"`).
    pub hash: String,
    /// How the HMAC bytes are written (key `signature_encoding`, default
    /// `"hex"`).
    pub encoding: String,
    /// How `X-Datetime` is written (key `signature_datetime`, default
    /// `"unix"`).
    pub datetime: String,
}

impl SignatureSettings {
    /// The `signature_*` keys of `fields`, each defaulted when absent; an
    /// empty or non-text value is a problem (and then the default stands
    /// in, as loading fails anyway).
    fn read(fields: &mut Fields, problems: &mut Problems) -> Self {
        let defaults = Self::default();
        let mut read = |name: &str, default: String| {
            fields
                .optional(name, problems, non_empty_text)
                .unwrap_or(default)
        };
        Self {
            template: read("signature_template", defaults.template),
            hash: read("signature_hash", defaults.hash),
            encoding: read("signature_encoding", defaults.encoding),
            datetime: read("signature_datetime", defaults.datetime),
        }
    }
}

impl Default for SignatureSettings {
    /// The assumed recipe: HMAC-SHA256 of method, path and unix datetime, one
    /// per line, hex encoded.
    fn default() -> Self {
        Self {
            template: "{method}\n{path}\n{datetime}".to_owned(),
            hash: "sha256".to_owned(),
            encoding: "hex".to_owned(),
            datetime: "unix".to_owned(),
        }
    }
}
