//! What one page of the updates listing asks for, and the URL path it becomes.

use std::fmt;

/// The events whose data or status changed since an instant, optionally in one category.
/// Keep it fixed across the pages of one scan: the offset counts within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpdatesListing {
    /// Unix time in seconds (UTC). The documentation does not say whether the bound is
    /// inclusive, so overlap it with the previous scan and dedupe by event id.
    pub since: i64,
    /// One category id, from `/get/categories`; none for every category.
    pub category: Option<u32>,
}

/// How many events one page asks for: 1 to 50.
///
/// The updates listing has no documented cap, but the API's other listings silently cut
/// a larger limit to 50, which would make every page look short and end a scan early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit(u32);

/// A page limit outside 1..=50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("limit {0} is outside 1..={max}", max = Limit::MAX.get())]
pub struct InvalidLimit(pub u32);

impl Limit {
    /// The largest page the API's listings serve.
    pub const MAX: Limit = Limit(50);

    /// Accepts 1 to 50.
    pub fn new(limit: u32) -> Result<Self, InvalidLimit> {
        if limit == 0 || limit > Self::MAX.0 {
            return Err(InvalidLimit(limit));
        }
        Ok(Self(limit))
    }

    /// The limit itself.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl UpdatesListing {
    /// `get/updates/<since>[/<category>]/<offset>,<limit>`, relative to the base URL.
    ///
    /// The pagination segment is always there: without it the server returns the whole
    /// list at once. The server tells it from a category id by its comma.
    pub(crate) fn page_path(&self, offset: u64, limit: Limit) -> String {
        match self.category {
            Some(category) => format!("get/updates/{}/{category}/{offset},{limit}", self.since),
            None => format!("get/updates/{}/{offset},{limit}", self.since),
        }
    }

    /// The shape of [`UpdatesListing::page_path`] with placeholders for its values, as
    /// an absolute path: the `url.template` of the call's span.
    pub(crate) fn page_template(&self) -> &'static str {
        match self.category {
            Some(_) => "/get/updates/{since}/{category}/{offset},{limit}",
            None => "/get/updates/{since}/{offset},{limit}",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_accepted_from_1_to_50_only() {
        for (limit, accepted) in [(0, false), (1, true), (20, true), (50, true), (51, false)] {
            assert_eq!(Limit::new(limit).is_ok(), accepted, "limit {limit}");
        }
        assert_eq!(Limit::new(50), Ok(Limit::MAX));
        assert_eq!(
            Limit::new(51).map_err(|error| error.to_string()),
            Err("limit 51 is outside 1..=50".to_owned())
        );
    }

    /// Every event since the seed's timestamp, and only the concerts (category 4).
    fn listings() -> (UpdatesListing, UpdatesListing) {
        let everything = UpdatesListing {
            since: 1_444_428_000,
            category: None,
        };
        let concerts = UpdatesListing {
            category: Some(4),
            ..everything
        };
        (everything, concerts)
    }

    #[test]
    fn the_path_always_carries_the_pagination_segment() {
        let (everything, concerts) = listings();
        let ten = Limit::new(10).expect("a valid limit");

        assert_eq!(
            everything.page_path(20, ten),
            "get/updates/1444428000/20,10"
        );
        assert_eq!(
            concerts.page_path(0, Limit::MAX),
            "get/updates/1444428000/4/0,50"
        );
    }

    #[test]
    fn the_template_has_the_path_shape_without_its_values() {
        let (everything, concerts) = listings();

        assert_eq!(
            everything.page_template(),
            "/get/updates/{since}/{offset},{limit}"
        );
        assert_eq!(
            concerts.page_template(),
            "/get/updates/{since}/{category}/{offset},{limit}"
        );
    }
}
