//! The stack a function started by `makecontext` begins on (pure arithmetic, host-tested).

/// Where a function started by `makecontext` on the stack `[bottom, bottom + size)` finds
/// its `on_stack` stack arguments (16-byte aligned, as after a call) and its initial stack
/// pointer (the return address slot right below them): `(args_base, sp)`.
pub fn entry_stack(bottom: u64, size: u64, on_stack: usize) -> (u64, u64) {
    let top = bottom.wrapping_add(size) & !15;
    let args_base = (top - 8 * on_stack as u64) & !15;
    (args_base, args_base - 8)
}

#[cfg(test)]
mod tests {
    use super::entry_stack;

    #[test]
    fn entry_stack_is_aligned_like_after_a_call() {
        for size in [4096u64, 4096 - 8, 4096 - 1] {
            for on_stack in 0..5 {
                let (args, sp) = entry_stack(0x10000, size, on_stack);
                assert_eq!(args % 16, 0);
                assert_eq!((sp + 8) % 16, 0);
                assert!(args + 8 * on_stack as u64 <= 0x10000 + size);
                assert!(args + 8 * on_stack as u64 + 16 > 0x10000 + size - 16);
            }
        }
    }
}
