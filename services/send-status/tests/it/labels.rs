//! Labels go on and off once; a repeat is reported as already applied.

use contract::{DossierRef, StatusAction};
use sandbox::ds::dataset::DossierState;

use crate::harness::{global_id, spawn_app, status, status_of};

#[tokio::test]
async fn a_label_goes_on_and_off_and_repeats_are_already_applied() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnInstruction, 0, 1)[0];
    let label = global_id("Label", 506);
    let labels_of = |app: &crate::harness::TestApp| -> Vec<i64> {
        app.sandbox
            .dataset()
            .dossier_labels(i64::from(dossier))
            .expect("a visible dossier")
            .iter()
            .map(|label| label.number)
            .collect()
    };
    assert!(!labels_of(&app).contains(&506));
    let add = StatusAction::AddLabel {
        label: label.clone(),
    };
    let remove = StatusAction::RemoveLabel { label };

    let added = app.run(&status(dossier, add.clone())).await.sent();
    assert!(!added.already_applied);
    assert_eq!(added.action, "add_label");
    assert!(labels_of(&app).contains(&506));

    // The same label again, on the dossier named by its global id this time.
    let by_id = DossierRef::Id(global_id("Dossier", i64::from(dossier)));
    let again = app.run(&status_of(by_id, add)).await.sent();
    assert!(again.already_applied);
    assert_eq!(
        labels_of(&app)
            .iter()
            .filter(|&&label| label == 506)
            .count(),
        1
    );

    let removed = app.run(&status(dossier, remove.clone())).await.sent();
    assert!(!removed.already_applied);
    assert!(!labels_of(&app).contains(&506));

    let removed_again = app.run(&status(dossier, remove)).await.sent();
    assert!(removed_again.already_applied);
    app.shutdown().await;
}
