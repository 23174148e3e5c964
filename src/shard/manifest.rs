//! The manifest at the head of a shard file: what job the shard belongs to and which part
//! of it it holds. Shards merge only when their jobs are the same.

use serde::{Deserialize, Serialize};

/// The first line of every shard file names the format, so other files are refused early.
pub const FORMAT: &str = "wfsim-shard 2";

/// A scenario file as the job read it: its path as given, and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// What a shard file says about itself (one line of JSON before the binary body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The wfsim version that simulated the shard.
    pub wfsim: String,
    /// run, report, compare, sweep or sensitivity.
    pub command: String,
    /// FNV-1a 64 of the command, its options, the scenario texts, the seed and the shard
    /// count: shards merge only when it is the same.
    pub job: String,
    pub seed: u64,
    /// This shard's index, from 0, and the number of shards.
    pub shard: u64,
    pub of: u64,
    /// The part of the work this shard holds, in words (`runs 0..5120 of 10000`).
    pub part: String,
    /// The command's options, as the command reads them back at merge time.
    pub args: serde_json::Value,
    pub scenarios: Vec<Source>,
    /// Length and FNV-1a 64 of the binary body (a truncated or damaged file is refused).
    pub body_bytes: u64,
    pub body_hash: String,
}

/// FNV-1a, 64 bits: a fast, stable hash (the same on every platform and version) for telling
/// jobs and bodies apart; not a defence against deliberate collisions.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h = FNV_BASIS;
    for p in parts {
        // Each part's length first, so ("ab", "c") and ("a", "bc") differ.
        h = fnv_add(fnv_add(h, &(p.len() as u64).to_le_bytes()), p);
    }
    h
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The job hash of a command: everything that decides its output, except which shard.
pub fn job_hash(command: &str, args: &serde_json::Value, scenarios: &[Source], seed: u64, of: u64) -> String {
    let args = args.to_string();
    let mut parts: Vec<&[u8]> = vec![FORMAT.as_bytes(), command.as_bytes(), args.as_bytes()];
    for s in scenarios {
        parts.push(s.path.as_bytes());
        parts.push(s.text.as_bytes());
    }
    let (seed, of) = (seed.to_le_bytes(), of.to_le_bytes());
    parts.push(&seed);
    parts.push(&of);
    format!("{:016x}", fnv1a(&parts))
}

#[cfg(test)]
mod tests {
    use super::{FNV_BASIS, fnv_add, fnv1a};

    /// The published FNV-1a 64 test vectors: "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c,
    /// "foobar" -> 85944171f73967e8.
    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv_add(FNV_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv_add(FNV_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv_add(FNV_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    }
}
