//! External services with rate limits (`services:`): a work step's try is one call, refused
//! at once with a 429 when the service is over its limit. The limit states are shared by
//! every run of the simulation (a run alone, or all runs of a load), one per service or per
//! value of its `key:` attribute.

use super::events::EventKind;
use super::interpreter::Engine;
use super::observer::Observer;
use super::outcome::SvcAcc;
use super::rules::clamp_count;
use super::run_state::SvcState;
use crate::model::*;
use crate::rng::purpose;

/// Most rate bins kept per service (later calls count in the last one).
const MAX_BINS: usize = 1 << 20;

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
                self.push(end, EventKind::SvcDone, slot, 0, 0);
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
