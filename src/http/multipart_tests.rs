use super::*;

type Chunks = futures_util::stream::Iter<std::vec::IntoIter<Result<Bytes, ()>>>;

fn stream(body: &[u8], cuts: &[usize]) -> Chunks {
    let mut chunks = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&body.len())) {
        chunks.push(Ok(Bytes::copy_from_slice(&body[at..c])));
        at = c;
    }
    futures_util::stream::iter(chunks)
}

/// Every part as (name, file name, data), read from `body` cut at `cuts`.
fn parts(body: &[u8], cuts: &[usize], limit: u64) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
    futures_executor::block_on(async {
        let mut mp = Multipart::new(stream(body, cuts), "XyZ-b0undary", limit).expect("boundary");
        let mut out = Vec::new();
        while let Some(p) = mp.next_part().await? {
            let mut data = Vec::new();
            while let Some(c) = mp.chunk().await? {
                assert!(!c.is_empty(), "no empty chunks");
                data.extend_from_slice(&c);
            }
            out.push((
                p.name.unwrap_or_default(),
                p.file_name.unwrap_or_else(|| "-".into()),
                data,
            ));
        }
        Ok(out)
    })
}

/// A body with a preamble, a text part, a file whose data holds CRs, CRLFs
/// and near-delimiters, an empty file, and an epilogue.
fn body() -> Vec<u8> {
    let mut b = b"preamble\r\n--XyZ-b0undary\r\n".to_vec();
    b.extend_from_slice(b"Content-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n");
    b.extend_from_slice(b"--XyZ-b0undary\r\ncontent-disposition: form-data; name=\"doc\"; ");
    b.extend_from_slice(b"filename=\"a \\\"b\\\".txt\"\r\nContent-Type: text/plain\r\n\r\n");
    b.extend_from_slice(b"\r\r\n\r\n-\r\n--XyZ\r\n--XyZ-b0undar!\r");
    b.extend_from_slice(b"\r\n--XyZ-b0undary  \r\nContent-Disposition: form-data; name=f; ");
    b.extend_from_slice(b"filename=e.bin\r\n\r\n\r\n--XyZ-b0undary--\r\nepilogue");
    b
}

fn expected() -> Vec<(String, String, Vec<u8>)> {
    vec![
        ("title".into(), "-".into(), b"hello".to_vec()),
        (
            "doc".into(),
            "a \"b\".txt".into(),
            b"\r\r\n\r\n-\r\n--XyZ\r\n--XyZ-b0undar!\r".to_vec(),
        ),
        ("f".into(), "e.bin".into(), Vec::new()),
    ]
}

#[test]
fn parts_are_the_same_wherever_the_chunks_are_cut() {
    let b = body();
    assert_eq!(parts(&b, &[], u64::MAX), Ok(expected()));
    for i in 0..=b.len() {
        assert_eq!(parts(&b, &[i], u64::MAX), Ok(expected()), "cut at {i}");
        for j in (i..=b.len()).step_by(7) {
            assert_eq!(
                parts(&b, &[i, j], u64::MAX),
                Ok(expected()),
                "cut at {i}, {j}"
            );
        }
    }
    // One byte at a time.
    let cuts: Vec<usize> = (1..b.len()).collect();
    assert_eq!(parts(&b, &cuts, u64::MAX), Ok(expected()));
}

#[test]
fn data_comes_as_slices_of_the_chunks() {
    let mut b =
        b"--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
            .to_vec();
    let data = vec![b'a'; 100_000];
    b.extend_from_slice(&data);
    b.extend_from_slice(b"\r\n--XyZ-b0undary--\r\n");
    let chunk = Bytes::from(b);
    let whole = chunk.as_ptr_range();
    futures_executor::block_on(async {
        let s = futures_util::stream::iter(vec![Ok::<_, ()>(chunk.clone())]);
        let mut mp = Multipart::new(s, "XyZ-b0undary", u64::MAX).expect("boundary");
        assert!(mp.next_part().await.expect("part").is_some());
        let c = mp.chunk().await.expect("chunk").expect("data");
        assert_eq!(c.len(), data.len(), "one slice");
        assert!(whole.contains(&c.as_ptr()), "not a copy");
        assert_eq!(mp.chunk().await, Ok(None));
        assert!(mp.next_part().await.expect("end").is_none());
    });
}

#[test]
fn limits_and_malformed_bodies() {
    let b = body();
    assert_eq!(
        parts(&b, &[10, 40], b.len() as u64 - 1),
        Err(Error::TooLarge)
    );
    assert!(parts(&b, &[10, 40], b.len() as u64).is_ok());
    // Cut off inside a part, or never closed.
    let cut = &b[..b.len() - 40];
    assert_eq!(parts(cut, &[], u64::MAX), Err(Error::Malformed));
    assert_eq!(parts(b"", &[], u64::MAX), Err(Error::Malformed));
    // Something else after a delimiter.
    let bad =
        b"--XyZ-b0undary\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ-b0undaryQ";
    assert_eq!(parts(bad, &[], u64::MAX), Err(Error::Malformed));
    // Text parts have an allowance of their own, and lose a BOM.
    let t = b"--XyZ-b0undary\r\nContent-Disposition: form-data; name=a\r\n\r\n\xEF\xBB\xBFabc\xFF\r\n--XyZ-b0undary--";
    futures_executor::block_on(async {
        let s = || stream(t, &[]);
        let mut mp = Multipart::new(s(), "XyZ-b0undary", u64::MAX).expect("boundary");
        mp.next_part().await.expect("part");
        assert_eq!(mp.text(100).await, Ok("abc\u{FFFD}".to_owned()));
        let mut mp = Multipart::new(s(), "XyZ-b0undary", u64::MAX).expect("boundary");
        mp.next_part().await.expect("part");
        assert_eq!(mp.text(6).await, Err(Error::TooLarge));
    });
    assert!(Multipart::new(stream(b"", &[]), "a\rb", 1).is_none());
    assert!(Multipart::new(stream(b"", &[]), "", 1).is_none());
}

#[test]
fn content_disposition_attributes_as_multer_reads_them() {
    let cases: [(&[u8], Option<&str>, Option<&str>); 6] = [
        (b" form-data; name=\"my;f;ield\"", Some("my;f;ield"), None),
        (
            b" form-data; filename=file-name.txt; name=file",
            Some("file"),
            Some("file-name.txt"),
        ),
        (b" form-data; name  =  my_field  ", Some("my_field"), None),
        (
            b" form-data; name=\"\xe4\xbd\xa0\"; filename=\"\"",
            Some("\u{4f60}"),
            Some(""),
        ),
        (b" form-data; xname=\"a\"; name=b", Some("b"), None),
        (b" form-data", None, None),
    ];
    for (value, name, file) in cases {
        assert_eq!(attribute(value, b"name").as_deref(), name, "{value:?}");
        assert_eq!(attribute(value, b"filename").as_deref(), file, "{value:?}");
    }
}
