//! Record use-cases: create, view, update, delete and list.
//!
//! Coercion, modifiers and validation run inside the writer job, against the
//! stored record, so concurrent `views+` updates never lose an increment and
//! a record is validated exactly as it will be written.

use std::sync::Arc;

use serde_json::{Map, Value};

mod auth_rights;
mod delete;
pub mod expand;
pub mod field_rules;
pub mod fields;
pub mod import;
mod list;
mod public;
mod uploads;
mod write;

use crate::service::files::{Files, Staged, Upload};
pub use delete::{DeleteOp, delete, delete_in_tx, truncate};
pub use list::{DEFAULT_PER_PAGE, ListQuery, MAX_PER_PAGE, list, parse_sort};
pub use public::{PublicView, present, present_owned, to_public, to_public_row, to_public_with};
pub use uploads::{Write, create_with_files, settled, update_with_files, written};
use write::{
    apply_input, auth_create_rules, check_passwords, field_error, new_files, store_err,
    validate_record,
};

use super::{Actor, Error, rules};
use crate::filter::ast::RequestInfo;
use crate::schema::validate::{self, FieldError};
use crate::schema::value;
use crate::schema::{Access, Collection, CollectionKind, FieldKind, RuleKind, datetime, names};
use crate::store::records::{self, Action, Row_, Where};
use crate::store::{Schema, Store, WriteCtx};
/// The outcome of checking an API rule before running the action.
#[derive(Clone)]
enum Gate {
    Allow,
    /// An expression the affected record must satisfy (compiled, `?1`-based).
    Rule(Where),
}

fn gate(
    schema: &Schema,
    c: &Collection,
    kind: RuleKind,
    actor: &Actor,
    req: &RequestInfo,
) -> Result<Gate, Error> {
    if actor.is_superuser() {
        return Ok(Gate::Allow);
    }
    match c.rule(kind) {
        Access::Superusers => Err(Error::superusers_only()),
        Access::Anyone => Ok(Gate::Allow),
        Access::Rule(text) => Ok(Gate::Rule(rules::rule(schema, c, text, req, 1))),
    }
}

/// Does record `id` satisfy the gate? (Inside a write job.)
fn passes(conn: &crate::store::Conn, c: &Collection, id: &str, g: &Gate) -> Result<bool, Error> {
    match g {
        Gate::Allow => Ok(true),
        Gate::Rule(w) => Ok(records::get_where(conn, c, id, w)?.is_some()),
    }
}

/// `expand` and `fields` query parameters, applied to every returned record.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub expand: String,
    pub fields: String,
}

impl Shape {
    /// Expands and projects public records of `c`.
    pub fn apply(
        &self,
        store: &Store,
        c: &Collection,
        records: Vec<Value>,
        actor: &Actor,
        req: &RequestInfo,
    ) -> Result<Vec<Value>, Error> {
        let mut tree = expand::ExpandTree::parse(&self.expand);
        tree.prune(&store.schema(), c, actor);
        let fields = fields::FieldsTree::parse(&self.fields)
            .map_err(|_| Error::bad("Something went wrong while processing your request."))?;
        if tree.is_empty() && fields.is_empty() {
            return Ok(records);
        }
        let mut maps: Vec<Map<String, Value>> = records
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect();
        if !tree.is_empty() {
            expand::expand(store, &store.schema(), c, &mut maps, &tree, actor, req)?;
        }
        if !fields.is_empty() {
            for m in &mut maps {
                fields.apply(m);
            }
        }
        Ok(maps.into_iter().map(Value::Object).collect())
    }

    /// The same for one record.
    pub fn apply_one(
        &self,
        store: &Store,
        c: &Collection,
        record: Value,
        actor: &Actor,
        req: &RequestInfo,
    ) -> Result<Value, Error> {
        Ok(self
            .apply(store, c, vec![record], actor, req)?
            .into_iter()
            .next()
            .unwrap_or(Value::Null))
    }
}

/// The submitted body, already decoded from JSON or multipart.
pub type Input = Map<String, Value>;

/// Plain passwords from the body, hashed before the write job:
/// `(field, plain, hash)`. An empty `plain` marks a hash imported as is.
#[derive(Clone, Default)]
pub struct Hashed(Vec<(String, String, String)>);

/// Hashes every password field present in the body (argon2 is slow, so this
/// happens before the job reaches the writer thread). Superusers may send
/// `passwordHash` instead: an argon2id or bcrypt hash taken over unchanged
/// (moving users from PocketBase; bcrypt is replaced at their next login).
pub async fn hash_passwords(
    c: &Collection,
    input: &Input,
    superuser: bool,
) -> Result<Hashed, Error> {
    let mut out = Vec::new();
    if let Some(v) = input
        .get("passwordHash")
        .filter(|_| superuser && c.is_auth())
    {
        let hash = v.as_str().unwrap_or_default();
        if !super::auth::is_password_hash(hash) {
            let mut data = Map::new();
            data.insert(
                "passwordHash".into(),
                FieldError::new(
                    "validation_invalid_password_hash",
                    "Must be an argon2id or bcrypt password hash.",
                )
                .to_json(),
            );
            return Err(Error::invalid("Failed to save record.", data));
        }
        if input.get("password").is_none() {
            out.push(("password".to_owned(), String::new(), hash.to_owned()));
            return Ok(Hashed(out));
        }
    }
    for f in &c.fields {
        if let FieldKind::Password(o) = &f.kind
            && let Some(v) = input.get(&f.name)
        {
            let plain = value::coerce(f, v).as_str().unwrap_or_default().to_owned();
            if !plain.is_empty() {
                let hash = super::auth::hash_password_cost(plain.clone(), o.cost).await?;
                out.push((f.name.clone(), plain, hash));
            }
        }
    }
    Ok(Hashed(out))
}

/// A record creation, prepared outside the writer (rule compiled,
/// passwords hashed) and run inside a write job.
#[derive(Clone)]
pub struct CreateOp(Prepared);

/// What create and update both prepare before the writer: the rule
/// compiled with the request (body included) and passwords hashed.
#[derive(Clone)]
struct Prepared {
    c: Arc<Collection>,
    schema: Arc<Schema>,
    gate: Gate,
    hashed: Hashed,
    input: Input,
    superuser: bool,
    writes: field_rules::FieldWrites,
    /// Uploads checked and stored before the job (files: see service/files).
    staged: Staged,
}

impl Prepared {
    async fn new(
        schema: Arc<Schema>,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        input: Input,
        rule: RuleKind,
    ) -> Result<Self, Error> {
        if c.kind == CollectionKind::View {
            return Err(Error::bad("Unsupported collection type."));
        }
        // Rules see the body as `@request.body`: the request is copied with
        // it only when a rule will read it (not for `""`, superusers, or a
        // collection without write rules on its fields).
        let reads_request = !actor.is_superuser()
            && (matches!(c.rule(rule), Access::Rule(_))
                || c.fields.iter().any(|f| f.write_rule.is_some()));
        let with_body;
        let req = if reads_request {
            let mut r = req.clone();
            r.body = input.clone();
            with_body = r;
            &with_body
        } else {
            req
        };
        let gate = gate(&schema, &c, rule, actor, req)?;
        let writes = field_rules::FieldWrites::prepare(&schema, &c, actor, req, &input);
        let hashed = hash_passwords(&c, &input, actor.is_superuser()).await?;
        Ok(Self {
            c,
            schema,
            gate,
            hashed,
            input,
            superuser: actor.is_superuser(),
            writes,
            staged: Staged::default(),
        })
    }
}

impl CreateOp {
    /// The create rule is checked against the new record inside the job,
    /// after the insert; failing it rolls the insert back.
    pub async fn prepare(
        store: &Store,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        input: Input,
    ) -> Result<Self, Error> {
        Self::prepare_with(store.schema(), c, actor, req, input).await
    }

    /// Like `prepare`, against a given schema (migrations run before the
    /// store's cache exists).
    pub async fn prepare_with(
        schema: Arc<Schema>,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        input: Input,
    ) -> Result<Self, Error> {
        Prepared::new(schema, c, actor, req, input, RuleKind::Create)
            .await
            .map(Self)
    }

    /// Checks and stores the uploads before the job; the record id is
    /// fixed now (the submitted one, or a new one) since files live under it.
    pub async fn stage(&mut self, files: &Files, uploads: Vec<Upload>) -> Result<(), Error> {
        if uploads.is_empty() {
            return Ok(());
        }
        let id = match self.0.input.get("id").map(value::coerce_text) {
            Some(s) if !s.is_empty() => s,
            _ => names::new_record_id(),
        };
        self.0.staged = files.stage(&self.0.c, id, uploads).await?;
        Ok(())
    }

    /// The staged uploads (settled by the caller after the job).
    pub fn staged(&self) -> Staged {
        self.0.staged.clone()
    }

    /// Runs inside a write job.
    pub fn run(self, ctx: &mut WriteCtx<'_>) -> Result<Row_, Error> {
        const FAIL: &str = "Failed to create record.";
        let Prepared {
            c,
            schema,
            gate,
            hashed,
            input,
            superuser,
            writes,
            staged,
        } = self.0;

        let now = datetime::now();
        let mut rec = Row_::new();
        for f in &c.fields {
            rec.insert(f.name.clone(), f.kind.zero_value());
        }
        apply_input(&c, &mut rec, &input, superuser);
        let mut errors = Map::new();
        if c.is_auth() {
            check_passwords(&input, &hashed, true, &mut errors);
            if !errors.is_empty() {
                return Err(Error::invalid(FAIL, errors));
            }
        }
        staged.apply(&c, &mut rec, &input, &mut errors);
        new_files(&c, &rec, &Row_::new(), &staged, &mut errors);
        // The id: submitted (validated as text) or generated.
        let id_field = c.field("id");
        let id = match input.get("id").map(value::coerce_text) {
            Some(s) if !s.is_empty() => {
                if let Some(f) = id_field
                    && let Err(e) = validate::validate(f, &Value::String(s.clone()))
                {
                    field_error(&mut errors, "id", e);
                }
                s
            }
            _ if !staged.record_id.is_empty() => staged.record_id.clone(),
            _ => names::new_record_id(),
        };
        rec.insert("id".into(), id.clone().into());
        for f in &c.fields {
            match &f.kind {
                FieldKind::Autodate(o) if o.on_create => {
                    rec.insert(f.name.clone(), now.clone().into());
                }
                FieldKind::Text(o) if !o.autogenerate_pattern.is_empty() && f.name != "id" => {
                    let empty = rec
                        .get(&f.name)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty);
                    if empty && let Some(v) = validate::autogenerate(&o.autogenerate_pattern) {
                        rec.insert(f.name.clone(), v.into());
                    }
                }
                _ => {}
            }
        }
        if c.is_auth() {
            auth_create_rules(&c, &mut rec, &input, superuser, &mut errors);
        }
        for (name, _, hash) in &hashed.0 {
            rec.insert(name.clone(), hash.clone().into());
        }
        for (k, v) in validate_record(ctx.conn, &schema, &c, &rec, &hashed, None)? {
            errors.entry(k).or_insert(v);
        }
        if !errors.is_empty() {
            return Err(Error::invalid(FAIL, errors));
        }
        super::access::before_write(ctx.conn, &schema, &c, &mut rec, None)?;
        records::insert(ctx.conn, &c, &rec).map_err(|e| store_err(e, FAIL))?;
        if !passes(ctx.conn, &c, &id, &gate)? {
            return Err(Error::bad(FAIL));
        }
        writes.check(ctx.conn, &c, &id)?;
        records::append_change(ctx, &c, &id, Action::Create, &rec)?;
        Ok(rec)
    }
}

/// Creates a record.
pub async fn create(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    input: Input,
) -> Result<Value, Error> {
    create_with_files(store, None, c, actor, req, input).await
}

/// Reads one record.
pub fn view(
    store: &Store,
    c: &Collection,
    actor: &Actor,
    req: &RequestInfo,
    id: &str,
) -> Result<Value, Error> {
    let gate = gate(&store.schema(), c, RuleKind::View, actor, req)?;
    let rec = store
        .read(|conn| match &gate {
            Gate::Allow => records::get(conn, c, id),
            Gate::Rule(w) => records::get_where(conn, c, id, w),
        })?
        .ok_or_else(Error::missing_record)?;
    let manager = auth_rights::manages(store, c, actor, req, id)?;
    present(store, c, &rec, actor, req, manager)
}

/// A record update, prepared outside the writer and run inside a job.
#[derive(Clone)]
pub struct UpdateOp {
    prepared: Prepared,
    rights: Option<auth_rights::AuthRights>,
    pub id: String,
}

impl UpdateOp {
    /// The update rule is checked against the stored record, inside the job.
    pub async fn prepare(
        store: &Store,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        id: String,
        input: Input,
    ) -> Result<Self, Error> {
        let mut op = Self::prepare_with(store.schema(), c, actor, req, id, input).await?;
        let p = &op.prepared;
        op.rights =
            auth_rights::AuthRights::prepare(store, &p.schema, &p.c, actor, req, &op.id, &p.input)
                .await?;
        Ok(op)
    }

    /// Like `prepare`, against a given schema, without the auth record
    /// rights (`manageRule`, `oldPassword`): for superusers only (the
    /// writes of scripts inside a transaction).
    pub async fn prepare_with(
        schema: Arc<Schema>,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        id: String,
        input: Input,
    ) -> Result<Self, Error> {
        let prepared = Prepared::new(schema, c, actor, req, input, RuleKind::Update).await?;
        Ok(Self {
            prepared,
            rights: None,
            id,
        })
    }

    /// Checks and stores the uploads before the job.
    pub async fn stage(&mut self, files: &Files, uploads: Vec<Upload>) -> Result<(), Error> {
        if !uploads.is_empty() {
            let p = &mut self.prepared;
            p.staged = files.stage(&p.c, self.id.clone(), uploads).await?;
        }
        Ok(())
    }

    /// Uses uploads staged elsewhere (batch upserts share one staging).
    pub fn set_staged(&mut self, staged: Staged) {
        self.prepared.staged = staged;
    }

    /// The staged uploads (settled by the caller after the job).
    pub fn staged(&self) -> Staged {
        self.prepared.staged.clone()
    }

    /// The collection being written.
    pub fn collection(&self) -> &Arc<Collection> {
        &self.prepared.c
    }

    /// Runs inside a write job.
    pub fn run(self, ctx: &mut WriteCtx<'_>) -> Result<Row_, Error> {
        const FAIL: &str = "Failed to update record.";
        let Self {
            prepared,
            rights,
            id,
        } = self;
        let Prepared {
            c,
            schema,
            gate,
            hashed,
            input,
            superuser,
            writes,
            staged,
        } = prepared;

        let mut rec =
            records::get_for_update(ctx.conn, &c, &id)?.ok_or_else(Error::missing_record)?;
        if !passes(ctx.conn, &c, &id, &gate)? {
            return Err(Error::missing_record());
        }
        writes.check(ctx.conn, &c, &id)?;
        let mut errors = Map::new();
        if let Some(new_id) = input.get("id").map(value::coerce_text)
            && !new_id.is_empty()
            && new_id != id
        {
            errors.insert(
                "id".into(),
                FieldError::new(
                    "validation_pk_change",
                    "The record primary key cannot be changed.",
                )
                .to_json(),
            );
            return Err(Error::invalid(FAIL, errors));
        }
        let old = rec.clone();
        if let Some(r) = &rights {
            r.check(ctx.conn, &c, &id, &old, &input, &mut errors)?;
        }
        apply_input(&c, &mut rec, &input, superuser);
        staged.apply(&c, &mut rec, &input, &mut errors);
        new_files(&c, &rec, &old, &staged, &mut errors);
        let now = datetime::now();
        for f in &c.fields {
            if let FieldKind::Autodate(o) = &f.kind
                && o.on_update
            {
                rec.insert(f.name.clone(), now.clone().into());
            }
        }
        let new_password = c.is_auth() && hashed.0.iter().any(|(n, _, _)| n == "password");
        if new_password {
            check_passwords(&input, &hashed, false, &mut errors);
            rec.insert("tokenKey".into(), names::random_secret(50).into());
        }
        for (name, _, hash) in &hashed.0 {
            rec.insert(name.clone(), hash.clone().into());
        }
        for (k, v) in validate_record(ctx.conn, &schema, &c, &rec, &hashed, Some(&old))? {
            errors.entry(k).or_insert(v);
        }
        if !errors.is_empty() {
            return Err(Error::invalid(FAIL, errors));
        }
        super::access::before_write(ctx.conn, &schema, &c, &mut rec, Some(&old))?;
        records::update_changed(ctx.conn, &c, &id, &old, &rec).map_err(|e| store_err(e, FAIL))?;
        crate::service::files::cleanup::forget_replaced(ctx.conn, &c, &id, &old, &rec)?;
        records::append_update(ctx, &c, &id, &old, &rec)?;
        if new_password {
            // Like PocketBase: a new password forgets the remembered devices.
            let origins = crate::service::auth::sys::ORIGINS;
            crate::service::auth::sys::delete_for_record(ctx, &schema, origins, &c.id, &id)?;
        }
        Ok(rec)
    }
}

/// Updates a record.
pub async fn update(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    id: String,
    input: Input,
) -> Result<Value, Error> {
    update_with_files(store, None, c, actor, req, id, input).await
}
