//! Thumbnails: made once on first request, stored beside the original.
//!
//! Only sizes listed in the field's `thumbs` are made, only for jpg, png,
//! gif and webp. Concurrent requests for the same missing thumb wait for
//! one generation; generation runs on the blocking pool behind a small
//! semaphore; images whose header announces more than [`MAX_PIXELS`] are
//! not decoded at all (the original is served instead).

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader};
use tokio::sync::{OnceCell, Semaphore};

use super::storage::{Backend, Meta};

/// Largest source image decoded for a thumb (width × height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Largest source file read for a thumb.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;
/// Thumbs generated at the same time.
pub const CONCURRENCY: usize = 2;

/// How a thumb is cut (PocketBase's `WxH`, `WxHt`, `WxHb`, `WxHf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Center,
    Top,
    Bottom,
    Fit,
}

/// A parsed thumb size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    w: u32,
    h: u32,
    mode: Mode,
}

impl Spec {
    /// Parses `100x100`, `100x100t|b|f`, `100x0`, `0x100`.
    pub fn parse(s: &str) -> Option<Self> {
        let (dims, mode) = match s.as_bytes().last()? {
            b't' => (&s[..s.len() - 1], Mode::Top),
            b'b' => (&s[..s.len() - 1], Mode::Bottom),
            b'f' => (&s[..s.len() - 1], Mode::Fit),
            _ => (s, Mode::Center),
        };
        let (w, h) = dims.split_once('x')?;
        let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
        if (w == 0 && h == 0) || w > 10_000 || h > 10_000 {
            return None;
        }
        Some(Self { w, h, mode })
    }
}

/// Can this stored name have thumbs?
pub fn is_thumbable(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some("jpg" | "jpeg" | "png" | "gif" | "webp")
    )
}

/// The storage key of thumb `size` of the file at `key`.
pub fn thumb_key(key: &str, size: &str) -> Option<String> {
    let (dir, name) = key.rsplit_once('/')?;
    Some(format!("{dir}/thumbs_{name}/{size}_{name}"))
}

/// Resizes `img` as `spec` says.
fn resize(img: &DynamicImage, spec: Spec) -> DynamicImage {
    let (sw, sh) = (img.width().max(1), img.height().max(1));
    let filter = FilterType::CatmullRom;
    if spec.w == 0 || spec.h == 0 {
        let (w, h) = if spec.w == 0 {
            (
                (sw as u64 * spec.h as u64 / sh as u64).max(1) as u32,
                spec.h,
            )
        } else {
            (
                spec.w,
                (sh as u64 * spec.w as u64 / sw as u64).max(1) as u32,
            )
        };
        return img.resize_exact(w, h, filter);
    }
    match spec.mode {
        Mode::Fit => img.resize(spec.w, spec.h, filter),
        Mode::Center => img.resize_to_fill(spec.w, spec.h, filter),
        Mode::Top | Mode::Bottom => {
            // Scale to cover the box, then cut from the top or the bottom.
            let scale = (spec.w as f64 / sw as f64).max(spec.h as f64 / sh as f64);
            let w = ((sw as f64 * scale).round() as u32).max(spec.w);
            let h = ((sh as f64 * scale).round() as u32).max(spec.h);
            let scaled = img.resize_exact(w, h, filter);
            let x = (w - spec.w) / 2;
            let y = if spec.mode == Mode::Top {
                0
            } else {
                h - spec.h
            };
            scaled.crop_imm(x, y, spec.w, spec.h)
        }
    }
}

/// Decodes, resizes and encodes (same format as the source). `None` when
/// the image is unreadable or too large.
pub fn render(src: &[u8], spec: Spec) -> Option<Vec<u8>> {
    let reader = ImageReader::new(Cursor::new(src))
        .with_guessed_format()
        .ok()?;
    let format = reader.format()?;
    let (w, h) = ImageReader::new(Cursor::new(src))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()?;
    if w as u64 * h as u64 > MAX_PIXELS {
        return None;
    }
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (16 << 20));
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let out = resize(&img, spec);
    let format = match format {
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP => format,
        _ => ImageFormat::Png,
    };
    let out = match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(out.to_rgb8()),
        ImageFormat::WebP => DynamicImage::ImageRgba8(out.to_rgba8()),
        _ => out,
    };
    let mut buf = Cursor::new(Vec::new());
    out.write_to(&mut buf, format).ok()?;
    Some(buf.into_inner())
}

/// Generation state shared by all requests.
pub struct Thumbs {
    inflight: Mutex<HashMap<String, Arc<OnceCell<bool>>>>,
    permits: Semaphore,
}

impl Default for Thumbs {
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
            permits: Semaphore::new(CONCURRENCY),
        }
    }
}

impl Thumbs {
    /// Makes thumb `size` of `key` at `thumb` unless it exists; the thumb's
    /// metadata when it is there afterwards. Concurrent callers share one
    /// run.
    pub async fn ensure(
        &self,
        backend: &Arc<dyn Backend>,
        key: &str,
        thumb: &str,
        spec: Spec,
    ) -> Option<Meta> {
        if let Ok(Some(meta)) = backend.head(thumb).await {
            return Some(meta);
        }
        let cell = match self.inflight.lock() {
            Ok(mut m) => Arc::clone(m.entry(thumb.to_owned()).or_default()),
            Err(_) => return None,
        };
        let made = *cell
            .get_or_init(|| self.generate(backend, key, thumb, spec))
            .await;
        if let Ok(mut m) = self.inflight.lock()
            && m.get(thumb).is_some_and(|c| Arc::ptr_eq(c, &cell))
        {
            m.remove(thumb);
        }
        if !made {
            return None;
        }
        backend.head(thumb).await.ok().flatten()
    }

    async fn generate(
        &self,
        backend: &Arc<dyn Backend>,
        key: &str,
        thumb: &str,
        spec: Spec,
    ) -> bool {
        // Another request may have finished it between the check and now.
        if matches!(backend.head(thumb).await, Ok(Some(_))) {
            return true;
        }
        let Ok(Some(meta)) = backend.head(key).await else {
            return false;
        };
        if meta.size > MAX_SOURCE_BYTES {
            return false;
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let Ok(mut stream) = backend.read_range(key, 0, meta.size).await else {
            return false;
        };
        let mut src = Vec::with_capacity(meta.size as usize);
        use futures_util::StreamExt;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => src.extend_from_slice(&c),
                Err(_) => return false,
            }
        }
        let out = tokio::task::spawn_blocking(move || render(&src, spec))
            .await
            .ok()
            .flatten();
        match out {
            Some(bytes) => backend.put_bytes(thumb, bytes.into()).await.is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("100x50").map(|s| (s.w, s.h)), Some((100, 50)));
        assert_eq!(Spec::parse("100x50t").map(|s| s.mode), Some(Mode::Top));
        assert_eq!(Spec::parse("0x50").map(|s| s.w), Some(0));
        assert!(Spec::parse("0x0").is_none());
        assert!(Spec::parse("abc").is_none());
        assert!(Spec::parse("x").is_none());
    }

    #[test]
    fn sizes() {
        let img = DynamicImage::new_rgb8(120, 80);
        let dims = |s: &str| {
            let o = resize(&img, Spec::parse(s).expect("spec"));
            (o.width(), o.height())
        };
        assert_eq!(dims("50x50"), (50, 50));
        assert_eq!(dims("20x0"), (20, 13));
        assert_eq!(dims("0x20"), (30, 20));
        assert_eq!(dims("30x30f"), (30, 20));
        assert_eq!(dims("50x50t"), (50, 50));
        assert_eq!(dims("50x50b"), (50, 50));
    }

    #[test]
    fn bombs_are_refused() {
        // A PNG header announcing 100000 x 100000 pixels.
        let mut png = Vec::new();
        let img = DynamicImage::new_rgb8(1, 1);
        img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("png");
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(render(&png, Spec::parse("10x10").expect("spec")).is_none());
    }
}
