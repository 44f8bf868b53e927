//! Product images: only PNG, JPEG and WebP (recognised by their first bytes, never by the
//! client's file name or content type), at most 2 MiB, stored under their SHA-256 so a file
//! never changes once written and can be cached forever.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::AppError;

pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    /// What the bytes are, from their magic numbers.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(ImageKind::Jpeg)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
        }
    }

    fn from_ext(ext: &str) -> Option<ImageKind> {
        match ext {
            "png" => Some(ImageKind::Png),
            "jpg" => Some(ImageKind::Jpeg),
            "webp" => Some(ImageKind::Webp),
            _ => None,
        }
    }
}

/// A stored file's name as requested (`<64 hex>.<ext>`), or `None`: nothing else is served,
/// so no path can leave the uploads directory.
pub fn parse_media_name(name: &str) -> Option<ImageKind> {
    let (hash, ext) = name.split_once('.')?;
    let hex = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex {
        return None;
    }
    ImageKind::from_ext(ext)
}

/// Why an upload was refused, with the HTTP status it deserves.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadRefusal {
    TooLarge,
    NotAnImage,
}

/// Checks an upload and names it: `<sha256>.<ext>`.
pub fn image_file_name(bytes: &[u8]) -> Result<(String, ImageKind), UploadRefusal> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(UploadRefusal::TooLarge);
    }
    let kind = ImageKind::sniff(bytes).ok_or(UploadRefusal::NotAnImage)?;
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((format!("{hex}.{}", kind.ext()), kind))
}

/// Writes the file once (a temporary name, then an atomic rename); the same bytes again are
/// already there.
pub async fn store(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), AppError> {
    let target = dir.join(name);
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        return Ok(());
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(AppError::internal)?;
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7()));
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(AppError::internal)?;
    tokio::fs::rename(&tmp, &target)
        .await
        .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(ImageKind::sniff(b"GIF89a"), None);
    }

    #[test]
    fn stored_names_are_content_hashes() {
        let (a, _) = image_file_name(b"\x89PNG\r\n\x1a\nA").unwrap();
        let (b, _) = image_file_name(b"\x89PNG\r\n\x1a\nB").unwrap();
        assert_ne!(a, b);
        assert!(a.ends_with(".png") && a.len() == 68);
        assert_eq!(parse_media_name(&a), Some(ImageKind::Png));
        assert_eq!(
            image_file_name(&vec![0xff; MAX_IMAGE_BYTES + 1]),
            Err(UploadRefusal::TooLarge)
        );
        for bad in [
            "../etc/passwd",
            "abc.png",
            &format!("{}.svg", "a".repeat(64)),
            &format!("{}.png", "A".repeat(64)),
        ] {
            assert_eq!(parse_media_name(bad), None, "{bad}");
        }
    }
}
