//! HPACK (RFC 7541), the header compression of HTTP/2, for the epoll
//! HTTP/2 engine: a request's header block is written once per kind of
//! request (it never uses the dynamic table, so the same bytes serve every
//! request), and response blocks are decoded against the connection's
//! dynamic table. Huffman-coded strings are decoded by `httlib-huffman`.

use std::collections::VecDeque;

/// The static table (RFC 7541, Appendix A), index 1 first.
const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// The dynamic table size both sides start with (SETTINGS_HEADER_TABLE_SIZE).
pub(crate) const DEFAULT_TABLE_SIZE: usize = 4096;

/// Why a header block could not be decoded: a compression error, which
/// ends the connection (RFC 9113, 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HpackError {
    /// The block ends inside a field.
    Truncated,
    /// An index into neither table.
    BadIndex,
    /// An integer too large to be a length or an index.
    Overflow,
    /// A Huffman-coded string that does not decode.
    Huffman,
    /// A dynamic table size update above the size we allow.
    TableSize,
}

/// A dynamic table entry: name and value in one allocation, the name's
/// length apart.
struct Entry {
    bytes: Box<[u8]>,
    name_len: usize,
}

/// A Huffman-coded string and what it decodes to.
type Remembered = (Box<[u8]>, Box<[u8]>);

/// How many Huffman-coded strings a decoder remembers decoded.
const MEMO: usize = 32;

/// A connection's decoding state: the dynamic table, newest entry first.
pub(crate) struct Decoder {
    table: VecDeque<Entry>,
    /// The table's size as RFC 7541 counts it (32 bytes more per entry).
    size: usize,
    /// The size the encoder chose, at most `limit`.
    max: usize,
    /// The size we allow (our SETTINGS_HEADER_TABLE_SIZE).
    limit: usize,
    name: Vec<u8>,
    value: Vec<u8>,
    /// Huffman-coded strings seen lately and what they decode to: a server
    /// sends the same values again and again (its name, a content type,
    /// the date for a second), as literals that must be decoded each time
    /// to keep the table; remembered, they are compared, not decoded.
    memo: Vec<Remembered>,
    /// The memo's entry replaced next.
    memo_next: usize,
}

impl Decoder {
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            table: VecDeque::new(),
            size: 0,
            max: limit,
            limit,
            name: Vec::new(),
            value: Vec::new(),
            memo: Vec::new(),
            memo_next: 0,
        }
    }

    /// Decodes one whole header block, calling `field` with each name and
    /// value in order.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let mut at = 0;
        while at < block.len() {
            let first = block[at];
            if first & 0x80 != 0 {
                // Indexed field.
                let index = integer(block, &mut at, 7)?;
                let (name, value) = self.entry(index)?;
                field(name, value);
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update.
                let size = integer(block, &mut at, 5)?;
                if size > self.limit {
                    return Err(HpackError::TableSize);
                }
                self.max = size;
                self.evict(0);
            } else {
                // A literal: with incremental indexing (01), never indexed
                // (0001) or without indexing (0000).
                let (prefix, index_it) = if first & 0x40 != 0 {
                    (6, true)
                } else {
                    (4, false)
                };
                let index = integer(block, &mut at, prefix)?;
                let mut name = std::mem::take(&mut self.name);
                let mut value = std::mem::take(&mut self.value);
                let decoded = self.literal(block, &mut at, index, &mut name, &mut value);
                if decoded.is_ok() {
                    field(&name, &value);
                    if index_it {
                        self.insert(&name, &value);
                    }
                }
                self.name = name;
                self.value = value;
                decoded?;
            }
        }
        Ok(())
    }

    /// Reads a literal's name (from the tables when `index` is not 0) and
    /// value into `name` and `value`.
    fn literal(
        &mut self,
        block: &[u8],
        at: &mut usize,
        index: usize,
        name: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Result<(), HpackError> {
        name.clear();
        if index == 0 {
            self.string(block, at, name)?;
        } else {
            name.extend_from_slice(self.entry(index)?.0);
        }
        value.clear();
        self.string(block, at, value)
    }

    /// A string literal at `block[*at]` (RFC 7541, 5.2), appended to `out`.
    fn string(
        &mut self,
        block: &[u8],
        at: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<(), HpackError> {
        let huffman = block.get(*at).ok_or(HpackError::Truncated)? & 0x80 != 0;
        let len = integer(block, at, 7)?;
        let end = at.checked_add(len).ok_or(HpackError::Overflow)?;
        let raw = block.get(*at..end).ok_or(HpackError::Truncated)?;
        *at = end;
        if !huffman {
            out.extend_from_slice(raw);
            return Ok(());
        }
        if let Some((_, decoded)) = self.memo.iter().find(|(r, _)| **r == *raw) {
            out.extend_from_slice(decoded);
            return Ok(());
        }
        let from = out.len();
        httlib_huffman::decode(raw, out, httlib_huffman::DecoderSpeed::FiveBits)
            .map_err(|_| HpackError::Huffman)?;
        let remembered = (raw.into(), out[from..].into());
        if self.memo.len() < MEMO {
            self.memo.push(remembered);
        } else {
            self.memo[self.memo_next] = remembered;
            self.memo_next = (self.memo_next + 1) % MEMO;
        }
        Ok(())
    }

    /// Entry `index` of the static table (1 to 61) or the dynamic one.
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            0 => Err(HpackError::BadIndex),
            1..=61 => {
                let (name, value) = STATIC[index - 1];
                Ok((name.as_bytes(), value.as_bytes()))
            }
            _ => self
                .table
                .get(index - 62)
                .map(|e| e.bytes.split_at(e.name_len))
                .ok_or(HpackError::BadIndex),
        }
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + 32;
        if size > self.max {
            // Larger than the whole table: it empties the table and is not
            // added (RFC 7541, 4.4).
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict(size);
        let mut bytes = Vec::with_capacity(name.len() + value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
        self.table.push_front(Entry {
            bytes: bytes.into_boxed_slice(),
            name_len: name.len(),
        });
        self.size += size;
    }

    /// Drops the oldest entries until `room` more bytes fit.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.table.pop_back() {
                Some(e) => self.size -= e.bytes.len() + 32,
                None => break,
            }
        }
    }
}

/// An integer with an `prefix`-bit prefix at `block[*at]` (RFC 7541, 5.1).
fn integer(block: &[u8], at: &mut usize, prefix: u32) -> Result<usize, HpackError> {
    let mask = (1usize << prefix) - 1;
    let mut value = usize::from(*block.get(*at).ok_or(HpackError::Truncated)?) & mask;
    *at += 1;
    if value < mask {
        return Ok(value);
    }
    let mut shift = 0;
    loop {
        let b = *block.get(*at).ok_or(HpackError::Truncated)?;
        *at += 1;
        // Four continuation bytes reach 2^28, more than any length or
        // index a 16 KiB frame can need.
        if shift > 21 {
            return Err(HpackError::Overflow);
        }
        value += usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
}

/// Appends `value` as an integer with a `prefix`-bit prefix, the first
/// byte's other bits `flags`.
fn put_integer(out: &mut Vec<u8>, flags: u8, prefix: u32, value: usize) {
    let mask = (1usize << prefix) - 1;
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Appends a string literal, not Huffman-coded.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_integer(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Appends a field: indexed when the static table holds it whole, else a
/// literal without indexing, its name indexed when the static table holds
/// the name. Nothing enters the peer's dynamic table, so a block written
/// once can be sent any number of times.
pub(crate) fn put_field(out: &mut Vec<u8>, name: &str, value: &str) {
    let mut name_index = 0;
    for (i, (n, v)) in STATIC.iter().enumerate() {
        if *n == name {
            if *v == value {
                put_integer(out, 0x80, 7, i + 1);
                return;
            }
            if name_index == 0 {
                name_index = i + 1;
            }
        }
    }
    put_integer(out, 0x00, 4, name_index);
    if name_index == 0 {
        put_string(out, name.as_bytes());
    }
    put_string(out, value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_all(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        d.decode(block, |n, v| {
            fields.push((
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ))
        })
        .unwrap();
        fields
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// RFC 7541, C.6: three responses with Huffman coding, a 256-byte
    /// table, entries evicted as the later ones arrive.
    #[test]
    fn decodes_the_rfc_s_huffman_responses_with_eviction() {
        let mut d = Decoder::new(256);
        let first = hex(
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        );
        assert_eq!(
            decode_all(&mut d, &first),
            pairs(&[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                ("location", "https://www.example.com"),
            ])
        );
        assert_eq!(d.size, 222);
        let second = hex("4883 640e ffc1 c0bf");
        assert_eq!(
            decode_all(&mut d, &second),
            pairs(&[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                ("location", "https://www.example.com"),
            ])
        );
        assert_eq!(d.size, 222);
        let third = hex(
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        );
        assert_eq!(
            decode_all(&mut d, &third),
            pairs(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                ("location", "https://www.example.com"),
                ("content-encoding", "gzip"),
                (
                    "set-cookie",
                    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
                ),
            ])
        );
        assert_eq!(d.size, 215);
        assert_eq!(d.table.len(), 3);
    }

    /// RFC 7541, C.3: requests without Huffman coding.
    #[test]
    fn decodes_the_rfc_s_plain_requests() {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        assert_eq!(
            decode_all(&mut d, &first),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ])
        );
        let second = hex("8286 84be 5808 6e6f 2d63 6163 6865");
        assert_eq!(
            decode_all(&mut d, &second),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ])
        );
        assert_eq!(d.size, 110);
    }

    #[test]
    fn written_fields_decode_to_what_was_written() {
        let fields = [
            (":method", "GET"),
            (":method", "DELETE"),
            (":scheme", "http"),
            (":path", "/a/b?c=d"),
            (":authority", "example.test:8080"),
            ("content-type", "application/json"),
            ("x-long", &"v".repeat(300)),
            ("x-empty", ""),
        ];
        let mut block = Vec::new();
        for (n, v) in fields {
            put_field(&mut block, n, v);
        }
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        assert_eq!(decode_all(&mut d, &block), pairs(&fields));
        // Nothing was indexed.
        assert_eq!(d.size, 0);
    }

    /// Huffman-coded literals, many more distinct ones than the memo holds,
    /// each sent several times: every one decodes to what was coded, and the
    /// table ends as it would without the memo.
    #[test]
    fn remembered_huffman_strings_decode_as_when_first_seen() {
        let values: Vec<String> = (0..3 * MEMO)
            .map(|i| format!("value-{i}-{}", "z".repeat(i % 7)))
            .collect();
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        for round in 0..3 {
            for (i, v) in values.iter().enumerate().skip(round) {
                let mut coded = Vec::new();
                httlib_huffman::encode(v.as_bytes(), &mut coded).unwrap();
                // A literal with incremental indexing, name `etag` (34).
                let mut block = vec![0x40 | 34];
                put_integer(&mut block, 0x80, 7, coded.len());
                block.extend_from_slice(&coded);
                assert_eq!(
                    decode_all(&mut d, &block),
                    pairs(&[("etag", v)]),
                    "{round} {i}"
                );
                assert_eq!(d.entry(62).unwrap(), (&b"etag"[..], v.as_bytes()));
            }
        }
        let size: usize = d.table.iter().map(|e| e.bytes.len() + 32).sum();
        assert_eq!(d.size, size);
        assert!(d.size <= DEFAULT_TABLE_SIZE);
    }

    /// Blocks mutated at random from valid ones, seeded: each is decoded or
    /// refused, never a panic, and the table stays within its size.
    #[test]
    fn mutated_blocks_never_panic_nor_overfill_the_table() {
        use rand::{Rng, SeedableRng};
        let seeds = [
            hex(
                "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            ),
            hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
            hex(
                "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ),
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut d = Decoder::new(256);
        for _ in 0..20_000 {
            let mut block = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..block.len());
                match rng.random_range(0..3) {
                    0 => block[at] = rng.random(),
                    1 => block.truncate(at),
                    _ => block.insert(at, rng.random()),
                }
                if block.is_empty() {
                    block.push(rng.random());
                }
            }
            let _ = d.decode(&block, |_, _| {});
            assert!(d.size <= d.max && d.max <= 256);
        }
    }

    #[test]
    fn damaged_blocks_are_refused_not_misread() {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        for (block, why) in [
            (hex("80"), HpackError::BadIndex),
            (hex("be"), HpackError::BadIndex),
            (hex("41 0f 77"), HpackError::Truncated),
            (hex("ff ff ff ff ff ff 7f"), HpackError::Overflow),
            (hex("3f e2 1f"), HpackError::TableSize),
            (hex("40 81 ff 81 ff"), HpackError::Huffman),
        ] {
            assert_eq!(d.decode(&block, |_, _| {}), Err(why), "{block:02x?}");
        }
    }
}
