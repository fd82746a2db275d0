/// Counter-based random numbers shared by every backend. A value depends only on
/// (seed, step, index) — no hidden state — so the interpreter and the JIT draw identical
/// numbers, a dropout's gradient can redraw its forward mask, and runs are reproducible.
/// Built from the splitmix64 finaliser: 64-bit multiply, xor and shift only, easy to emit in LLVM IR.
public enum KilnRandom {
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The stream key of (seed, step): one mix per run, then one per element.
    @inline(__always)
    public static func key(seed: UInt64, step: UInt64) -> UInt64 { mix(seed ^ mix(step)) }

    /// Uniform in [0, 1) with 24 random bits (every float32 of the form k·2⁻²⁴).
    @inline(__always)
    public static func uniform(key: UInt64, index: UInt64) -> Float {
        Float(mix(key ^ index) >> 40) * (1.0 / 16_777_216.0)
    }

    public static func uniform(seed: UInt64, step: UInt64, index: UInt64) -> Float {
        uniform(key: key(seed: seed, step: step), index: index)
    }

    /// Standard normal by Box–Muller over the uniforms at 2·index and 2·index + 1.
    @inline(__always)
    public static func normal(key: UInt64, index: UInt64) -> Float {
        let u1 = (Float(mix(key ^ (2 &* index)) >> 40) + 0.5) * (1.0 / 16_777_216.0)
        let u2 = uniform(key: key, index: 2 &* index &+ 1)
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }

    public static func normal(seed: UInt64, step: UInt64, index: UInt64) -> Float {
        normal(key: key(seed: seed, step: step), index: index)
    }

    /// FNV-1a of a name: gives each parameter its own stream, independent of declaration order.
    public static func hash(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

#if canImport(Glibc)
import Glibc
#endif
