//! What a caller asks for, and the `RecordSql/Execute` body it becomes.

use serde::Serialize;

/// The server's default cap on records per answer; a server may be set lower.
pub const DEFAULT_COUNT_CAP: u32 = 1000;

/// Which RecordSql to run, with its optional named clauses. The same query is sent for
/// every page of a listing; only the offset moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// The RecordSql dictionary file, such as `gtrsart.dhoq`.
    pub dhoq: String,
    /// The name of one query inside the dictionary, such as `Article`.
    pub recordsql: String,
    /// Upper-case field names without their table (`CPOSTAL`, `ART_REF` for a joined
    /// field); empty reads every field.
    pub fields: Vec<String>,
    /// The name of a sort defined in the RecordSql (not SQL). Keep it stable across the
    /// pages of a listing: each page is a fresh query.
    pub orderby: Option<String>,
    /// A named WHERE clause defined in the RecordSql, with its parameters.
    pub where_clause: Option<WhereClause>,
}

/// A WHERE clause defined in the RecordSql, called by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhereClause {
    /// The clause name, such as `Between_Ean` (not SQL).
    pub name: String,
    /// `name1=v1;name2=v2` or positional `v1;v2`; strings are not quoted.
    pub parameters: String,
}

/// How many records one page asks for: at least 1 (a `count` of 0 makes the server
/// answer one record) and at most the server's cap (a larger count is cut silently,
/// which would end a listing early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordCount(u32);

/// A page size refused before any request is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record count {count} is outside 1..={cap}")]
pub struct InvalidCount {
    /// The count asked for.
    pub count: u32,
    /// The cap it was checked against.
    pub cap: u32,
}

impl RecordCount {
    /// Accepts 1 up to `cap`, the server's configured maximum per answer
    /// ([`DEFAULT_COUNT_CAP`] unless the server says otherwise).
    pub fn new(count: u32, cap: u32) -> Result<Self, InvalidCount> {
        if count == 0 || count > cap {
            return Err(InvalidCount { count, cap });
        }
        Ok(Self(count))
    }

    /// The count itself.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The JSON body of `RecordSql/Execute`. Every documented tag is sent, empty when
/// unused, as in the service's own examples. Never logged: it holds the token.
#[derive(Serialize)]
pub(crate) struct ExecuteBody<'a> {
    dhoq: &'a str,
    recordsql: &'a str,
    access_token: &'a str,
    parameters: &'a str,
    fields: String,
    #[serde(rename = "where")]
    where_name: &'a str,
    where_parameters: &'a str,
    offset: u64,
    count: u32,
    orderby: &'a str,
    having: &'a str,
    having_parameters: &'a str,
    infos: &'a str,
}

impl<'a> ExecuteBody<'a> {
    /// The body for one page of `query`, authenticated by `access_token`.
    pub(crate) fn new(
        query: &'a RecordQuery,
        access_token: &'a str,
        offset: u64,
        count: RecordCount,
    ) -> Self {
        let (where_name, where_parameters) = match &query.where_clause {
            Some(clause) => (clause.name.as_str(), clause.parameters.as_str()),
            None => ("", ""),
        };
        ExecuteBody {
            dhoq: &query.dhoq,
            recordsql: &query.recordsql,
            access_token,
            parameters: "",
            fields: query.fields.join(";"),
            where_name,
            where_parameters,
            offset,
            count: count.get(),
            orderby: query.orderby.as_deref().unwrap_or(""),
            having: "",
            having_parameters: "",
            infos: "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_count_is_between_one_and_the_cap() {
        assert_eq!(RecordCount::new(1, 1000).map(RecordCount::get), Ok(1));
        assert_eq!(RecordCount::new(1000, 1000).map(RecordCount::get), Ok(1000));
        assert_eq!(
            RecordCount::new(0, 1000),
            Err(InvalidCount {
                count: 0,
                cap: 1000
            })
        );
        assert_eq!(
            RecordCount::new(1001, DEFAULT_COUNT_CAP),
            Err(InvalidCount {
                count: 1001,
                cap: 1000
            })
        );
        assert!(RecordCount::new(1, 0).is_err());
        assert_eq!(
            InvalidCount { count: 0, cap: 500 }.to_string(),
            "record count 0 is outside 1..=500"
        );
    }

    #[test]
    fn a_full_query_fills_every_documented_tag() {
        let query = RecordQuery {
            dhoq: "gtrstab.dhoq".into(),
            recordsql: "MODEREGLEMENT".into(),
            fields: vec!["DOS".into(), "REGL".into(), "LIB".into()],
            orderby: Some("Par_Code".into()),
            where_clause: Some(WhereClause {
                name: "Between_Ean".into(),
                parameters: "ean1=1;ean2=9".into(),
            }),
        };
        let count = RecordCount::new(10, DEFAULT_COUNT_CAP).expect("a valid count");
        let body = serde_json::to_value(ExecuteBody::new(&query, "tok", 20, count))
            .expect("the body serialises");
        assert_eq!(
            body,
            json!({
                "dhoq": "gtrstab.dhoq",
                "recordsql": "MODEREGLEMENT",
                "access_token": "tok",
                "parameters": "",
                "fields": "DOS;REGL;LIB",
                "where": "Between_Ean",
                "where_parameters": "ean1=1;ean2=9",
                "offset": 20,
                "count": 10,
                "orderby": "Par_Code",
                "having": "",
                "having_parameters": "",
                "infos": ""
            })
        );
    }

    #[test]
    fn a_bare_query_sends_empty_strings_and_no_tag_has_a_space() {
        let query = RecordQuery {
            dhoq: "gtrstab.dhoq".into(),
            recordsql: "CATFOU".into(),
            ..RecordQuery::default()
        };
        let count = RecordCount::new(5, DEFAULT_COUNT_CAP).expect("a valid count");
        let body = serde_json::to_value(ExecuteBody::new(&query, "tok", 0, count))
            .expect("the body serialises");
        let object = body.as_object().expect("an object");
        for (tag, value) in object {
            assert!(!tag.contains(' '), "{tag:?}");
            if !matches!(tag.as_str(), "dhoq" | "recordsql" | "access_token") {
                assert!(value == "" || value.is_number(), "{tag}: {value}");
            }
        }
        assert_eq!(object.len(), 13);
        assert_eq!(body["fields"], "");
        assert_eq!(body["offset"], 0);
        assert_eq!(body["count"], 5);
    }
}
