//! The label sets of the families: each one a small closed shape, never an id.

use prometheus_client::encoding::EncodeLabelSet;

/// Series of one upstream connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ConnectionLabels {
    pub(crate) connection: String,
}

/// Upstream requests of one connection answered with one status class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct UpstreamLabels {
    pub(crate) connection: String,
    pub(crate) status_class: &'static str,
}

/// Deliveries settled one way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) outcome: &'static str,
}

/// Dead letters for one closed-set failure reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ReasonLabels {
    pub(crate) reason: &'static str,
}

/// Token requests of one connection that ended one way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct TokenLabels {
    pub(crate) connection: String,
    pub(crate) outcome: &'static str,
}

/// Jobs of one kind on one connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct JobLabels {
    pub(crate) kind: &'static str,
    pub(crate) connection: String,
}

/// Jobs of one kind on one connection that completed one way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct JobCompletedLabels {
    pub(crate) kind: &'static str,
    pub(crate) connection: String,
    pub(crate) end: &'static str,
    pub(crate) consistency: &'static str,
}

/// Jobs of one kind on one connection that failed for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct JobFailedLabels {
    pub(crate) kind: &'static str,
    pub(crate) connection: String,
    pub(crate) reason: &'static str,
}

/// How an upstream request ended, as the `status_class` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// A 2xx answer.
    Success,
    /// A 3xx answer.
    Redirection,
    /// A 4xx answer.
    ClientError,
    /// A 5xx answer.
    ServerError,
    /// No usable answer: the request failed (timeout, connection refused, TLS)
    /// or the status was outside 200..=599.
    Error,
}

impl StatusClass {
    /// Every class, so that each series exists from the start.
    pub const ALL: [StatusClass; 5] = [
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::Error,
    ];

    /// The class of an HTTP status code.
    pub fn of_status(code: u16) -> Self {
        match code {
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::Error,
        }
    }

    /// The label value: `2xx`, `3xx`, `4xx`, `5xx` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_in_their_class_and_odd_ones_are_errors() {
        let cases = [
            (200, "2xx"),
            (204, "2xx"),
            (301, "3xx"),
            (404, "4xx"),
            (429, "4xx"),
            (503, "5xx"),
            (101, "error"),
            (600, "error"),
            (0, "error"),
        ];
        for (code, class) in cases {
            assert_eq!(StatusClass::of_status(code).as_str(), class, "{code}");
        }
    }
}
