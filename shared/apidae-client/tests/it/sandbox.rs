//! The client against the sandbox's Apidae stand-in: both ends agree on the token
//! exchange, the form body, the trailing slash and the answers.

use apidae_client::{
    ApidaeClient, ApidaeEndpoint, DeleteBatch, Descriptor, ObjectDescriptors, ObjectRemovals,
    PutBatch, WriteStatus,
};
use rate_gate::RateGate;
use sandbox::apidae::{PATH_PREFIX, TOKEN_PATH};
use sandbox::{ApidaeConfig, ApidaeFault, ApidaeProject, Sandbox, SandboxConfig, TechnicalNames};
use settings::RateLimit;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

async fn start(apidae: ApidaeConfig) -> Sandbox {
    let config = SandboxConfig {
        apidae,
        ..SandboxConfig::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox starts")
}

fn client(sandbox: &Sandbox) -> ApidaeClient {
    let project = ApidaeProject::sandbox();
    ApidaeClient::new(
        ApidaeEndpoint {
            base_url: format!("{}{PATH_PREFIX}", sandbox.base_url())
                .parse()
                .expect("a base url"),
            token_url: format!("{}{TOKEN_PATH}", sandbox.base_url())
                .parse()
                .expect("a token url"),
            client_id: project.client_id,
            client_secret: project.client_secret,
            timeout: Duration::from_secs(5),
        },
        Arc::new(RateGate::local(RateLimit {
            requests: NonZeroU32::new(100).expect("non-zero"),
            per: Duration::from_secs(1),
            burst: NonZeroU32::new(100).expect("non-zero"),
        })),
    )
    .expect("a usable endpoint")
}

fn put_batch(ids: &[u64], name: &str) -> PutBatch {
    PutBatch::new(
        ids.iter()
            .map(|&id| ObjectDescriptors {
                id,
                descriptors: vec![Descriptor {
                    technical_name: name.into(),
                    texts: BTreeMap::from([
                        ("fr".to_owned(), format!("Gîte n°{id} – été")),
                        ("en".to_owned(), format!("Cottage {id}")),
                    ]),
                }],
            })
            .collect(),
    )
    .expect("a valid batch")
}

fn first_known(sandbox: &Sandbox, count: usize) -> Vec<u64> {
    sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(count)
        .collect()
}

#[tokio::test]
async fn puts_and_deletes_round_trip_with_unknown_ids_reported() {
    let sandbox = start(ApidaeConfig::default()).await;
    let client = client(&sandbox);
    let mut ids = first_known(&sandbox, 49);
    ids.push(42);
    let batch = put_batch(&ids, "1_ChampPrive");
    let report = client.put_descriptors(&batch).await.expect("a success");
    assert_eq!(report.status, WriteStatus::Modified);
    assert_eq!(report.updated, ids[..49].to_vec());
    assert_eq!(report.ignored(&batch.ids()), vec![42]);
    let stored = sandbox.apidae().descriptors_of(ids[0]);
    assert_eq!(
        stored["1_ChampPrive"],
        BTreeMap::from([
            ("libelleFr".to_owned(), format!("Gîte n°{} – été", ids[0])),
            ("libelleEn".to_owned(), format!("Cottage {}", ids[0])),
        ])
    );

    let removals = DeleteBatch::new(vec![ObjectRemovals {
        id: ids[0],
        technical_names: vec!["1_ChampPrive".into()],
    }])
    .expect("a valid batch");
    let report = client
        .delete_descriptors(&removals)
        .await
        .expect("a success");
    assert_eq!(report.status, WriteStatus::Deleted);
    assert!(sandbox.apidae().descriptors_of(ids[0]).is_empty());
    assert_eq!(sandbox.apidae().stored().len(), 48);
    assert_eq!(sandbox.apidae().token_calls(), 1);
    assert_eq!(sandbox.apidae().write_calls(), 2);
}

#[tokio::test]
async fn expired_tokens_are_refreshed_once() {
    let sandbox = start(ApidaeConfig::default()).await;
    let client = client(&sandbox);
    let ids = first_known(&sandbox, 1);
    client
        .put_descriptors(&put_batch(&ids, "a"))
        .await
        .expect("a success");
    sandbox.apidae().expire_tokens();
    client
        .put_descriptors(&put_batch(&ids, "b"))
        .await
        .expect("a success after one refresh");
    assert_eq!(sandbox.apidae().token_calls(), 2);
    assert_eq!(sandbox.apidae().write_calls(), 3);
}

#[tokio::test]
async fn refusals_and_error_pages_are_classified() {
    let sandbox = start(ApidaeConfig {
        clients: vec![ApidaeProject {
            technical_names: TechnicalNames::Only(BTreeSet::from(["mine".to_owned()])),
            ..ApidaeProject::sandbox()
        }],
        ..ApidaeConfig::default()
    })
    .await;
    let client = client(&sandbox);
    let ids = first_known(&sandbox, 1);
    let error = client
        .put_descriptors(&put_batch(&ids, "theirs"))
        .await
        .expect_err("forbidden");
    assert!(
        matches!(
            &error,
            UpstreamError::Permanent {
                reason: PermanentReason::Forbidden,
                code: Some(code),
                ..
            } if code == "ECRITURE_FORBIDDEN"
        ),
        "{error:?}"
    );
    for fault in [ApidaeFault::HtmlUnavailable, ApidaeFault::PlainUnavailable] {
        sandbox.apidae().fail_next_writes(fault, 1);
        let error = client
            .put_descriptors(&put_batch(&ids, "mine"))
            .await
            .expect_err("an error page");
        assert!(
            matches!(
                error,
                UpstreamError::Transient {
                    reason: TransientReason::ServerError,
                    ..
                }
            ),
            "{error:?}"
        );
    }
    assert!(sandbox.apidae().stored().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let sandbox = start(ApidaeConfig {
        clients: vec![ApidaeProject::writer(
            "sandbox-apidae-client",
            "another-secret",
        )],
        ..ApidaeConfig::default()
    })
    .await;
    let error = client(&sandbox)
        .put_descriptors(&put_batch(&[1], "a"))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            error,
            UpstreamError::Permanent {
                reason: PermanentReason::Unauthorized,
                ..
            }
        ),
        "{error:?}"
    );
}
