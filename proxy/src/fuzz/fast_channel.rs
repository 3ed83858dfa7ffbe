//! Fuzz target: the fast channel's validation (`Channel::validate`) and slot decoder
//! (`Channel::serve_pending`) against fake guest memory.
//!
//! Each input announces a channel area (aligned or not, in or out of RAM, 0 to 513 slots),
//! then fills its slots with states, ports (32-bit values, including ones beyond 16 bits)
//! and argument addresses. Properties: `validate` accepts exactly the areas the protocol
//! allows; every slot in `REQUEST` is served once and left `DONE` before its outcome is
//! handled, other slots are untouched, the channel's served count counts them; a port beyond 16
//! bits stops the guest instead of being served as its low 16 bits; `EXIT` returns the
//! guest's code; memory outside the channel area and the request area is unchanged.
//! Requests are limited to ports that touch no host file (the hypercall target covers those).

use arbitrary::{Arbitrary, Unstructured};
use hermit_interface::channel::{
    channel_size, slot_offset, MAX_SLOTS, SLOT_ARG_OFFSET, SLOT_BUSY, SLOT_DONE, SLOT_IDLE, SLOT_PORT_OFFSET,
    SLOT_REQUEST, SLOT_STATE_OFFSET,
};
use hermit_interface::hypercall::port;

use super::engine::{self, signature, Failure, Target};
use crate::channel::Channel;
use crate::guest::GuestRam;
use crate::host::Host;
use crate::hypercall::Outcome;

const RAM: usize = 1 << 20;
/// Requests' argument structs live here.
const REQUEST: u64 = 0x1_0000;
const REQUEST_END: u64 = 0x2_0000;
/// Where a well-placed channel area goes.
const AREA: u64 = 0x4_0000;

/// Ports whose handlers touch no host file (with descriptors the guest does not own).
const PORTS: [u16; 9] = [
    port::UART,
    port::FREELIST,
    port::NETSTAT,
    port::EXIT,
    port::CLOSE,
    port::LSEEK,
    port::CMDSIZE,
    port::CONSOLE,
    port::CHANNEL,
];
/// Ports the harness must not send (they open, remove or transfer host files).
const FILE_PORTS: [u16; 8] =
    [port::OPEN, port::UNLINK, port::MKDIR, port::RMDIR, port::STAT, port::FSTAT, port::READ, port::WRITE];

#[derive(Arbitrary, Debug)]
enum Gpa {
    Good(u16),
    Unaligned(u16),
    NearEnd(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
enum SlotCount {
    Few(u8),
    Max,
    TooMany,
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
struct Slot {
    state: u8,
    port: (u8, u32),
    arg: (bool, u16, u64),
    arg_value: u32,
}

#[derive(Arbitrary, Debug)]
struct Input {
    gpa: Gpa,
    slots: SlotCount,
    fill: Vec<Slot>,
}

/// The state of the target: a host over 1 MiB of guest RAM, and a snapshot buffer.
pub struct Harness {
    host: Host,
    before: Vec<u8>,
}

impl Harness {
    /// A fresh harness.
    pub fn new() -> Self {
        let ram = GuestRam::new(RAM as u64, false).expect("guest RAM for the harness");
        let host = Host::new(ram, 0x8000, vec![c"app".into()], vec![c"A=1".into()], false, true, true);
        Self { host, before: vec![0; RAM] }
    }

    fn ram(&self) -> &[u8] {
        let (_, at, len) = self.host.ram.regions()[0];
        // SAFETY: guest RAM is a live mapping owned by `self.host` (borrowed as long as the
        // view); only this thread touches it, and not while the view is used.
        unsafe { std::slice::from_raw_parts(at as *const u8, len as usize) }
    }

    fn put(&self, at: u64, bytes: &[u8]) {
        let _ = self.host.ram.write_bytes(at, bytes);
    }

    /// Runs one input.
    pub fn exec(&mut self, data: &[u8]) -> Result<u64, Failure> {
        let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return Ok(0) };
        let gpa = match input.gpa {
            Gpa::Good(n) => AREA + u64::from(n % 64) * 64,
            Gpa::Unaligned(n) => AREA + 1 + u64::from(n % 4000),
            Gpa::NearEnd(n) => (RAM as u64).wrapping_sub(64 * u64::from(n % 8)),
            Gpa::Raw(a) => a,
        };
        let slots = match input.slots {
            SlotCount::Few(n) => u32::from(n % 5),
            SlotCount::Max => MAX_SLOTS as u32,
            SlotCount::TooMany => MAX_SLOTS as u32 + 1,
            SlotCount::Raw(n) => n,
        };
        // Validation accepts exactly an aligned area of 1..=MAX_SLOTS slots inside RAM.
        let fits = (1..=MAX_SLOTS as u64).contains(&u64::from(slots))
            && gpa.is_multiple_of(64)
            && gpa.checked_add(channel_size(slots as usize) as u64).is_some_and(|end| end <= RAM as u64);
        let channel = match (Channel::validate(&self.host.ram, gpa, slots), fits) {
            (Ok(c), true) => c,
            (Err(_), false) => return Ok(signature(("refused", gpa % 64 == 0, slots.min(600)))),
            (Ok(_), false) => return Err(format!("validate accepted an impossible area: {gpa:#x}, {slots} slots")),
            (Err(e), true) => return Err(format!("validate refused a good area {gpa:#x}, {slots} slots: {e}")),
        };
        let area_end = gpa + channel_size(slots as usize) as u64;
        if gpa < REQUEST_END && area_end > REQUEST {
            return Ok(signature("area overlaps requests")); // results would land in slots
        }
        // Start from idle slots, then fill them: state, port, argument (structs in the
        // request area, or anywhere).
        self.put(gpa, &vec![0; (area_end - gpa) as usize]);
        let mut expected_served = 0u32;
        let mut plan = Vec::new();
        for (i, slot) in input.fill.iter().take(slots as usize).enumerate() {
            let at = gpa + slot_offset(i) as u64;
            let state = match slot.state % 6 {
                0..=2 => SLOT_REQUEST,
                3 => SLOT_IDLE,
                4 => [SLOT_BUSY, SLOT_DONE][usize::from(slot.state & 8 != 0)],
                _ => u32::from(slot.state),
            };
            let port = match slot.port.0 % 4 {
                0 | 1 => u32::from(PORTS[usize::from(slot.port.0 / 4) % PORTS.len()]),
                2 => u32::from(PORTS[usize::from(slot.port.0 / 4) % PORTS.len()]) | (slot.port.1 << 16).max(1 << 16),
                _ => slot.port.1,
            };
            if port <= 0xffff && FILE_PORTS.contains(&(port as u16)) {
                continue;
            }
            // A struct written over the channel area would turn other slots into requests (as
            // the guest asked); the oracle expects the planned slots, so such arguments move
            // to the request area.
            let over_area = slot.arg.2 < area_end && slot.arg.2.saturating_add(1032) > gpa;
            let arg = if slot.arg.0 || over_area {
                REQUEST + u64::from(slot.arg.1) % (REQUEST_END - REQUEST - 0x800)
            } else {
                slot.arg.2
            };
            // Descriptors in requests are ones the guest does not own; EXIT codes arbitrary.
            if (REQUEST..REQUEST_END - 0x800).contains(&arg) {
                self.put(arg, &slot.arg_value.to_le_bytes());
                self.put(arg + 4, &[0; 16]);
                if port == u32::from(port::CLOSE) || port == u32::from(port::LSEEK) {
                    self.put(arg, &(1000 + slot.arg_value % 1000).to_le_bytes());
                }
                if port == u32::from(port::CONSOLE) {
                    self.put(arg + 8, &u64::from(slot.arg_value % 256).to_le_bytes());
                }
            }
            self.put(at + SLOT_STATE_OFFSET as u64, &state.to_le_bytes());
            self.put(at + SLOT_PORT_OFFSET as u64, &port.to_le_bytes());
            self.put(at + SLOT_ARG_OFFSET as u64, &arg.to_le_bytes());
            if state == SLOT_REQUEST {
                expected_served += 1;
            }
            plan.push((i, at, state, port, arg));
        }
        let served_before = channel.served();
        let mut before = std::mem::take(&mut self.before);
        before.copy_from_slice(self.ram());
        self.before = before;

        let mut outcomes = Vec::new();
        let mut codes = Vec::new();
        let ram = &self.host.ram;
        let mut out_of_order = None;
        channel.serve_pending(&self.host, |outcome| {
            // The slot is DONE before the outcome is acted on (the process may end then); a
            // fatal request's slot stays BUSY, so the guest never sees it completed.
            let served_now = plan.iter().filter(|p| p.2 == SLOT_REQUEST).nth(outcomes.len());
            if let Some(&(i, at, _, _, arg)) = served_now {
                let want = if matches!(outcome, Outcome::Fatal(_)) { SLOT_BUSY } else { SLOT_DONE };
                if ram.read::<u32>(at + SLOT_STATE_OFFSET as u64) != Ok(want) {
                    out_of_order = Some(i);
                }
                // An EXIT's code as the dispatcher read it (earlier requests may have
                // written over this request's struct).
                codes.push(ram.read::<i32>(arg).ok());
            }
            outcomes.push(outcome);
        });
        if let Some(i) = out_of_order {
            return Err(format!("slot {i}: outcome handled before the slot was marked DONE (BUSY if fatal)"));
        }

        let after = self.ram();
        let served_after = channel.served();
        if served_after.wrapping_sub(served_before) != u64::from(expected_served)
            || outcomes.len() != expected_served as usize
        {
            return Err(format!(
                "served counter moved by {} and {} outcomes, for {expected_served} requests",
                served_after.wrapping_sub(served_before),
                outcomes.len()
            ));
        }
        let requests = plan.iter().filter(|p| p.2 == SLOT_REQUEST);
        for ((&(i, at, _, port, _), outcome), code_then) in requests.zip(&outcomes).zip(&codes) {
            let state = u32::from_le_bytes(after[at as usize..][..4].try_into().map_err(|_| "slot")?);
            let want = if matches!(outcome, Outcome::Fatal(_)) { SLOT_BUSY } else { SLOT_DONE };
            if state != want {
                return Err(format!("slot {i}: state {state} after serving, not {want} ({outcome:?})"));
            }
            if port > 0xffff && !matches!(outcome, Outcome::Fatal(_)) {
                return Err(format!("slot {i}: port {port:#x} beyond 16 bits was served: {outcome:?}"));
            }
            if let Outcome::Exit(code) = outcome {
                if port != u32::from(port::EXIT) || Some(*code) != *code_then {
                    return Err(format!("slot {i}: exit {code} from port {port:#x}, guest code {code_then:?}"));
                }
            }
        }
        // Untouched: slots that held no request, and everything outside the two areas.
        for &(i, at, state, ..) in plan.iter().filter(|p| p.2 != SLOT_REQUEST) {
            let range = at as usize..at as usize + 16;
            if after[range.clone()] != self.before[range] {
                return Err(format!("slot {i} in state {state} was changed"));
            }
        }
        let changed_pages = (0..RAM / 4096).filter(|p| after[p * 4096..][..4096] != self.before[p * 4096..][..4096]);
        // A request may write its own struct (at most a CMDSIZE, 1032 bytes), wherever it is.
        let args: Vec<u64> = plan.iter().filter(|p| p.2 == SLOT_REQUEST).map(|p| p.4).collect();
        let inside = |b: u64| {
            (REQUEST..REQUEST_END).contains(&b)
                || (gpa..area_end).contains(&b)
                || args.iter().any(|a| (*a..a.saturating_add(1032)).contains(&b))
        };
        for b in changed_pages.flat_map(|p| p * 4096..(p + 1) * 4096) {
            if after[b] != self.before[b] && !inside(b as u64) {
                return Err(format!("byte {b:#x} outside the channel area and the requests changed"));
            }
        }
        let kinds: Vec<u8> = outcomes
            .iter()
            .map(|o| match o {
                Outcome::Continue => 0,
                Outcome::Exit(_) => 1,
                Outcome::Fatal(_) => 2,
            })
            .collect();
        // Reset the channel's slots, so the next input starts from idle slots.
        self.put(gpa, &vec![0; (area_end - gpa) as usize]);
        Ok(signature(("served", slots.min(8), kinds)))
    }
}

/// The target.
pub fn target() -> Target<impl FnMut(&[u8]) -> Result<u64, Failure>> {
    let mut harness = Harness::new();
    let mut rng = engine::Rng::new(11);
    let seeds = (0..64).map(|_| (0..128).map(|_| rng.next() as u8).collect()).collect();
    Target { name: "fast_channel", seeds, max_len: 1024, focus: 0, exec: move |d: &[u8]| harness.exec(d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Crash inputs found by this target, replayed (each must now pass).
    const REGRESSIONS: &[&str] = &[
        // A slot with port 0x5db60740 was served as port 0x0740 (CMDSIZE).
        "f30af624a75394fc350dcc85b76b683d28bb686daed51269a513b41be47d401764419eceb65da65ff3d766f21dc2f91f72d7\
         bae0e1e20ae7a31c401dd2c25bfd8dc9d0746c1be2b90718cf3d747fbc82cf324542f38844084c2b08dddf866d4e201b39b8\
         e1525bf34cfd3d44498692d22e9ada5bb38ec0d821ccb68c003a1a04",
        // (A harness false alarm, kept for the oracle:) an earlier request wrote over a
        // later EXIT's struct, so its code differed from the one written before serving.
        "05850c00010000883054191919194719b1197e191919197575fd7575c27575e57519191919191919191919851919671934b2\
         97863e7ed70000c3d0d00e1bd0d0d0d0d07e100bcc0d0d9b0dc40d3e0d0d2c194719b1197e191919197575fd7575c27575e5\
         92a292922d920b2ec9929292d9e5b092f2929292d82792b77519191919191919851935f6",
        // (A harness false alarm:) a request's struct lay over the channel area and its
        // result turned another slot into a request, which was served as well.
        "908ac832cddb0417964bd7b06a0047ba9f0db595954d817f5d95e0e1ffe90d31eda7fc6f6ead3565480e75a5a600f0ffff43\
         83cdac0431ed7fb49500dac397553d5597557f959500002000ffffe90d31ed7fb49500dac397553d5597557f959595959566\
         ab32ffffffffffff7f17565dfc568269565656feff78c0ffff3604d7b0cd00bee511114a11ffffffff5fa590a5a5c9525617\
         565d5680809403808020f4845931512eb1d20df88e9d2dffffff4c773131e54031ffff0d0d000000e97f00b0cd0047bae553\
         ee8080e88080809403808020f4845931512eb1d20df88e9d2dffffff4c773131e540316231f3ae7a9b43cf3bcd0dbecd9500\
         105b5b5b5bd8009a4f4383cdf3f3d9b9f3f3f3f570f337f7f32560f3f3f3a9001000003604",
    ];

    #[test]
    fn regressions() {
        let mut h = Harness::new();
        engine::replay(|input| h.exec(input), REGRESSIONS);
    }

    /// A bounded, deterministic run in every `cargo test`: the target's seeds, each mutated
    /// a few times from a fixed seed.
    #[test]
    fn bounded_run() {
        engine::bounded_run(target(), 20);
    }

    #[test]
    #[ignore = "fuzzing: run with --ignored, HERMIT_FUZZ_SECONDS sets the time"]
    fn fuzz_fast_channel() {
        let report = engine::run(target(), engine::budget());
        assert!(report.crashes.is_empty(), "crashes: {:#?}", report.crashes);
    }
}
