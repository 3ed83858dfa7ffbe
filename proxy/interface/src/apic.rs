//! The local-APIC state the kernel runs with, which this project's loader can set up before entry.
//!
//! Each register write from CPL 3 is a trip through the kernel's CPL-0 trampoline, about
//! 50 µs on PVM hosts, and enabling the APIC takes four; so the loader puts every vCPU of an
//! image whose header has `disable_x2apic` 0 in this state itself and says so with
//! [`crate::header::FEATURE_APIC_PREPARED`]. Without the feature (the original uhyve) the
//! kernel writes the same values at boot.

/// Vector of the wake-up / reschedule IPI (the original's 121).
pub const WAKEUP_VECTOR: u8 = 121;
/// Vector of the APIC timer (the original's 123).
pub const TIMER_VECTOR: u8 = 123;
/// Spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 127;

/// IA32_APIC_BASE.
pub const MSR_APIC_BASE: u32 = 0x1b;
/// x2APIC spurious-interrupt vector register.
pub const MSR_X2APIC_SVR: u32 = 0x80f;
/// x2APIC LVT timer register.
pub const MSR_X2APIC_LVT_TIMER: u32 = 0x832;

/// IA32_APIC_BASE bits to set: x2APIC mode (EXTD) and global enable (EN).
pub const APIC_BASE_X2APIC_ENABLED: u64 = (1 << 10) | (1 << 11);
/// SVR: the APIC software-enabled, with the spurious vector.
pub const SVR: u64 = 0x100 | SPURIOUS_VECTOR as u64;
/// LVT timer: TSC-deadline mode, unmasked, with the timer vector (disarmed while the
/// deadline MSR is 0).
pub const LVT_TIMER: u64 = TIMER_VECTOR as u64 | (2 << 17);
