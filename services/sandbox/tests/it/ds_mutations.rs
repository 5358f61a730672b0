//! The demarches-simplifiees mutations over HTTP: the dossier lifecycle, messages,
//! labels and the payload errors of the real service.

use sandbox::SandboxConfig;
use sandbox::ds::dataset::{
    CorrectionReason, Dataset, DossierState, LARGE_DEMARCHE, SMALL_DEMARCHE, global_id,
};
use serde_json::{Value, json};

use crate::harness::{TOKEN, TestSandbox, reference_query, spawn_sandbox};

/// An instructeur of démarche 4242.
const INSTRUCTEUR: i64 = 7001;
/// The instructeur of démarche 1717, who has no rights on 4242's dossiers.
const OTHER_INSTRUCTEUR: i64 = 7101;
/// A label of démarche 4242 that no seeded dossier carries.
const SPARE_LABEL: i64 = 506;
/// A label of démarche 1717.
const OTHER_DEMARCHE_LABEL: i64 = 504;

const STATES: [DossierState; 5] = [
    DossierState::EnConstruction,
    DossierState::EnInstruction,
    DossierState::Accepte,
    DossierState::Refuse,
    DossierState::SansSuite,
];

/// Each state mutation, the extra input it needs, the states it runs from
/// and the state it leads to.
fn transitions() -> Vec<(&'static str, Value, Vec<DossierState>, DossierState)> {
    use DossierState::*;
    vec![
        (
            "dossierPasserEnInstruction",
            json!({}),
            vec![EnConstruction],
            EnInstruction,
        ),
        ("dossierAccepter", json!({}), vec![EnInstruction], Accepte),
        (
            "dossierRefuser",
            json!({"motivation": "Hors du champ de l’appel."}),
            vec![EnInstruction],
            Refuse,
        ),
        (
            "dossierClasserSansSuite",
            json!({"motivation": "Pièces jamais reçues."}),
            vec![EnInstruction],
            SansSuite,
        ),
        (
            "dossierRepasserEnInstruction",
            json!({}),
            vec![Accepte, Refuse, SansSuite],
            EnInstruction,
        ),
        (
            "dossierRepasserEnConstruction",
            json!({}),
            vec![EnInstruction],
            EnConstruction,
        ),
    ]
}

fn french(state: DossierState) -> &'static str {
    state.french_name()
}

/// Dossiers of démarche 4242 in `state`, in number order.
fn dossiers_in(dataset: &Dataset, state: DossierState) -> Vec<i64> {
    dataset
        .demarche(LARGE_DEMARCHE)
        .expect("seeded")
        .visible_dossiers()
        .filter(|dossier| dossier.state == state)
        .map(|dossier| dossier.number)
        .collect()
}

fn first_in(app: &TestSandbox, state: DossierState) -> i64 {
    dossiers_in(&app.sandbox.dataset(), state)[0]
}

/// `{dossierId, instructeurId}` merged with `extra`.
fn input(dossier: i64, instructeur: i64, extra: &Value) -> Value {
    let mut input = json!({
        "dossierId": global_id("Dossier", dossier),
        "instructeurId": global_id("Instructeur", instructeur),
    });
    if let (Some(fields), Some(more)) = (input.as_object_mut(), extra.as_object()) {
        fields.extend(more.clone());
    }
    input
}

/// Runs one state mutation and returns its payload.
async fn change_state(app: &TestSandbox, token: &str, field: &str, input: Value) -> Value {
    let input_type = format!("{}{}Input", field[..1].to_uppercase(), &field[1..]);
    let query = format!(
        "mutation Change($input: {input_type}!) {{ {field}(input: $input) {{ dossier {{ id number state }} errors {{ message }} }} }}"
    );
    let answer = app
        .query(token, &query, json!({ "input": input }))
        .await
        .json();
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"][field].clone()
}

fn only_error(payload: &Value) -> &str {
    assert_eq!(payload["dossier"], Value::Null, "{payload}");
    assert_eq!(
        payload["errors"].as_array().map(Vec::len),
        Some(1),
        "{payload}"
    );
    payload["errors"][0]["message"]
        .as_str()
        .expect("a message string")
}

#[tokio::test]
async fn every_transition_runs_from_its_states_and_is_refused_from_the_others() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let seeded = app.sandbox.dataset();
    let mut pools: Vec<Vec<i64>> = STATES
        .iter()
        .map(|&state| dossiers_in(&seeded, state))
        .collect();

    for (field, extra, allowed, target) in transitions() {
        for (index, state) in STATES.into_iter().enumerate() {
            let dossier = pools[index].pop().expect("enough dossiers in every state");
            let payload =
                change_state(&app, TOKEN, field, input(dossier, INSTRUCTEUR, &extra)).await;
            let now = app.sandbox.dataset().dossier_state(dossier);
            if allowed.contains(&state) {
                assert_eq!(payload["errors"], Value::Null, "{field} from {state:?}");
                assert_eq!(payload["dossier"]["number"], dossier);
                assert_eq!(payload["dossier"]["id"], global_id("Dossier", dossier));
                assert_eq!(
                    payload["dossier"]["state"],
                    target.graphql_name().expect("a served state")
                );
                assert_eq!(now, Some(target), "{field} from {state:?}");
            } else {
                assert_eq!(
                    only_error(&payload),
                    format!("Le dossier est déjà {}", french(state)),
                    "{field} from {state:?}"
                );
                assert_eq!(now, Some(state), "{field} from {state:?} changed nothing");
            }
        }
    }
}

#[tokio::test]
async fn a_repeated_change_is_told_the_dossier_is_already_there() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnConstruction);
    let passer = input(dossier, INSTRUCTEUR, &json!({}));

    let first = change_state(&app, TOKEN, "dossierPasserEnInstruction", passer.clone()).await;
    let again = change_state(&app, TOKEN, "dossierPasserEnInstruction", passer).await;
    assert_eq!(first["dossier"]["state"], "en_instruction");
    assert_eq!(only_error(&again), "Le dossier est déjà en instruction");

    let accepter = input(dossier, INSTRUCTEUR, &json!({"motivation": "Complet."}));
    change_state(&app, TOKEN, "dossierAccepter", accepter.clone()).await;
    let again = change_state(&app, TOKEN, "dossierAccepter", accepter).await;
    assert_eq!(only_error(&again), "Le dossier est déjà accepté");
    let dataset = app.sandbox.dataset();
    let (_, stored) = dataset.dossier(dossier).expect("still served");
    assert_eq!(stored.motivation.as_deref(), Some("Complet."));
    assert!(stored.processed_at.is_some());
}

#[tokio::test]
async fn queries_see_what_mutations_changed() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnInstruction);
    let before = chrono::Utc::now().to_rfc3339();
    let refuser = input(
        dossier,
        INSTRUCTEUR,
        &json!({"motivation": "Non éligible."}),
    );
    change_state(&app, TOKEN, "dossierRefuser", refuser).await;

    let query = "query($n: Int!) { dossier(number: $n) { state motivation dateTraitement } }";
    let answer = app
        .query(TOKEN, query, json!({ "n": dossier }))
        .await
        .json();
    assert_eq!(answer["data"]["dossier"]["state"], "refuse");
    assert_eq!(answer["data"]["dossier"]["motivation"], "Non éligible.");
    assert!(answer["data"]["dossier"]["dateTraitement"].is_string());

    let listing = "query($since: ISO8601DateTime) { demarche(number: 4242) { dossiers(state: refuse, updatedSince: $since) { nodes { number } } } }";
    let answer = app
        .query(TOKEN, listing, json!({ "since": before }))
        .await
        .json();
    let numbers: Vec<i64> = answer["data"]["demarche"]["dossiers"]["nodes"]
        .as_array()
        .expect("a page")
        .iter()
        .filter_map(|node| node["number"].as_i64())
        .collect();
    assert_eq!(numbers, [dossier], "{answer}");
}

#[tokio::test]
async fn refusing_without_a_motivation_is_refused_by_the_schema() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnInstruction);
    let query = "mutation($input: DossierRefuserInput!) { dossierRefuser(input: $input) { errors { message } } }";
    let answer = app
        .query(
            TOKEN,
            query,
            json!({ "input": input(dossier, INSTRUCTEUR, &json!({})) }),
        )
        .await
        .json();
    assert!(answer.get("data").is_none(), "{answer}");
    assert!(answer["errors"][0]["message"].is_string());
    assert_eq!(
        app.sandbox.dataset().dossier_state(dossier),
        Some(DossierState::EnInstruction)
    );
}

#[tokio::test]
async fn an_instructeur_of_another_demarche_or_an_unknown_one_has_no_access() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnConstruction);
    for instructeur in [OTHER_INSTRUCTEUR, 99_999] {
        let payload = change_state(
            &app,
            TOKEN,
            "dossierPasserEnInstruction",
            input(dossier, instructeur, &json!({})),
        )
        .await;
        assert_eq!(
            only_error(&payload),
            "L’instructeur n’a pas les droits d’accès à ce dossier"
        );
    }
    assert_eq!(
        app.sandbox.dataset().dossier_state(dossier),
        Some(DossierState::EnConstruction)
    );
}

#[tokio::test]
async fn an_unknown_dossier_id_is_a_top_level_not_found() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = "mutation($input: DossierPasserEnInstructionInput!) { dossierPasserEnInstruction(input: $input) { errors { message } } }";
    let answer = app
        .query(
            TOKEN,
            query,
            json!({ "input": input(1, INSTRUCTEUR, &json!({})) }),
        )
        .await
        .json();
    assert_eq!(answer["data"]["dossierPasserEnInstruction"], Value::Null);
    assert_eq!(answer["errors"][0]["message"], "Dossier not found");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "not_found");
}

#[tokio::test]
async fn a_read_only_token_gets_the_payload_error_and_changes_nothing() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnConstruction);
    let payload = change_state(
        &app,
        "read-only-token",
        "dossierPasserEnInstruction",
        input(dossier, INSTRUCTEUR, &json!({})),
    )
    .await;
    assert_eq!(
        only_error(&payload),
        "Le jeton utilisé est configuré seulement en lecture"
    );
    assert_eq!(
        app.sandbox.dataset().dossier_state(dossier),
        Some(DossierState::EnConstruction)
    );
    let read = "query($n: Int!) { dossier(number: $n) { state } }";
    let answer = app
        .query("read-only-token", read, json!({ "n": dossier }))
        .await
        .json();
    assert_eq!(answer["data"]["dossier"]["state"], "en_construction");
}

#[tokio::test]
async fn a_message_is_stored_and_read_back_with_the_dossier() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::Accepte);
    let document = reference_query("docs_dossierEnvoyerMessage.graphql");
    let variables = json!({ "input": input(dossier, INSTRUCTEUR, &json!({"body": "Bonjour !"})) });
    let answer = app.query(TOKEN, &document, variables).await.json();
    let sent = &answer["data"]["dossierEnvoyerMessage"];
    assert_eq!(sent["errors"], Value::Null, "{answer}");
    let id = sent["message"]["id"].as_str().expect("a message id");

    let dataset = app.sandbox.dataset();
    let stored = dataset.dossier_messages(dossier).expect("served");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, "Bonjour !");
    assert_eq!(stored[0].email, "instruction.associations@example.org");
    assert_eq!(stored[0].correction, None);
    assert_eq!(dataset.dossier_state(dossier), Some(DossierState::Accepte));

    let read = "query($n: Int!) { dossier(number: $n) { messages { id body createdAt email } } }";
    let answer = app.query(TOKEN, read, json!({ "n": dossier })).await.json();
    let messages = &answer["data"]["dossier"]["messages"];
    assert_eq!(messages[0]["id"], id);
    assert_eq!(messages[0]["body"], "Bonjour !");
    assert_eq!(messages[0]["email"], "instruction.associations@example.org");
    assert!(messages[0]["createdAt"].is_string());
}

#[tokio::test]
async fn a_correction_request_sends_the_dossier_back_to_construction() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnInstruction);
    let query = "mutation($input: DossierEnvoyerMessageInput!) { dossierEnvoyerMessage(input: $input) { message { id body correction { reason } } errors { message } } }";
    let extra = json!({"body": "Il manque le RIB.", "correction": "incomplete"});
    let answer = app
        .query(
            TOKEN,
            query,
            json!({ "input": input(dossier, INSTRUCTEUR, &extra) }),
        )
        .await
        .json();
    let message = &answer["data"]["dossierEnvoyerMessage"]["message"];
    assert_eq!(message["correction"]["reason"], "incomplete", "{answer}");

    let dataset = app.sandbox.dataset();
    assert_eq!(
        dataset.dossier_state(dossier),
        Some(DossierState::EnConstruction)
    );
    let (_, stored) = dataset.dossier(dossier).expect("served");
    assert_eq!(
        stored.pending_correction,
        Some(CorrectionReason::Incomplete)
    );
    assert_eq!(
        stored.messages[0].correction,
        Some(CorrectionReason::Incomplete)
    );
}

#[tokio::test]
async fn a_message_from_an_instructeur_without_access_is_refused() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnInstruction);
    let query = "mutation($input: DossierEnvoyerMessageInput!) { dossierEnvoyerMessage(input: $input) { message { id } errors { message } } }";
    let extra = json!({"body": "Bonjour"});
    let answer = app
        .query(
            TOKEN,
            query,
            json!({ "input": input(dossier, OTHER_INSTRUCTEUR, &extra) }),
        )
        .await
        .json();
    let payload = &answer["data"]["dossierEnvoyerMessage"];
    assert_eq!(payload["message"], Value::Null);
    assert_eq!(
        payload["errors"][0]["message"],
        "L’instructeur n’a pas les droits d’accès à ce dossier"
    );
    assert_eq!(
        app.sandbox.dataset().dossier_messages(dossier),
        Some(&[][..])
    );
}

fn label_input(dossier: i64, label: i64) -> Value {
    json!({ "input": {
        "dossierId": global_id("Dossier", dossier),
        "labelId": global_id("Label", label),
    }})
}

#[tokio::test]
async fn labels_are_added_and_removed_with_both_label_errors() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let dossier = first_in(&app, DossierState::EnInstruction);
    let add = reference_query("docs_dossierAjouterLabel.graphql");
    let remove = reference_query("docs_dossierSupprimerLabel.graphql");

    let answer = app
        .query(TOKEN, &add, label_input(dossier, SPARE_LABEL))
        .await
        .json();
    let payload = &answer["data"]["dossierAjouterLabel"];
    assert_eq!(payload["errors"], Value::Null, "{answer}");
    assert_eq!(payload["label"]["name"], "Dossier prioritaire");
    let names: Vec<&str> = payload["dossier"]["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(|label| label["name"].as_str())
        .collect();
    assert!(names.contains(&"Dossier prioritaire"), "{names:?}");
    let on: Vec<i64> = labels_of(&app, dossier);
    assert!(on.contains(&SPARE_LABEL));

    let answer = app
        .query(TOKEN, &add, label_input(dossier, SPARE_LABEL))
        .await
        .json();
    assert_eq!(
        answer["data"]["dossierAjouterLabel"]["errors"][0]["message"],
        "Ce label est déjà associé au dossier"
    );

    let answer = app
        .query(TOKEN, &add, label_input(dossier, OTHER_DEMARCHE_LABEL))
        .await
        .json();
    assert_eq!(
        answer["data"]["dossierAjouterLabel"]["errors"][0]["message"],
        "Ce label n’appartient pas à la même démarche que le dossier"
    );

    let answer = app
        .query(TOKEN, &remove, label_input(dossier, SPARE_LABEL))
        .await
        .json();
    assert_eq!(
        answer["data"]["dossierSupprimerLabel"]["errors"],
        Value::Null,
        "{answer}"
    );
    assert_eq!(
        answer["data"]["dossierSupprimerLabel"]["label"]["name"],
        "Dossier prioritaire"
    );
    assert!(!labels_of(&app, dossier).contains(&SPARE_LABEL));

    let answer = app
        .query(TOKEN, &remove, label_input(dossier, SPARE_LABEL))
        .await
        .json();
    let payload = &answer["data"]["dossierSupprimerLabel"];
    assert_eq!(payload["dossier"], Value::Null);
    assert_eq!(
        payload["errors"][0]["message"],
        "Ce label n’est pas associé au dossier"
    );
}

fn labels_of(app: &TestSandbox, dossier: i64) -> Vec<i64> {
    app.sandbox
        .dataset()
        .dossier_labels(dossier)
        .expect("served")
        .iter()
        .map(|label| label.number)
        .collect()
}

#[tokio::test]
async fn the_demarche_lists_its_labels_and_its_instructeurs() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = "query($n: Int!) { demarche(number: $n) { labels { id name color } groupeInstructeurs { instructeurs { id email } } } }";
    let answer = app
        .query(TOKEN, query, json!({ "n": SMALL_DEMARCHE }))
        .await
        .json();
    let demarche = &answer["data"]["demarche"];
    let label_ids: Vec<&str> = demarche["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(|label| label["id"].as_str())
        .collect();
    assert_eq!(
        label_ids,
        [global_id("Label", 504), global_id("Label", 505)]
    );
    assert_eq!(
        demarche["groupeInstructeurs"][0]["instructeurs"],
        json!([{ "id": global_id("Instructeur", OTHER_INSTRUCTEUR), "email": "manifestations@example.org" }])
    );
}
