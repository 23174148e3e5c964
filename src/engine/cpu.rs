//! CPU-bound work shares its attempt's machine. The `cpuBound` work steps running at the same
//! moment in one attempt (Promise.all items) share the preset's vCPUs equally, each through
//! the Amdahl curve of its own parallel fraction, and those on the JavaScript main thread
//! share one thread besides (`platform::shared_speed`). Each such step keeps its end at the
//! present speed; when one starts or ends, the others' remaining work is re-timed at the new
//! speed and their end (and progress ticks) move. A step alone keeps the end it was given, so
//! work that never overlaps is timed exactly as without sharing.

use super::events::EventKind;
use super::interpreter::Engine;
use super::observer::Observer;
use crate::model::*;
use crate::platform::{self, PRESETS};
use crate::rng::purpose;

impl<O: Observer> Engine<'_, O> {
    /// Fiber `f` started CPU-bound work (its end set as if alone): it joins its attempt's
    /// CPU-bound work, and every such step is re-timed for the new count.
    pub(super) fn cpu_join(&mut self, f: u32, main_thread: bool) {
        let run = self.s.fibers[f as usize].run;
        let r = &mut self.s.runs[run as usize];
        let head = r.cpu_head;
        r.cpu_head = f;
        r.cpu_k += 1;
        r.cpu_m += u32::from(main_thread);
        let fm = &mut self.s.fibers[f as usize];
        fm.cpu_on = true;
        fm.cpu_next = head;
        self.cpu_retime(run);
    }

    /// Fiber `f`'s CPU-bound work ended: the others of its attempt go faster.
    pub(super) fn cpu_leave(&mut self, f: u32) {
        let fb = self.s.fibers[f as usize];
        let run = fb.run;
        let Op::Work { spec, .. } = self.m.ops[fb.pc as usize] else { unreachable!("CPU work off a Work op") };
        let main = self.m.works[spec as usize].cpu.is_some_and(|c| c.main_thread);
        // Unlink it.
        let mut prev = NONE;
        let mut g = self.s.runs[run as usize].cpu_head;
        while g != NONE && g != f {
            prev = g;
            g = self.s.fibers[g as usize].cpu_next;
        }
        if g == f {
            let next = fb.cpu_next;
            if prev == NONE {
                self.s.runs[run as usize].cpu_head = next;
            } else {
                self.s.fibers[prev as usize].cpu_next = next;
            }
            let r = &mut self.s.runs[run as usize];
            r.cpu_k -= 1;
            r.cpu_m -= u32::from(main);
        }
        self.s.fibers[f as usize].cpu_on = false;
        self.cpu_retime(run);
    }

    /// Re-times the CPU-bound work of `run`'s attempt whose speed changed: its remaining work
    /// at the new speed, a new end, and the progress ticks of a `perUnit` step still due.
    fn cpu_retime(&mut self, run: u32) {
        let now = self.s.now;
        let r = self.s.runs[run as usize];
        let vcpu = PRESETS[r.machine as usize].vcpu;
        let mut g = r.cpu_head;
        while g != NONE {
            let fb = self.s.fibers[g as usize];
            let next = fb.cpu_next;
            let Op::Work { spec, prog } = self.m.ops[fb.pc as usize] else { unreachable!("CPU work off a Work op") };
            let w = &self.m.works[spec as usize];
            let cpu = w.cpu.expect("CPU-bound work");
            let rate = platform::shared_speed(vcpu, r.cpu_k, r.cpu_m, cpu.parallel_fraction, cpu.main_thread);
            if rate != fb.cpu_rate {
                // Work left, in seconds alone.
                let left = (fb.cpu_end - now) * fb.cpu_rate;
                let end = now + left / rate;
                let fm = &mut self.s.fibers[g as usize];
                fm.cpu_rate = rate;
                fm.cpu_end = end;
                fm.gn = fm.gn.wrapping_add(1);
                let gn = fm.gn;
                if let DurSpec::PerUnit { each, .. } = w.duration
                    && prog.is_some()
                    && self.m.tasks[r.task as usize].progress.is_some()
                {
                    self.cpu_ticks(g, each, fb.cpu_total - left, rate, end, gn);
                }
                self.obs.work_retimed(run, g, end);
                self.push(end, EventKind::Wake, g, gn, 0);
            }
            g = next;
        }
    }

    /// The progress ticks of fiber `f`'s `perUnit` step still due, `done` seconds (alone) of
    /// its work behind it, at speed `rate` until `end`: the units' sums are drawn again from
    /// the step's stream, as `start_work` drew them.
    fn cpu_ticks(&mut self, f: u32, each: u32, done: f64, rate: f64, end: f64, gn: u32) {
        let fb = self.s.fibers[f as usize];
        let n = fb.aux;
        let scale = self.m.works[match self.m.ops[fb.pc as usize] {
            Op::Work { spec, .. } => spec as usize,
            _ => unreachable!("CPU work off a Work op"),
        }]
        .scale[self.s.runs[fb.run as usize].machine as usize];
        let mut rng = self.step_rng(f, purpose::WORK);
        let stride = n.div_ceil(100).max(1);
        let now = self.s.now;
        let each = &self.m.dists[each as usize];
        let mut t = 0.0;
        for u in 1..=n {
            t += each.sample(&mut rng) * scale;
            // Units past a failure's point never report (the try ends there); the last unit of
            // a try that completes does, whatever the rounding of its total.
            let within = t <= fb.cpu_total || (!fb.fail && u == n);
            if (u % stride == 0 || u == n) && t > done && within {
                let at = (now + (t - done) / rate).min(end);
                self.push(at, EventKind::Tick, f, gn, u);
            }
        }
    }
}
