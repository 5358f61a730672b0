use telemetry::propagation::{inject_current, set_parent};
use tracing::info_span;

/// The fields of a `traceparent` header: version, trace id, parent span id, flags.
fn traceparent_fields(headers: &[(String, String)]) -> [String; 4] {
    let value = headers
        .iter()
        .find(|(name, _)| name == "traceparent")
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("no traceparent in {headers:?}"));
    let fields: Vec<String> = value.split('-').map(str::to_owned).collect();
    fields
        .try_into()
        .unwrap_or_else(|fields| panic!("traceparent {value:?} has not 4 fields: {fields:?}"))
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[test]
fn inside_a_span_inject_current_yields_a_valid_traceparent() {
    telemetry::init_for_tests();

    let headers = info_span!("publish").in_scope(inject_current);

    let [version, trace_id, span_id, flags] = traceparent_fields(&headers);
    assert_eq!(version, "00");
    assert!(
        is_lower_hex(&trace_id, 32) && trace_id != "0".repeat(32),
        "{trace_id}"
    );
    assert!(
        is_lower_hex(&span_id, 16) && span_id != "0".repeat(16),
        "{span_id}"
    );
    assert_eq!(flags, "01");
    assert!(
        headers.iter().all(|(_, value)| !value.is_empty()),
        "{headers:?}"
    );
}

#[test]
fn outside_any_span_nothing_is_injected() {
    telemetry::init_for_tests();

    assert_eq!(inject_current(), Vec::new());
}

#[test]
fn a_span_given_the_carried_headers_as_parent_shares_their_trace_id() {
    telemetry::init_for_tests();
    let carried = info_span!("publish").in_scope(inject_current);

    let consumer = info_span!("consume");
    set_parent(&consumer, &carried);
    let continued = consumer.in_scope(inject_current);

    let [_, sent_trace, sent_span, _] = traceparent_fields(&carried);
    let [_, received_trace, received_span, _] = traceparent_fields(&continued);
    assert_eq!(received_trace, sent_trace);
    assert_ne!(received_span, sent_span);
}

#[test]
fn a_carried_tracestate_travels_on_with_the_trace() {
    telemetry::init_for_tests();
    let mut carried = info_span!("publish").in_scope(inject_current);
    carried.push(("tracestate".to_owned(), "vendor=opaque".to_owned()));

    let consumer = info_span!("consume");
    set_parent(&consumer, &carried);
    let continued = consumer.in_scope(inject_current);

    assert!(
        continued.contains(&("tracestate".to_owned(), "vendor=opaque".to_owned())),
        "{continued:?}"
    );
}

#[test]
fn absent_or_invalid_headers_leave_the_span_a_new_root() {
    telemetry::init_for_tests();
    let other = info_span!("elsewhere").in_scope(inject_current);
    let [_, other_trace, _, _] = traceparent_fields(&other);

    for headers in [
        Vec::new(),
        vec![("traceparent".to_owned(), "not-a-traceparent".to_owned())],
    ] {
        let span = info_span!("consume");
        set_parent(&span, &headers);
        let injected = span.in_scope(inject_current);

        let [_, trace, _, _] = traceparent_fields(&injected);
        assert_ne!(trace, other_trace, "{headers:?}");
    }
}
