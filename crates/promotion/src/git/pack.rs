//! A Git pack (version 2) of whole objects, no deltas: what a receive-pack request carries.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha1::{Digest, Sha1};

/// The pack type numbers of the object kinds.
fn type_number(kind: gix::object::Kind) -> u8 {
    match kind {
        gix::object::Kind::Commit => 1,
        gix::object::Kind::Tree => 2,
        gix::object::Kind::Blob => 3,
        gix::object::Kind::Tag => 4,
    }
}

/// A pack holding `objects` (kind, raw content), followed by its SHA-1 trailer.
pub(crate) fn build(objects: &[(gix::object::Kind, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"PACK");
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for (kind, data) in objects {
        header(&mut out, type_number(*kind), data.len());
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(data)?;
        out.extend_from_slice(&z.finish()?);
    }
    let digest = Sha1::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// The object header: type and size, 4 bits of size in the first byte, then 7 bits per byte.
fn header(out: &mut Vec<u8>, type_number: u8, size: usize) {
    let mut size = size;
    let mut byte = (type_number << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_headers() {
        let mut v = Vec::new();
        header(&mut v, 3, 5);
        assert_eq!(v, [0x35]);
        let mut v = Vec::new();
        header(&mut v, 1, 300);
        // 300 = 0b1_0010_1100: low nibble 0xc, then 300 >> 4 = 18.
        assert_eq!(v, [0x80 | 0x10 | 0x0c, 18]);
    }
}
