#[test]
fn init_after_the_test_stack_reports_that_a_subscriber_is_already_installed() {
    telemetry::init_for_tests();

    let result = telemetry::init("telemetry-tests");

    assert!(
        matches!(result, Err(telemetry::TelemetryError::AlreadyInstalled(_))),
        "{result:?}"
    );
}

#[test]
fn init_for_tests_may_be_called_any_number_of_times() {
    telemetry::init_for_tests();
    telemetry::init_for_tests();

    tracing::info!("still logging");
}
