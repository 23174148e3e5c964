//! The binary body of a shard file: numbers little-endian, floats as their bits (so every
//! value, NaN and infinities included, comes back exactly), lengths before sequences.

use crate::analysis::summary::Statuses;
use crate::engine::{LEVELS, LoadOutcome, MachineAcc, QueueStats, RunOutcome, Status, SvcAcc, TaskAcc};
use crate::montecarlo::{ChunkPart, Moments, RunStats};
use crate::paired::{Blocks, Values};
use crate::platform::PRESETS;
use crate::stats::LogHistogram;
use crate::sweep::{Row, RowCost, RowDuration, SetValues};

/// The body ends early or holds a value no shard writer produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Corrupt(pub String);

pub type R<T> = Result<T, Corrupt>;

#[derive(Default)]
pub struct Enc(pub Vec<u8>);

pub struct Dec<'a> {
    b: &'a [u8],
    at: usize,
}

impl Enc {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

impl<'a> Dec<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Dec { b, at: 0 }
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if self.b.len() - self.at < n {
            return Err(Corrupt(format!("the body ends at byte {} where {n} more bytes were expected", self.b.len())));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    /// Every byte read?
    pub fn done(&self) -> R<()> {
        if self.at == self.b.len() {
            Ok(())
        } else {
            Err(Corrupt(format!("{} bytes left over after the body", self.b.len() - self.at)))
        }
    }
    /// A sequence length, checked against the bytes left (each element is at least one byte).
    fn len(&mut self) -> R<usize> {
        let n = u64::get(self)?;
        if n > (self.b.len() - self.at) as u64 {
            return Err(Corrupt(format!("a sequence of {n} elements in a body of {} bytes", self.b.len())));
        }
        Ok(n as usize)
    }
}

/// A value stored in a shard body.
pub trait Codec: Sized {
    fn put(&self, e: &mut Enc);
    fn get(d: &mut Dec) -> R<Self>;
}

macro_rules! num {
    ($t:ty, $n:expr) => {
        impl Codec for $t {
            fn put(&self, e: &mut Enc) {
                e.bytes(&self.to_le_bytes());
            }
            fn get(d: &mut Dec) -> R<Self> {
                let mut a = [0u8; $n];
                a.copy_from_slice(d.take($n)?);
                Ok(<$t>::from_le_bytes(a))
            }
        }
    };
}
num!(u64, 8);
num!(u32, 4);
num!(i32, 4);
num!(u8, 1);

impl Codec for f64 {
    fn put(&self, e: &mut Enc) {
        self.to_bits().put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(f64::from_bits(u64::get(d)?))
    }
}

impl Codec for bool {
    fn put(&self, e: &mut Enc) {
        (*self as u8).put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        match u8::get(d)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Corrupt(format!("{b} where a boolean was expected"))),
        }
    }
}

impl Codec for usize {
    fn put(&self, e: &mut Enc) {
        (*self as u64).put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(u64::get(d)? as usize)
    }
}

impl Codec for String {
    fn put(&self, e: &mut Enc) {
        self.len().put(e);
        e.bytes(self.as_bytes());
    }
    fn get(d: &mut Dec) -> R<Self> {
        let n = d.len()?;
        String::from_utf8(d.take(n)?.to_vec()).map_err(|_| Corrupt("a string that is not UTF-8".into()))
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, e: &mut Enc) {
        self.len().put(e);
        for x in self {
            x.put(e);
        }
    }
    fn get(d: &mut Dec) -> R<Self> {
        let n = d.len()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(d)?);
        }
        Ok(v)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, e: &mut Enc) {
        self.is_some().put(e);
        if let Some(x) = self {
            x.put(e);
        }
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(if bool::get(d)? { Some(T::get(d)?) } else { None })
    }
}

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn put(&self, e: &mut Enc) {
        self.0.put(e);
        self.1.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok((A::get(d)?, B::get(d)?))
    }
}

impl<T: Codec + Copy + Default, const N: usize> Codec for [T; N] {
    fn put(&self, e: &mut Enc) {
        for x in self {
            x.put(e);
        }
    }
    fn get(d: &mut Dec) -> R<Self> {
        let mut a = [T::default(); N];
        for x in &mut a {
            *x = T::get(d)?;
        }
        Ok(a)
    }
}

/// Fields written and read in the order listed. The struct literal names every field, so a
/// field added to one of these types is a compile error here until the shard format holds it.
macro_rules! fields {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Codec for $t {
            fn put(&self, e: &mut Enc) {
                $(self.$f.put(e);)*
            }
            fn get(d: &mut Dec) -> R<Self> {
                Ok($t { $($f: Codec::get(d)?),* })
            }
        }
    };
}

impl Codec for Status {
    fn put(&self, e: &mut Enc) {
        (*self as u8).put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        let b = u8::get(d)?;
        Status::ALL.get(b as usize).copied().ok_or_else(|| Corrupt(format!("{b} where a run status was expected")))
    }
}

impl Codec for RunOutcome {
    fn put(&self, e: &mut Enc) {
        self.duration_s.put(e);
        self.status.put(e);
        self.cost_usd.put(e);
        self.compute_usd.put(e);
        self.invocation_usd.put(e);
        self.usage_s.put(e);
        self.root_usage_s.put(e);
        self.makespan_s.put(e);
        self.limit_wait_s.put(e);
        self.task_runs.put(e);
        self.attempts.put(e);
        self.marks.put(e);
        self.progress.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(RunOutcome {
            duration_s: f64::get(d)?,
            status: Status::get(d)?,
            cost_usd: f64::get(d)?,
            compute_usd: f64::get(d)?,
            invocation_usd: f64::get(d)?,
            usage_s: f64::get(d)?,
            root_usage_s: f64::get(d)?,
            makespan_s: f64::get(d)?,
            limit_wait_s: f64::get(d)?,
            task_runs: u32::get(d)?,
            attempts: u32::get(d)?,
            marks: u64::get(d)?,
            progress: <[f64; LEVELS]>::get(d)?,
        })
    }
}

fields!(MachineAcc { attempts, oom, usage_s, compute_usd });
fields!(TaskAcc {
    runs,
    attempts,
    statuses,
    oom,
    queued_s,
    execution_s,
    usage_s,
    compute_usd,
    invocation_usd,
    finished_on,
    by_machine,
    svc
});
fields!(SvcAcc { calls, limited, retries, exhausted, peak });

impl Codec for LogHistogram {
    fn put(&self, e: &mut Enc) {
        let (lo, counts, zeros, n) = self.raw();
        lo.put(e);
        counts.to_vec().put(e);
        zeros.put(e);
        n.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(LogHistogram::from_raw(i32::get(d)?, Vec::get(d)?, u64::get(d)?, u64::get(d)?))
    }
}

fields!(Moments { sum, sumsq, min, max, hist });
fields!(RunStats {
    n,
    statuses,
    duration,
    cost,
    usage,
    makespan,
    compute_usd,
    invocation_usd,
    root_usage_s,
    attempts,
    task_runs,
    progress
});

impl Codec for ChunkPart {
    fn put(&self, e: &mut Enc) {
        self.chunks.start.put(e);
        self.chunks.end.put(e);
        self.sums.put(e);
        self.hists.put(e);
        self.outcomes.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        let (start, end) = (u64::get(d)?, u64::get(d)?);
        Ok(ChunkPart { chunks: start..end, sums: Vec::get(d)?, hists: RunStats::get(d)?, outcomes: Vec::get(d)? })
    }
}

fields!(QueueStats { name, cap, waits, busy_area, by_key, rejected, backlog });
fields!(LoadOutcome {
    outcomes,
    arrived,
    queues,
    env_busy_area,
    env_base,
    env_cap,
    window,
    completed_in_window,
    in_system_area,
    in_system_terms,
    arrivals,
    carried_in,
    backlog,
    warm_starts,
    starts,
    expired,
    deadlocked,
    service_rates
});

fields!(Values { p50, p95, mean, cost, success });
fields!(Blocks { pooled, blocks });
fields!(Statuses { completed, failed, crashed, timed_out, expired });
fields!(RowDuration { p50, p95, p95_ci95, mean });
fields!(RowCost { mean, mean_ci95, per_1000_runs });

/// A machine preset, by its index in [`PRESETS`].
fn put_preset(name: &str, e: &mut Enc) {
    (PRESETS.iter().position(|p| p.name == name).unwrap_or(usize::MAX) as u64).put(e);
}

fn get_preset(d: &mut Dec) -> R<&'static str> {
    let i = u64::get(d)?;
    PRESETS.get(i as usize).map(|p| p.name).ok_or_else(|| Corrupt(format!("{i} where a machine preset was expected")))
}

impl Codec for SetValues {
    fn put(&self, e: &mut Enc) {
        self.0.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        Ok(SetValues(Vec::get(d)?))
    }
}

impl Codec for Row {
    fn put(&self, e: &mut Enc) {
        self.machine.is_some().put(e);
        if let Some(m) = self.machine {
            put_preset(m, e);
        }
        self.set.put(e);
        self.duration_s.put(e);
        self.cost_usd.put(e);
        self.success_rate.put(e);
        self.statuses.put(e);
        self.oom_rate.put(e);
        self.timed_out_rate.put(e);
        self.limited_share.put(e);
        self.finished_on.len().put(e);
        for (m, share) in &self.finished_on {
            put_preset(m, e);
            share.put(e);
        }
        self.rescued_share.put(e);
        self.feasible.put(e);
        self.rescued.put(e);
        self.pareto.put(e);
        self.infeasible_because.put(e);
        self.dominated_by.put(e);
        self.runs.put(e);
        self.blocks.put(e);
    }
    fn get(d: &mut Dec) -> R<Self> {
        let machine = if bool::get(d)? { Some(get_preset(d)?) } else { None };
        let set = SetValues::get(d)?;
        let duration_s = RowDuration::get(d)?;
        let cost_usd = RowCost::get(d)?;
        let success_rate = f64::get(d)?;
        let statuses = <Statuses as Codec>::get(d)?;
        let oom_rate = f64::get(d)?;
        let timed_out_rate = f64::get(d)?;
        let limited_share = Option::get(d)?;
        let mut finished_on = std::collections::BTreeMap::new();
        for _ in 0..d.len()? {
            let m = get_preset(d)?;
            finished_on.insert(m, f64::get(d)?);
        }
        Ok(Row {
            machine,
            set,
            duration_s,
            cost_usd,
            success_rate,
            statuses,
            oom_rate,
            timed_out_rate,
            limited_share,
            finished_on,
            rescued_share: f64::get(d)?,
            feasible: bool::get(d)?,
            rescued: bool::get(d)?,
            pareto: bool::get(d)?,
            infeasible_because: Option::get(d)?,
            dominated_by: Option::get(d)?,
            runs: u64::get(d)?,
            blocks: Blocks::get(d)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Codec + PartialEq + std::fmt::Debug>(x: T) {
        let mut e = Enc::default();
        x.put(&mut e);
        let mut d = Dec::new(&e.0);
        assert_eq!(T::get(&mut d).unwrap(), x);
        d.done().unwrap();
        // Every truncation is an error, never a panic or a value.
        for cut in 0..e.0.len() {
            let mut d = Dec::new(&e.0[..cut]);
            assert!(T::get(&mut d).is_err() || d.done().is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn values_come_back_exactly() {
        round(vec![0.1f64, f64::INFINITY, -0.0, f64::MIN_POSITIVE]);
        round((3u64, String::from("queue é")));
        round(Some(vec![(1.5f64, 2.5f64)]));
        let mut h = LogHistogram::default();
        for x in [0.0, 1e-3, 2.0, 3e5] {
            h.insert(x);
        }
        round(h);
        round(TaskAcc { runs: 3, queued_s: 0.3, finished_on: [1, 0, 0, 0, 0, 0, 2], ..Default::default() });
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Status::get(&mut Dec::new(&[9])).is_err());
        assert!(bool::get(&mut Dec::new(&[2])).is_err());
        // A length far beyond the bytes left is refused before anything is allocated.
        let mut e = Enc::default();
        u64::MAX.put(&mut e);
        assert!(Vec::<f64>::get(&mut Dec::new(&e.0)).is_err());
    }
}
