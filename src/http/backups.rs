//! `/api/backups` (superusers; downloads with a superuser file token).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::extract::{JsonBody, Query, Superuser};
use crate::app::App;
use crate::service::Error;
use crate::service::auth::{self, TokenKind};

/// Largest backup accepted by the upload endpoint.
pub const MAX_UPLOAD: usize = 16 << 30;

/// Runs blocking backup work on the blocking pool.
async fn blocking<R: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<R, Error> + Send + 'static,
) -> Result<R, ApiError> {
    Ok(crate::ops::blocking(app, f).await?)
}

pub async fn list(State(app): State<Arc<App>>, _: Superuser) -> Result<Json<Value>, ApiError> {
    let list = blocking(&app, |app| app.backups.list()).await?;
    Ok(Json(Value::Array(list)))
}

pub async fn create(
    State(app): State<Arc<App>>,
    _: Superuser,
    body: Result<JsonBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    let name = body.ok().and_then(|JsonBody(v)| {
        v.get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    });
    crate::ops::create_backup(&app, name.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn upload(
    State(app): State<Arc<App>>,
    _: Superuser,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<StatusCode, ApiError> {
    receive(&app, mp.ok()).await
}

/// The upload's "file is required" validation error.
fn required() -> ApiError {
    ApiError::from(Error::invalid(
        "An error occurred while validating the submitted data.",
        [(
            "file".to_owned(),
            crate::schema::validate::FieldError::required().to_json(),
        )]
        .into_iter()
        .collect(),
    ))
}

/// Stores the `file` part of a multipart body as a backup (the REST upload
/// and the dashboard's upload form share it); `None` when the body is not
/// multipart. On PostgreSQL every encoding (or none) gets pg_dump's 400.
pub async fn receive(app: &Arc<App>, mp: Option<Multipart>) -> Result<StatusCode, ApiError> {
    if let Err(e) = crate::service::backups::supported(&app.store) {
        // Read the body through first (within the route's limit): a client
        // still sending it would see the connection closed, not the answer.
        if let Some(mut mp) = mp {
            while let Ok(Some(mut field)) = mp.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        }
        return Err(e.into());
    }
    let Some(mut mp) = mp else {
        return Err(required());
    };
    while let Ok(Some(mut field)) = mp.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let tmp = app.backups.upload_target()?;
        let mut out = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        loop {
            let chunk = field.chunk().await.map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "Failed to read the upload.")
            })?;
            let Some(chunk) = chunk else { break };
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        // A tokio file finishes its last write in the background: wait for it
        // before the zip check reads the file.
        tokio::io::AsyncWriteExt::flush(&mut out)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        drop(out);
        blocking(app, move |app| app.backups.finish_upload(&tmp, &filename)).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    Err(required())
}

pub async fn download(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let superuser = q
        .get("token")
        .and_then(|t| auth::verify(&app.store, t, TokenKind::File))
        .is_some_and(|(id, _)| id.collection.name == "_superusers");
    if !superuser {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Insufficient permissions to access the resource.",
        ));
    }
    send(&app, &key).await
}

/// Streams backup `key` (on disk or in S3) as a zip attachment (the REST
/// download and the dashboard's download link share it).
pub async fn send(app: &App, key: &str) -> Result<Response, ApiError> {
    let (len, stream) = match app.backups.remote() {
        Some(r) => r
            .stream(key)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            // PocketBase 0.40.6 answers 400 for a missing key in S3.
            .ok_or_else(|| Error::bad("Failed to retrieve backup item."))?,
        None => local_file(app, key).await?,
    };
    let disposition = format!("attachment; filename=\"{}\"", key.replace('"', ""));
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

type Bytes = futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// A local backup's size and bytes.
async fn local_file(app: &App, key: &str) -> Result<(u64, Bytes), ApiError> {
    let path = app.backups.path_of(key).ok_or_else(ApiError::not_found)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found())?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 1 << 16];
        match tokio::io::AsyncReadExt::read(&mut f, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    Ok((len, Box::pin(stream)))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |app| app.backups.delete(&key)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn restore(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::ops::restore_backup(&app, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
