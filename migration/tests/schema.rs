//! Applies the migrations to real SQLite and PostgreSQL databases and round-trips every entity
//! through the resulting schema.
//!
//! The body, [`exercise`], is written once and run against both backends, because the point is
//! that one schema definition behaves the same on both.
//!
//! PostgreSQL is reached at `CHIFFON_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each run creates and drops its own database.

use chiffon_entity::prelude::*;
use chiffon_entity::{
    AgentKind, AgentStatus, ApprovalDecision, PlanStatus, RequestStatus, RiskLevel, StepAction,
    StepStatus, SuggestionCategory, SuggestionSeverity, SuggestionStatus, agent, approval,
    catalog_issue, catalog_playbook, event, plan, request, step, suggestion,
};
use chiffon_migration::{Migrator, MigratorTrait, SchemaManager};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, ModelTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
    SqlErr, Statement,
};
use serde_json::json;
use uuid::Uuid;

/// Every table the migrations create.
const TABLES: [&str; 9] = [
    "requests",
    "plans",
    "steps",
    "approvals",
    "agents",
    "catalog_playbooks",
    "catalog_issues",
    "events",
    "suggestions",
];

#[tokio::test]
async fn sqlite_schema_round_trips() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A file rather than `:memory:` so the test runs the same way `chiffon dev` stores state.
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("chiffon.db").display()
    );
    let db = Database::connect(&url).await.expect("open sqlite");
    exercise(&db).await;
    db.close().await.expect("close sqlite");
}

#[tokio::test]
async fn postgres_schema_round_trips() {
    let scratch = ScratchPostgres::create().await;
    let db = Database::connect(&scratch.url)
        .await
        .expect("connect to scratch database");
    exercise(&db).await;
    db.close().await.expect("close postgres");
}

/// The backend-independent test body.
async fn exercise(db: &DatabaseConnection) {
    // A catalog row written under the initial schema must survive the later migrations.
    Migrator::up(db, Some(1))
        .await
        .expect("migrate up to the initial schema");
    let legacy = insert_initial_schema_playbook(db).await;
    Migrator::up(db, Some(1))
        .await
        .expect("migrate up to catalog details");
    let legacy_request = insert_pre_actions_request(db).await;
    Migrator::up(db, None).await.expect("migrate up");
    rows_from_the_initial_schema_get_empty_details(db, legacy).await;
    requests_from_before_run_options_run_without_options(db, legacy_request).await;
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("pending migrations")
            .is_empty()
    );
    assert_tables(db, true).await;
    assert_column_types(db).await;

    round_trip_rows(db).await;
    unique_constraints_hold(db).await;
    cascades_follow_foreign_keys(db).await;

    Migrator::down(db, None).await.expect("migrate down");
    assert_tables(db, false).await;

    Migrator::up(db, None).await.expect("migrate up again");
    assert_tables(db, true).await;
    assert_eq!(Request::find().count(db).await.expect("count"), 0);
    // The re-created schema is usable, not just present.
    Request::insert(new_request(Uuid::new_v4(), now()))
        .exec(db)
        .await
        .expect("insert after re-migration");
}

async fn assert_tables(db: &DatabaseConnection, present: bool) {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        assert_eq!(
            manager.has_table(table).await.expect("has_table"),
            present,
            "table {table} present"
        );
    }
}

/// The portable builders resolved to the intended native types on each backend.
async fn assert_column_types(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let expected: &[(&str, &str, &str, &str)] = &[
        // (table, column, PostgreSQL type, SQLite declared type)
        ("steps", "result", "bytea", "blob"),
        ("events", "task_event", "bytea", "blob"),
        ("steps", "extra_vars", "jsonb", "jsonb_text"),
        (
            "requests",
            "created_at",
            "timestamp with time zone",
            "timestamp_with_timezone_text",
        ),
        ("steps", "work_id", "uuid", "uuid_text"),
        ("events", "id", "bigint", "integer"),
        ("steps", "status", "character varying", "varchar(32)"),
        ("catalog_playbooks", "compose_stacks", "jsonb", "jsonb_text"),
        ("catalog_issues", "line", "integer", "integer"),
        ("steps", "action", "character varying", "varchar(32)"),
        ("steps", "run_options", "jsonb", "jsonb_text"),
        ("requests", "rerun_of_request_id", "uuid", "uuid_text"),
        ("suggestions", "line", "bigint", "integer"),
        ("suggestions", "commit", "jsonb", "jsonb_text"),
        ("catalog_playbooks", "parts", "jsonb", "jsonb_text"),
        ("agents", "inventories", "jsonb", "jsonb_text"),
        ("steps", "risk_reason", "text", "text"),
        ("steps", "hosts", "jsonb", "jsonb_text"),
    ];
    for &(table, column, postgres, sqlite) in expected {
        let (sql, want) = match backend {
            DbBackend::Postgres => (
                format!(
                    "SELECT data_type AS ty FROM information_schema.columns \
                     WHERE table_schema = current_schema() \
                     AND table_name = '{table}' AND column_name = '{column}'"
                ),
                postgres,
            ),
            DbBackend::Sqlite => (
                format!(
                    "SELECT type AS ty FROM pragma_table_info('{table}') WHERE name = '{column}'"
                ),
                sqlite,
            ),
            other => panic!("unsupported backend {other:?}"),
        };
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .expect("column type query")
            .unwrap_or_else(|| panic!("{table}.{column} missing"));
        let got: String = row.try_get("", "ty").expect("column type");
        // SQLite reports some declared types upper-cased.
        assert!(
            got.eq_ignore_ascii_case(want),
            "type of {table}.{column}: {got}, expected {want}"
        );
    }
}

/// Inserts one row of every entity, reads each back and compares it field for field.
async fn round_trip_rows(db: &DatabaseConnection) {
    let at = now();
    let request_id = Uuid::new_v4();

    let request = new_request(request_id, at)
        .insert(db)
        .await
        .expect("request");
    let request = request::ActiveModel {
        status: Set(RequestStatus::Running),
        finished_at: Set(Some(at + Duration::seconds(90))),
        last_event_sequence: Set(2),
        ..request.into()
    }
    .update(db)
    .await
    .expect("update request");
    assert_eq!(
        Request::find_by_id(request_id).one(db).await.expect("find"),
        Some(request.clone())
    );
    // The stored value is the documented wire string, not the Rust variant name.
    let status: Vec<String> = Request::find()
        .select_only()
        .column(request::Column::Status)
        .into_tuple()
        .all(db)
        .await
        .expect("raw status");
    assert_eq!(status, ["running"]);

    let plan = plan::ActiveModel {
        id: Set(Uuid::new_v4()),
        request_id: Set(request_id),
        revision: Set(1),
        status: Set(PlanStatus::Approved),
        summary: Set("Deploy Uptime Kuma, then add the portals.".into()),
        content_hash: Set("sha256:0f1e2d".into()),
        feedback: Set(String::new()),
        planner: Set("rules".into()),
        created_at: Set(at),
    };
    let plan = plan.insert(db).await.expect("plan");
    assert_eq!(
        Plan::find_by_id(plan.id).one(db).await.expect("find"),
        Some(plan.clone())
    );

    let step = step::ActiveModel {
        id: Set(Uuid::new_v4()),
        plan_id: Set(plan.id),
        request_id: Set(request_id),
        position: Set(1),
        title: Set("Configure monitors".into()),
        rationale: Set("Kuma must know the existing portals.".into()),
        agent_kind: Set(AgentKind::Desktop),
        playbook: Set("playbooks/kuma-config.yml".into()),
        custom_playbook_needed: Set(true),
        depends_on: Set(json!([0])),
        risk: Set(RiskLevel::High),
        risk_reason: Set("runs all 107 roles of nas.yml for one service".into()),
        hosts: Set(json!(["nas.lan", "media.lan"])),
        roles: Set(json!(["common", "uptime_kuma_monitors"])),
        estimated_seconds: Set(5_000_000_000),
        extra_vars: Set(json!({"portals": ["a", "b"], "nested": {"n": 1.5, "t": true}})),
        status: Set(StepStatus::Failed),
        attempt: Set(2),
        work_id: Set(Some(Uuid::new_v4())),
        agent_id: Set(Some("desktop-1".into())),
        instance_id: Set(Some("inst-42".into())),
        queued_at: Set(Some(at)),
        started_at: Set(Some(at + Duration::milliseconds(1500))),
        finished_at: Set(Some(at + Duration::seconds(30))),
        exit_code: Set(Some(2)),
        error: Set(Some("unreachable: kuma.lan".into())),
        // Includes bytes that are not valid UTF-8 and a NUL, as protobuf output may.
        result: Set(Some(vec![
            0x08, 0x00, 0xff, 0xfe, 0x12, 0x03, b'a', b'b', b'c',
        ])),
        action: Set(StepAction::GenerateTemplate),
        run_options: Set(json!({"limit": "nas,kuma", "tags": ["a"], "check_mode": true})),
        suggestion_id: Set(Some("infra-nas:0123456789abcdef".into())),
        template: Set(Some(json!({"service": "Grafana", "port": 3000}))),
    };
    let step = step.insert(db).await.expect("step");
    assert_eq!(
        Step::find_by_id(step.id).one(db).await.expect("find"),
        Some(step.clone())
    );

    // The same entity with every optional column empty.
    let pending = step::ActiveModel {
        id: Set(Uuid::new_v4()),
        position: Set(0),
        agent_kind: Set(AgentKind::Infra),
        custom_playbook_needed: Set(false),
        depends_on: Set(json!([])),
        risk: Set(RiskLevel::Low),
        extra_vars: Set(json!({})),
        status: Set(StepStatus::Pending),
        attempt: Set(0),
        work_id: Set(None),
        agent_id: Set(None),
        instance_id: Set(None),
        queued_at: Set(None),
        started_at: Set(None),
        finished_at: Set(None),
        exit_code: Set(None),
        error: Set(None),
        result: Set(None),
        action: Set(StepAction::RunPlaybook),
        run_options: Set(json!({})),
        suggestion_id: Set(None),
        template: Set(None),
        ..step.clone().into()
    };
    let pending = pending.insert(db).await.expect("pending step");
    assert_eq!(
        Step::find_by_id(pending.id).one(db).await.expect("find"),
        Some(pending)
    );

    let approval = approval::ActiveModel {
        id: Set(Uuid::new_v4()),
        plan_id: Set(plan.id),
        request_id: Set(request_id),
        revision: Set(1),
        content_hash: Set(plan.content_hash.clone()),
        decision: Set(ApprovalDecision::RevisionRequested),
        decided_by: Set("alice".into()),
        comment: Set("Also add the NAS portal.".into()),
        created_at: Set(at),
    };
    let approval = approval.insert(db).await.expect("approval");
    assert_eq!(
        plan.find_related(Approval).one(db).await.expect("related"),
        Some(approval.clone())
    );

    let agent = agent::ActiveModel {
        id: Set("infra-01.lan".into()),
        kind: Set(AgentKind::Infra),
        hostname: Set("infra-01".into()),
        version: Set("0.1.0".into()),
        instance_id: Set(Uuid::new_v4().to_string()),
        status: Set(AgentStatus::Offline),
        registered_at: Set(at - Duration::days(3)),
        last_seen_at: Set(at),
        inventories: Set(json!([{
            "name": "staging",
            "source": "inventories/staging/hosts.ini",
            "is_default": true,
            "groups": [{"name": "media", "hosts": ["jelly.lan"], "children": []}],
            "error": "",
        }])),
    };
    let agent = agent.insert(db).await.expect("agent");
    assert_eq!(
        Agent::find_by_id(agent.id.clone())
            .one(db)
            .await
            .expect("find"),
        Some(agent.clone())
    );

    let playbook = catalog_playbook::ActiveModel {
        id: Set(Uuid::new_v4()),
        agent_id: Set(agent.id.clone()),
        path: Set("playbooks/kuma.yml".into()),
        name: Set("Deploy Uptime Kuma".into()),
        hosts: Set(json!(["homelab", "localhost"])),
        tags: Set(json!(["monitoring"])),
        description: Set("Runs Uptime Kuma in a container.".into()),
        roles: Set(json!(["common", "uptime_kuma"])),
        services: Set(json!(["uptime-kuma"])),
        compose_stacks: Set(json!([{
            "path": "roles/uptime_kuma/templates/docker-compose.yml.j2",
            "services": ["uptime-kuma"],
            "images": ["louislam/uptime-kuma:1"],
        }])),
        templates: Set(json!(["roles/uptime_kuma/templates/docker-compose.yml.j2"])),
        variables: Set(json!([{
            "name": "uptime_kuma_port",
            "default_source": "roles/uptime_kuma/defaults/main.yml",
            "default_value": "3001",
        }])),
        plays: Set(json!(["Deploy Uptime Kuma"])),
        play_details: Set(json!([{
            "name": "Deploy Uptime Kuma",
            "path": "playbooks/kuma.yml",
            "host_pattern": "homelab",
            "tags": ["monitoring"],
            "roles": ["common", "uptime_kuma"],
            "targets": [{"inventory": "default", "groups": ["homelab"], "hosts": ["kuma.lan"]}],
        }])),
        parts: Set(json!([{"name": "uptime_kuma", "tags": ["kuma"], "play_indexes": [0]}])),
        tasks: Set(json!(["Write the compose file", "Start the stack"])),
        handlers: Set(json!(["Restart Uptime Kuma"])),
    };
    let playbook = playbook.insert(db).await.expect("catalog playbook");
    assert_eq!(
        agent
            .find_related(CatalogPlaybook)
            .all(db)
            .await
            .expect("related"),
        [playbook]
    );

    let issue = catalog_issue::ActiveModel {
        id: Set(Uuid::new_v4()),
        agent_id: Set(agent.id.clone()),
        path: Set("playbooks/broken.yml".into()),
        line: Set(4),
        message: Set("invalid YAML: did not find expected key — ✗".into()),
    };
    let issue = issue.insert(db).await.expect("catalog issue");
    round_trip_suggestions(db, &agent.id, request_id).await;
    assert_eq!(
        agent
            .find_related(CatalogIssue)
            .all(db)
            .await
            .expect("related"),
        [issue]
    );

    let with_payloads = new_event(request_id, 1, Some(format!("event:{}:1", Uuid::new_v4())));
    let with_payloads = event::ActiveModel {
        step_id: Set(Some(step.id)),
        task_event: Set(Some(vec![0x0a, 0x00, 0x80])),
        work_result: Set(Some(Vec::new())),
        ends_request: Set(true),
        ..with_payloads
    }
    .insert(db)
    .await
    .expect("event");
    let bare = new_event(request_id, 2, None)
        .insert(db)
        .await
        .expect("event");
    assert!(bare.id > with_payloads.id, "ids are assigned in order");
    assert_eq!(
        request
            .find_related(Event)
            .order_by_asc(event::Column::Sequence)
            .all(db)
            .await
            .expect("related"),
        [with_payloads, bare]
    );
}

/// The constraints the orchestrator relies on for idempotency reject duplicates.
async fn unique_constraints_hold(db: &DatabaseConnection) {
    let request_id = Uuid::new_v4();
    new_request(request_id, now())
        .insert(db)
        .await
        .expect("request");
    let key = format!("event:{}:7", Uuid::new_v4());
    new_event(request_id, 1, Some(key.clone()))
        .insert(db)
        .await
        .expect("first event");

    let same_sequence = new_event(request_id, 1, None).insert(db).await;
    assert_unique_violation(same_sequence, "(request_id, sequence)");

    let same_key = new_event(request_id, 2, Some(key)).insert(db).await;
    assert_unique_violation(same_key, "dedupe_key");

    // Events without a dedupe key never collide with each other.
    new_event(request_id, 2, None)
        .insert(db)
        .await
        .expect("no key");
    new_event(request_id, 3, None)
        .insert(db)
        .await
        .expect("no key");

    let plan_id = Uuid::new_v4();
    plan::ActiveModel {
        id: Set(plan_id),
        request_id: Set(request_id),
        revision: Set(1),
        status: Set(PlanStatus::Proposed),
        summary: Set(String::new()),
        content_hash: Set(String::new()),
        feedback: Set(String::new()),
        planner: Set(String::new()),
        created_at: Set(now()),
    }
    .insert(db)
    .await
    .expect("plan");
    let duplicate_revision = plan::ActiveModel {
        id: Set(Uuid::new_v4()),
        request_id: Set(request_id),
        revision: Set(1),
        status: Set(PlanStatus::Proposed),
        summary: Set(String::new()),
        content_hash: Set(String::new()),
        feedback: Set(String::new()),
        planner: Set(String::new()),
        created_at: Set(now()),
    }
    .insert(db)
    .await;
    assert_unique_violation(duplicate_revision, "(request_id, revision)");
}

/// Deleting a request or an agent removes everything hanging off it (SQLite included, where
/// foreign keys are only enforced when the connection enables them).
async fn cascades_follow_foreign_keys(db: &DatabaseConnection) {
    for request in Request::find().all(db).await.expect("requests") {
        request.delete(db).await.expect("delete request");
    }
    assert_eq!(Plan::find().count(db).await.expect("count"), 0);
    assert_eq!(Step::find().count(db).await.expect("count"), 0);
    assert_eq!(Approval::find().count(db).await.expect("count"), 0);
    assert_eq!(Event::find().count(db).await.expect("count"), 0);

    Agent::delete_many().exec(db).await.expect("delete agents");
    assert_eq!(CatalogPlaybook::find().count(db).await.expect("count"), 0);
    assert_eq!(CatalogIssue::find().count(db).await.expect("count"), 0);

    // An orphan is refused rather than stored.
    let orphan = new_event(Uuid::new_v4(), 1, None).insert(db).await;
    assert!(
        matches!(
            orphan.as_ref().map_err(DbErr::sql_err),
            Err(Some(SqlErr::ForeignKeyConstraintViolation(_)))
        ),
        "orphan event: {orphan:?}"
    );
}

/// Writes an agent and a catalog row with the initial schema's columns only (the entities
/// already have more), as a database created before the second migration holds them.
async fn insert_initial_schema_playbook(db: &DatabaseConnection) -> Uuid {
    let at = now();
    let agent = Query::insert()
        .into_table(Alias::new("agents"))
        .columns(
            [
                "id",
                "kind",
                "hostname",
                "version",
                "instance_id",
                "status",
                "registered_at",
                "last_seen_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            "legacy-agent".into(),
            "infra".into(),
            "nas".into(),
            "0.0.1".into(),
            Uuid::new_v4().to_string().into(),
            "online".into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    db.execute(&agent)
        .await
        .expect("agent under the initial schema");
    let id = Uuid::new_v4();
    let insert = Query::insert()
        .into_table(Alias::new("catalog_playbooks"))
        .columns(
            [
                "id",
                "agent_id",
                "path",
                "name",
                "hosts",
                "tags",
                "description",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.into(),
            "legacy-agent".into(),
            "playbooks/old.yml".into(),
            "Old".into(),
            json!(["all"]).into(),
            json!([]).into(),
            "Written before catalog details existed.".into(),
        ])
        .to_owned();
    db.execute(&insert)
        .await
        .expect("catalog row under the initial schema");
    id
}

async fn rows_from_the_initial_schema_get_empty_details(db: &DatabaseConnection, id: Uuid) {
    let row = CatalogPlaybook::find_by_id(id)
        .one(db)
        .await
        .expect("read the old row through the new entity")
        .expect("the old row is still there");
    assert_eq!(row.hosts, json!(["all"]));
    for details in [
        &row.roles,
        &row.services,
        &row.compose_stacks,
        &row.templates,
        &row.variables,
        &row.plays,
        &row.play_details,
        &row.parts,
        &row.tasks,
    ] {
        assert_eq!(details, &json!([]), "{row:?}");
    }
    let agent = Agent::find_by_id("legacy-agent")
        .one(db)
        .await
        .expect("read the legacy agent")
        .expect("the legacy agent is there");
    assert_eq!(agent.inventories, json!([]));
    Agent::delete_by_id("legacy-agent")
        .exec(db)
        .await
        .expect("delete the legacy agent");
}

/// Writes a request with the columns it had before run options existed.
async fn insert_pre_actions_request(db: &DatabaseConnection) -> Uuid {
    let id = Uuid::new_v4();
    let at = now();
    let insert = Query::insert()
        .into_table(Alias::new("requests"))
        .columns(
            [
                "id",
                "text",
                "status",
                "status_reason",
                "current_plan_revision",
                "last_event_sequence",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.into(),
            "Back up the NAS".into(),
            "succeeded".into(),
            "".into(),
            1.into(),
            0i64.into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    db.execute(&insert)
        .await
        .expect("request under the earlier schema");
    id
}

async fn requests_from_before_run_options_run_without_options(db: &DatabaseConnection, id: Uuid) {
    let row = Request::find_by_id(id)
        .one(db)
        .await
        .expect("read the old request through the new entity")
        .expect("the old request is still there");
    assert_eq!(row.run_options, json!({}));
    assert_eq!(row.rerun_of_request_id, None);
    assert_eq!(row.suggestion_id, None);
    Request::delete_by_id(id)
        .exec(db)
        .await
        .expect("delete the old request");
}

fn assert_unique_violation<T: std::fmt::Debug>(result: Result<T, DbErr>, what: &str) {
    match result {
        Err(err) => assert!(
            matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
            "duplicate {what} failed, but not as a unique violation: {err:?}"
        ),
        Ok(row) => panic!("duplicate {what} was accepted: {row:?}"),
    }
}

fn new_request(id: Uuid, at: DateTime<Utc>) -> request::ActiveModel {
    request::ActiveModel {
        id: Set(id),
        text: Set("Deploy Uptime Kuma — and add our portals ✓".into()),
        status: Set(RequestStatus::AwaitingApproval),
        status_reason: Set(String::new()),
        current_plan_revision: Set(1),
        last_event_sequence: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
        finished_at: Set(None),
        cancel_requested_at: Set(None),
        run_options: Set(json!({"limit": "web", "tags": [], "check_mode": false, "diff": true})),
        rerun_of_request_id: Set(None),
        suggestion_id: Set(None),
    }
}

/// A suggestion with every column set, one with the optional ones empty, and the unique ids.
async fn round_trip_suggestions(db: &DatabaseConnection, agent_id: &str, request_id: Uuid) {
    let at = now();
    let applied = suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(format!("{agent_id}:0123456789abcdef")),
        agent_id: Set(agent_id.to_owned()),
        finding_id: Set("0123456789abcdef".into()),
        rule: Set("no-changed-when".into()),
        category: Set(SuggestionCategory::Idempotency),
        title: Set("Commands should not change things if nothing needs doing.".into()),
        reason: Set("A task that always reports a change hides real changes.".into()),
        details: Set("Task/Handler: Run uptime — ✓".into()),
        path: Set("playbooks/flawed.yml".into()),
        line: Set(i64::from(u32::MAX)),
        severity: Set(SuggestionSeverity::Error),
        fixable: Set(true),
        doc_url: Set("https://docs.ansible.com/projects/lint/rules/no-changed-when/".into()),
        status: Set(SuggestionStatus::Applied),
        request_id: Set(Some(request_id)),
        commit: Set(Some(
            json!({"branch": "chiffon/fix-no-changed-when", "files": ["a.yml"]}),
        )),
        error: Set(None),
        first_seen_at: Set(at),
        last_seen_at: Set(at + Duration::seconds(5)),
    }
    .insert(db)
    .await
    .expect("suggestion");
    assert_eq!(
        Suggestion::find_by_id(applied.id)
            .one(db)
            .await
            .expect("find"),
        Some(applied.clone())
    );
    let failed = suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(format!("{agent_id}:fedcba9876543210")),
        finding_id: Set("fedcba9876543210".into()),
        category: Set(SuggestionCategory::Standards),
        severity: Set(SuggestionSeverity::Warning),
        status: Set(SuggestionStatus::Failed),
        request_id: Set(None),
        commit: Set(None),
        error: Set(Some("ansible-lint changed nothing".into())),
        ..applied.clone().into()
    }
    .insert(db)
    .await
    .expect("second suggestion");
    assert_eq!(
        Suggestion::find_by_id(failed.id)
            .one(db)
            .await
            .expect("find"),
        Some(failed)
    );
    let same_id = suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        finding_id: Set("another".into()),
        ..applied.clone().into()
    }
    .insert(db)
    .await;
    assert_unique_violation(same_id, "suggestion_id");
    let same_finding = suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(format!("{agent_id}:another")),
        ..applied.into()
    }
    .insert(db)
    .await;
    assert_unique_violation(same_finding, "(agent_id, finding_id)");
}

fn new_event(request_id: Uuid, sequence: i64, dedupe_key: Option<String>) -> event::ActiveModel {
    event::ActiveModel {
        id: NotSet,
        request_id: Set(request_id),
        sequence: Set(sequence),
        kind: Set("task_event".into()),
        step_id: Set(None),
        message: Set(format!("event {sequence}")),
        task_event: Set(None),
        work_result: Set(None),
        ends_request: Set(false),
        dedupe_key: Set(dedupe_key),
        created_at: Set(now()),
    }
}

/// Now, at the microsecond precision PostgreSQL stores, so values compare equal after a trip.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A PostgreSQL database that exists for one test and is dropped when this guard is, also when
/// the test panics.
struct ScratchPostgres {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchPostgres {
    async fn create() -> Self {
        let server = std::env::var("CHIFFON_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = Database::connect(&server).await.unwrap_or_else(|err| {
            panic!("PostgreSQL at {server} (set CHIFFON_TEST_POSTGRES_URL): {err}")
        });
        let name = format!("chiffon_test_{}", Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!(r#"CREATE DATABASE "{name}""#))
            .await
            .expect("create scratch database");
        admin.close().await.expect("close admin connection");
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            admin_url: server,
            name,
        }
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime can. FORCE ends connections the test may have left open (e.g. on panic).
        let admin_url = self.admin_url.clone();
        let sql = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name);
        let outcome = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime")
                .block_on(async {
                    let admin = Database::connect(&admin_url).await?;
                    admin.execute_unprepared(&sql).await?;
                    admin.close().await
                })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop scratch database {}: {err}", self.name),
            Err(_) => eprintln!("cleanup of scratch database {} panicked", self.name),
        }
    }
}
