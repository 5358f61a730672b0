//! The upstream APIs a connection can speak, and the limits each one imposes.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// The kind of upstream a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// demarches-simplifiees' GraphQL API.
    Ds,
}

impl Api {
    const ALL: [Api; 1] = [Api::Ds];

    /// The name used in settings files (`api = "ds"`).
    pub fn name(self) -> &'static str {
        match self {
            Api::Ds => "ds",
        }
    }

    /// The largest page the API serves: DS silently cuts `first` above 100.
    pub fn max_page_size(self) -> u32 {
        match self {
            Api::Ds => 100,
        }
    }

    /// The rate limit a connection gets when its settings name none: DS
    /// allows 400 requests per token in each fixed one-minute window.
    pub fn default_rate_limit(self) -> RateLimit {
        match self {
            Api::Ds => RateLimit {
                requests: NonZeroU32::new(400).expect("400 is not zero"),
                per: Duration::from_secs(60),
                burst: NonZeroU32::MIN,
            },
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not one of the known APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown api {name:?}, expected one of: {known}", known = known_names())]
pub struct UnknownApi {
    /// The name that was given.
    pub name: String,
}

fn known_names() -> String {
    Api::ALL.map(Api::name).join(", ")
}

impl FromStr for Api {
    type Err = UnknownApi;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Api::ALL
            .into_iter()
            .find(|api| api.name() == name)
            .ok_or_else(|| UnknownApi {
                name: name.to_owned(),
            })
    }
}

/// How many requests a connection may send, as a token bucket (GCRA) that
/// refills one request every `per / requests` and holds at most `burst`.
///
/// Over any span of length `per` such a bucket admits up to
/// `burst + requests - 1` requests. DS counts requests in fixed windows
/// aligned on the minute, so only `burst = 1` (evenly spaced requests) is
/// guaranteed never to exceed its 400 per window; that is the default. A
/// larger burst trades that guarantee for lower latency on idle connections:
/// the rare overflow is answered with a rate-limit reset that the worker waits
/// out (up to `worker.max_rate_limit_wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in each `per`.
    pub requests: NonZeroU32,
    /// The window the `requests` are counted over.
    pub per: Duration,
    /// Requests that may be sent back to back after an idle spell; never
    /// more than `requests`.
    pub burst: NonZeroU32,
}

/// How many records to ask for per page: at least 1 and at most the API's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize(u32);

impl PageSize {
    /// `size` when `api` serves pages that large; 0 is always refused.
    pub fn new(api: Api, size: u32) -> Result<Self, PageSizeError> {
        let cap = api.max_page_size();
        if (1..=cap).contains(&size) {
            Ok(Self(size))
        } else {
            Err(PageSizeError { api, size, cap })
        }
    }

    /// The largest page `api` serves.
    pub fn max(api: Api) -> Self {
        Self(api.max_page_size())
    }

    /// The number of records per page.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A page size outside what the API serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("page size {size} is outside 1..={cap}, the range {api} serves")]
pub struct PageSizeError {
    /// The API the page size was meant for.
    pub api: Api,
    /// The refused size.
    pub size: u32,
    /// The largest size the API serves.
    pub cap: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_accepts_one_to_the_cap() {
        assert_eq!(PageSize::new(Api::Ds, 1).map(PageSize::get), Ok(1));
        assert_eq!(PageSize::new(Api::Ds, 100).map(PageSize::get), Ok(100));
        assert_eq!(PageSize::max(Api::Ds).get(), 100);
    }

    #[test]
    fn page_size_refuses_zero_and_anything_above_the_cap() {
        assert!(PageSize::new(Api::Ds, 0).is_err());
        let error = PageSize::new(Api::Ds, 101).unwrap_err();
        assert_eq!(
            error.to_string(),
            "page size 101 is outside 1..=100, the range ds serves"
        );
    }

    #[test]
    fn api_names_round_trip() {
        for api in Api::ALL {
            assert_eq!(api.name().parse(), Ok(api));
        }
        assert_eq!(
            "dz".parse::<Api>().unwrap_err().to_string(),
            "unknown api \"dz\", expected one of: ds"
        );
    }

    #[test]
    fn the_default_ds_rate_limit_never_exceeds_its_fixed_window() {
        let limit = Api::Ds.default_rate_limit();
        let most_in_any_window = limit.burst.get() + limit.requests.get() - 1;
        assert!(most_in_any_window <= 400);
    }
}
