//! Integration tests of the client against the real local Pulp (`make pulp-up`), in both
//! layouts: plain (`/pulp/api/v3/`) and hosted (`/api/pulp/<domain>/api/v3/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scenarios;

macro_rules! layout_tests {
    ($layout:ident) => {
        mod $layout {
            use crate::scenarios;

            fn pulp() -> wheelgate_testkit::LocalPulp {
                wheelgate_testkit::LocalPulp::new(stringify!($layout))
            }

            #[tokio::test]
            async fn chunked_upload_modify_serve_unpin() {
                scenarios::chunked_upload_modify_serve_unpin(&pulp()).await;
            }

            #[tokio::test]
            async fn wrong_sha256_fails_as_typed_task_error() {
                scenarios::wrong_sha256_fails_as_typed_task_error(&pulp()).await;
            }

            #[tokio::test]
            async fn validation_errors_carry_field_errors() {
                scenarios::validation_errors_carry_field_errors(&pulp()).await;
            }

            #[tokio::test]
            async fn pagination_of_250_units() {
                scenarios::pagination_of_250_units(&pulp()).await;
            }

            #[tokio::test]
            async fn packages_by_name_of_a_version() {
                scenarios::packages_by_name_of_a_version(&pulp()).await;
            }

            #[tokio::test]
            async fn wrong_password_is_a_clear_401() {
                scenarios::wrong_password_is_a_clear_401(&pulp()).await;
            }

            #[tokio::test]
            async fn pulp_cli_profile_is_read() {
                scenarios::pulp_cli_profile_is_read(&pulp()).await;
            }

            #[tokio::test]
            async fn labels_tasks_and_noop_modify() {
                scenarios::labels_tasks_and_noop_modify(&pulp()).await;
            }

            #[tokio::test]
            async fn sync_upload_is_idempotent_by_sha256() {
                scenarios::sync_upload_is_idempotent_by_sha256(&pulp()).await;
            }

            #[tokio::test]
            async fn session_covers_every_method_then_logout() {
                scenarios::session_covers_every_method_then_logout(&pulp()).await;
            }

            #[tokio::test]
            async fn guards_and_remotes() {
                scenarios::guards_and_remotes(&pulp()).await;
            }
        }
    };
}

layout_tests!(plain);
layout_tests!(hosted);
