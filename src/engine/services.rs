//! External services with rate limits (`services:`): a work step's try is one call, refused
//! at once with a 429 when the service is over its limit. The limit states are shared by
//! every run of the simulation (a run alone, or all runs of a load), one per service or per
//! value of its `key:` attribute.

use super::*;

/// Slack on the limit checks: a bucket refilled by float steps to exactly 1 call may hold
/// 0.999...; without it such a call would be refused.
const EPS: f64 = 1e-9;

/// Most rate bins kept per service (later calls count in the last one).
const MAX_BINS: usize = 1 << 20;

/// Totals of one service's calls made by one task.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SvcAcc {
    /// Calls offered (every try of a step that calls the service).
    pub calls: u64,
    /// Calls refused with a 429.
    pub limited: u64,
    /// 429s after which the step tried again (its `retry:`).
    pub retries: u64,
    /// 429s with no retry left: the attempt threw.
    pub exhausted: u64,
    /// Most calls offered in one window of the service (fixed windows from time 0; per run
    /// alone, or over a load replication): the peak offered rate.
    pub peak: u64,
}

impl SvcAcc {
    pub fn merge(&mut self, o: &SvcAcc) {
        self.calls += o.calls;
        self.limited += o.limited;
        self.retries += o.retries;
        self.exhausted += o.exhausted;
        self.peak = self.peak.max(o.peak);
    }
}

/// The limit state of a service (or one key value of it).
#[derive(Clone, Copy, Default)]
pub(super) struct SvcState {
    /// Token bucket: calls and tokens in the buckets at `t`.
    level: f64,
    tok_level: f64,
    t: f64,
    /// Fixed window: the current windows (index from time 0) and what they used.
    window: f64,
    count: f64,
    tok_window: f64,
    tok_count: f64,
    inflight: u32,
}

impl SvcState {
    fn fresh(s: &Service) -> SvcState {
        SvcState {
            level: s.limit,
            tok_level: s.tokens_per_minute.unwrap_or(f64::INFINITY),
            t: 0.0,
            window: 0.0,
            count: 0.0,
            tok_window: 0.0,
            tok_count: 0.0,
            inflight: 0,
        }
    }

    /// Takes a call of `tokens` at `now` if the limits allow it.
    #[inline]
    fn admit(&mut self, s: &Service, now: f64, tokens: f64) -> bool {
        if s.concurrency.is_some_and(|c| self.inflight >= c) {
            return false;
        }
        let tpm = s.tokens_per_minute.unwrap_or(f64::INFINITY);
        match s.refill {
            Refill::TokenBucket => {
                let dt = now - self.t;
                self.t = now;
                if s.limit.is_finite() {
                    self.level = (self.level + dt * (s.limit / s.window_s)).min(s.limit);
                }
                if tpm.is_finite() {
                    self.tok_level = (self.tok_level + dt * (tpm / 60.0)).min(tpm);
                }
                if self.level < 1.0 - EPS || self.tok_level < tokens - EPS {
                    return false;
                }
                self.level -= 1.0;
                self.tok_level -= tokens;
            }
            Refill::FixedWindow => {
                let w = (now / s.window_s).floor();
                if w != self.window {
                    self.window = w;
                    self.count = 0.0;
                }
                let tw = (now / 60.0).floor();
                if tw != self.tok_window {
                    self.tok_window = tw;
                    self.tok_count = 0.0;
                }
                if self.count + 1.0 > s.limit + EPS || self.tok_count + tokens > tpm + EPS {
                    return false;
                }
                self.count += 1.0;
                self.tok_count += tokens;
            }
        }
        true
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Every service's limit state fresh (full buckets, empty windows) and its rate bins empty.
    pub(super) fn services_setup(&mut self) {
        let m = self.m;
        self.s.svc.clear();
        for s in &m.services {
            let st = SvcState::fresh(s);
            self.s.svc.extend(std::iter::repeat_n(st, s.slots() as usize));
        }
        self.s.svc_bins.resize_with(m.services.len(), Vec::new);
        for b in &mut self.s.svc_bins {
            b.clear();
        }
    }

    /// The service totals of task run `run`'s task for service `si`.
    #[inline]
    fn svc_acc(&mut self, run: u32, si: u32) -> &mut SvcAcc {
        let n = self.m.services.len();
        let a = self.acc(run);
        if a.svc.len() < n {
            a.svc.resize(n, SvcAcc::default());
        }
        &mut a.svc[si as usize]
    }

    /// Fiber `f`'s call to `call` at the start of a try that would end at `end`: counted, and
    /// admitted (true) or refused with a 429 (false).
    #[inline(never)]
    pub(super) fn svc_call(&mut self, f: u32, call: ServiceCall, end: f64) -> bool {
        let now = self.s.now;
        let run = self.s.fibers[f as usize].run;
        let s = &self.m.services[call.service as usize];
        let slot = s.first
            + match s.key {
                Some((a, n)) => {
                    let v = self.s.inputs[self.inputs_of(run) + a as usize];
                    clamp_count(v).min(n.max(1) - 1)
                }
                None => 0,
            };
        let tokens = if call.tokens == NONE {
            0.0
        } else {
            let mut rng = self.step_rng(f, purpose::SERVICE);
            self.m.dists[call.tokens as usize].sample(&mut rng)
        };
        let ok = self.s.svc[slot as usize].admit(s, now, tokens);
        let bin = ((now / s.window_s) as usize).min(MAX_BINS - 1);
        let bins = &mut self.s.svc_bins[call.service as usize];
        if bins.len() <= bin {
            bins.resize(bin + 1, [0, 0]);
        }
        bins[bin][0] += 1;
        if ok {
            bins[bin][1] += 1;
            if s.concurrency.is_some() {
                self.s.svc[slot as usize].inflight += 1;
                self.push(end, EvKind::SvcDone, slot, 0, 0);
            }
        }
        let a = self.svc_acc(run, call.service);
        a.calls += 1;
        if !ok {
            a.limited += 1;
        }
        ok
    }

    /// A call to a service with a concurrency limit ended (whatever became of its attempt:
    /// the provider finishes a request it accepted).
    pub(super) fn svc_done(&mut self, slot: u32) {
        let st = &mut self.s.svc[slot as usize];
        st.inflight = st.inflight.saturating_sub(1);
    }

    /// Fiber `f`'s call was refused and the step will try again: it waits for the limit.
    pub(super) fn svc_retry(&mut self, f: u32, si: u32) {
        let run = self.s.fibers[f as usize].run;
        self.svc_acc(run, si).retries += 1;
        self.s.fibers[f as usize].limit_wait = true;
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        r.limit_waits += 1;
        let w = &mut self.s.wfs[r.wf as usize];
        if w.limit_waits == 0 {
            w.limit_since = now;
        }
        w.limit_waits += 1;
    }

    /// Fiber `f`'s call refused with no retry left.
    pub(super) fn svc_exhausted(&mut self, f: u32, si: u32) {
        let run = self.s.fibers[f as usize].run;
        self.svc_acc(run, si).exhausted += 1;
    }

    /// `k` calls of task run `run` stop waiting for a limit (tried again, or their attempt
    /// ended): the workflow run's time with a call waiting grows when none is left.
    #[inline(never)]
    pub(super) fn svc_wait_end(&mut self, run: u32, k: u32) {
        if k == 0 {
            return;
        }
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        r.limit_waits -= k;
        let wf = r.wf;
        let w = &mut self.s.wfs[wf as usize];
        w.limit_waits -= k;
        if w.limit_waits == 0 {
            let d = now - w.limit_since;
            self.s.out_mut(wf).limit_wait_s += d;
        }
    }

    /// Most calls offered in one window of each service so far, into the entry task's totals.
    pub(super) fn svc_peaks(&mut self) {
        let entry = self.m.entry as usize;
        let n = self.m.services.len();
        for si in 0..n {
            let peak = self.s.svc_bins[si].iter().map(|b| b[0] as u64).max().unwrap_or(0);
            let a = &mut self.tasks[entry];
            if a.svc.len() < n {
                a.svc.resize(n, SvcAcc::default());
            }
            a.svc[si].peak = a.svc[si].peak.max(peak);
        }
    }
}
