//! The upstream APIs a connection can speak, and the limits each one imposes.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// The kind of upstream a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// demarches-simplifiees' GraphQL API, read by following a cursor.
    Ds,
    /// Divalto Infinity's REST `RecordSql` service, read by offset pages.
    Divalto,
    /// Amienscope's event listing (`/get/updates`), read by offset pages.
    Amienscope,
    /// Apidae's private-descriptor write API (`api/v002/donnees-privees/`).
    Apidae,
}

impl Api {
    /// Every API, in the order their names are listed.
    pub(crate) const ALL: [Api; 4] = [Api::Ds, Api::Divalto, Api::Amienscope, Api::Apidae];

    /// The name used in settings files (`api = "ds"`).
    pub fn name(self) -> &'static str {
        match self {
            Api::Ds => "ds",
            Api::Divalto => "divalto",
            Api::Amienscope => "amienscope",
            Api::Apidae => "apidae",
        }
    }

    /// The largest page a connection may ask for.
    ///
    /// - ds: 100; DS silently cuts `first` above 100.
    /// - divalto: 1000, the record cap a Divalto server applies by default. A
    ///   server configured with a lower cap answers a larger `count` with a
    ///   short page, which reads as the end of the table: on such a server,
    ///   set the connection's `page_size` to that cap or lower.
    /// - amienscope: 50; its listings silently cut a larger limit to 50.
    /// - apidae: 50 objects per write call; above it the API writes nothing.
    pub const fn max_page_size(self) -> u32 {
        match self {
            Api::Ds => 100,
            Api::Divalto => 1000,
            Api::Amienscope | Api::Apidae => 50,
        }
    }

    /// The smallest page a connection may ask for: 1 for ds; 2 for the APIs
    /// read by offset, whose consecutive pages overlap by one record, so a
    /// page must hold at least one record more than the overlap.
    pub fn min_page_size(self) -> u32 {
        match self {
            Api::Ds | Api::Apidae => 1,
            Api::Divalto | Api::Amienscope => 2,
        }
    }

    /// Whether a client logs in for an access token before it calls the API:
    /// Divalto (its `Authenticate` login) and Apidae (OAuth client credentials); DS
    /// and Amienscope take their credentials on every request.
    pub fn logs_in(self) -> bool {
        match self {
            Api::Divalto | Api::Apidae => true,
            Api::Ds | Api::Amienscope => false,
        }
    }

    /// Whether the API is read by offset pages, several of which may be in
    /// flight at once (see `FanOut`); ds is read by following a cursor.
    pub fn pages_by_offset(self) -> bool {
        match self {
            Api::Ds | Api::Apidae => false,
            Api::Divalto | Api::Amienscope => true,
        }
    }

    /// The rate limit a connection gets when its settings name none.
    ///
    /// - ds: 400 requests per minute with burst 1; DS allows 400 requests per
    ///   token in each fixed one-minute window.
    /// - divalto: 10 requests per second with burst 1, and
    /// - amienscope: 5 requests per second with burst 1, and
    /// - apidae: 5 requests per second with burst 1. None of these APIs
    ///   documents a limit: these are our own conservative defaults, to be
    ///   raised per connection once the provider agrees to more.
    pub fn default_rate_limit(self) -> RateLimit {
        let (requests, per) = match self {
            Api::Ds => (400, Duration::from_secs(60)),
            Api::Divalto => (10, Duration::from_secs(1)),
            Api::Amienscope | Api::Apidae => (5, Duration::from_secs(1)),
        };
        RateLimit {
            requests: NonZeroU32::new(requests).expect("every default request count is above zero"),
            per,
            burst: NonZeroU32::MIN,
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
///
/// The bucket belongs to the connection, not to a process: every replica of
/// every worker that calls the connection draws from one bucket kept in Redis
/// (the `rate-gate` crate), each also smoothed by an in-process
/// [`RateLimit::limiter`].
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

impl RateLimit {
    /// The limit as an in-process governor bucket: one request every
    /// `per / requests` (at least a nanosecond apart), `burst` at most back to back.
    pub fn limiter(&self) -> governor::DefaultDirectRateLimiter {
        let quota = governor::Quota::with_period(self.interval())
            .expect("the period is at least a nanosecond")
            .allow_burst(self.burst);
        governor::RateLimiter::direct(quota)
    }

    /// The time the bucket takes to refill one request: `per / requests`, at
    /// least a nanosecond.
    pub fn interval(&self) -> Duration {
        (self.per / self.requests.get()).max(Duration::from_nanos(1))
    }
}

/// How many records to ask for per page: between the API's
/// [`Api::min_page_size`] and [`Api::max_page_size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize(u32);

impl PageSize {
    /// `size` when it lies within `api`'s page size bounds; 0 is always
    /// refused.
    pub fn new(api: Api, size: u32) -> Result<Self, PageSizeError> {
        let min = api.min_page_size();
        let cap = api.max_page_size();
        if (min..=cap).contains(&size) {
            Ok(Self(size))
        } else {
            Err(PageSizeError {
                api,
                size,
                min,
                cap,
            })
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

/// A page size outside the bounds of its API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("page size {size} is outside {min}..={cap}, the range allowed for {api}")]
pub struct PageSizeError {
    /// The API the page size was meant for.
    pub api: Api,
    /// The refused size.
    pub size: u32,
    /// The smallest size allowed for the API.
    pub min: u32,
    /// The largest size the API serves.
    pub cap: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_accepts_the_minimum_to_the_cap() {
        let bounds = [
            (Api::Ds, 1, 100),
            (Api::Divalto, 2, 1000),
            (Api::Amienscope, 2, 50),
        ];
        for (api, min, cap) in bounds {
            assert_eq!(PageSize::new(api, min).map(PageSize::get), Ok(min), "{api}");
            assert_eq!(PageSize::new(api, cap).map(PageSize::get), Ok(cap), "{api}");
            assert_eq!(PageSize::max(api).get(), cap, "{api}");
        }
    }

    #[test]
    fn page_size_refuses_anything_outside_the_api_bounds() {
        for api in Api::ALL {
            assert!(PageSize::new(api, 0).is_err(), "{api}");
        }
        let cases = [
            (
                Api::Ds,
                101,
                "page size 101 is outside 1..=100, the range allowed for ds",
            ),
            (
                Api::Divalto,
                1,
                "page size 1 is outside 2..=1000, the range allowed for divalto",
            ),
            (
                Api::Divalto,
                1001,
                "page size 1001 is outside 2..=1000, the range allowed for divalto",
            ),
            (
                Api::Amienscope,
                1,
                "page size 1 is outside 2..=50, the range allowed for amienscope",
            ),
            (
                Api::Amienscope,
                51,
                "page size 51 is outside 2..=50, the range allowed for amienscope",
            ),
        ];
        for (api, size, message) in cases {
            assert_eq!(PageSize::new(api, size).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn api_names_round_trip() {
        for api in Api::ALL {
            assert_eq!(api.name().parse(), Ok(api));
        }
        assert_eq!(
            "dz".parse::<Api>().unwrap_err().to_string(),
            "unknown api \"dz\", expected one of: ds, divalto, amienscope, apidae"
        );
    }

    #[test]
    fn only_the_offset_apis_are_read_by_offset_pages() {
        assert!(!Api::Ds.pages_by_offset());
        assert!(Api::Divalto.pages_by_offset());
        assert!(Api::Amienscope.pages_by_offset());
    }

    #[test]
    fn the_default_ds_rate_limit_never_exceeds_its_fixed_window() {
        let limit = Api::Ds.default_rate_limit();
        let most_in_any_window = limit.burst.get() + limit.requests.get() - 1;
        assert!(most_in_any_window <= 400);
    }

    #[test]
    fn a_rate_limit_refills_one_request_every_interval() {
        let twenty_per_second = RateLimit {
            requests: NonZeroU32::new(20).unwrap(),
            per: Duration::from_secs(1),
            burst: NonZeroU32::MIN,
        };
        assert_eq!(twenty_per_second.interval(), Duration::from_millis(50));
        assert_eq!(
            Api::Ds.default_rate_limit().interval(),
            Duration::from_millis(150)
        );
    }

    #[test]
    fn the_offset_apis_get_conservative_default_rate_limits() {
        let per_second = |requests| RateLimit {
            requests: NonZeroU32::new(requests).unwrap(),
            per: Duration::from_secs(1),
            burst: NonZeroU32::MIN,
        };
        assert_eq!(Api::Divalto.default_rate_limit(), per_second(10));
        assert_eq!(Api::Amienscope.default_rate_limit(), per_second(5));
    }
}
